"""RMSprop, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def rmsprop_rule(rho, momentum, epsilon, centered):
    """Keras's RMSprop step as an optax transform.

    `v = rho * v + (1 - rho) * g**2`; centered: `a = rho * a + (1 - rho) * g` and
    `denom = v - a**2 + epsilon`, else `denom = v + epsilon`;
    `inc = lr * g / sqrt(denom)`; with momentum `mo = momentum * mo + inc`,
    `p -= mo`, else `p -= inc`. Epsilon sits inside the square root and the
    learning rate inside the momentum buffer (unlike `optax.rmsprop`), hence
    this transform.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        new = {}
        v = rho * buffers["velocity"] + (1 - rho) * jnp.square(g)
        new["velocity"] = v
        if centered:
            avg = rho * buffers["average_gradient"] + (1 - rho) * g
            new["average_gradient"] = avg
            denominator = v - jnp.square(avg) + epsilon
        else:
            denominator = v + epsilon
        increment = (lr * g) / jnp.sqrt(denominator)
        if momentum > 0:
            mo = momentum * buffers["momentum"] + increment
            new["momentum"] = mo
            return -mo, new
        return -increment, new

    slots = {"velocity": 0.0}
    if momentum > 0:
        slots["momentum"] = 0.0
    if centered:
        slots["average_gradient"] = 0.0
    return transforms.per_variable(slots, step)


class RMSprop(Optimizer):
    """RMSprop (Keras `keras.optimizers.RMSprop`); see `rmsprop_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay of the squared-gradient average (0.9).
        momentum: float (0.0).
        epsilon: 1e-7.
        centered: normalize by the gradient variance estimate (False).
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = bool(centered)

    def _variable_layout(self):
        layout = [("velocity",)]
        if self.momentum > 0:
            layout.append(("momentum",))
        if self.centered:
            layout.append(("average_gradient",))
        return layout

    def _update_rule(self):
        return rmsprop_rule(self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self):
        return dict(super().get_config(), rho=self.rho, momentum=self.momentum, epsilon=self.epsilon,
                    centered=self.centered)
