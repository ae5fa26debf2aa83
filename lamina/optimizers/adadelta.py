"""Adadelta, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def adadelta_rule(rho, epsilon):
    """Keras's Adadelta step as an optax transform.

    `ag = rho * ag + (1 - rho) * g**2`,
    `d = -sqrt(adv + epsilon) * g / sqrt(ag + epsilon)`,
    `adv = rho * adv + (1 - rho) * d**2`, `p += lr * d`. Written here so the
    learning rate and epsilon placement follow Keras exactly.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        ag = rho * buffers["accumulated_grad"] + (1 - rho) * jnp.square(g)
        delta = -((jnp.sqrt(buffers["accumulated_delta_var"] + epsilon) * g) / jnp.sqrt(ag + epsilon))
        adv = rho * buffers["accumulated_delta_var"] + (1 - rho) * jnp.square(delta)
        return lr * delta, {"accumulated_grad": ag, "accumulated_delta_var": adv}

    return transforms.per_variable({"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}, step)


class Adadelta(Optimizer):
    """Adadelta (Keras `keras.optimizers.Adadelta`); see `adadelta_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay rate (0.95).
        epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _variable_layout(self):
        return [("accumulated_grad", "accumulated_delta_var")]

    def _update_rule(self):
        return adadelta_rule(self.rho, self.epsilon)

    def get_config(self):
        return dict(super().get_config(), rho=self.rho, epsilon=self.epsilon)
