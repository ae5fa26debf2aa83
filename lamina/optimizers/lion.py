"""Lion, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def lion_rule(beta_1, beta_2):
    """Keras's Lion step as an optax transform.

    `p -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then
    `m = beta_2 * m + (1 - beta_2) * g`. Written here so the learning rate
    (and decoupled weight decay, applied by the base class) match Keras.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        b1 = jnp.asarray(beta_1, p.dtype)
        b2 = jnp.asarray(beta_2, p.dtype)
        m = buffers["momentum"]
        delta = -(lr * jnp.sign(m * b1 + g * (1.0 - b1)))
        return delta, {"momentum": m * b2 + g * (1.0 - b2)}

    return transforms.per_variable({"momentum": 0.0}, step)


class Lion(Optimizer):
    """Lion (Keras `keras.optimizers.Lion`); see `lion_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: interpolation for the update direction, in (0, 1] (0.9).
        beta_2: momentum decay (0.99).
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                "Lion: `beta_1` must be in (0, 1]; otherwise the optimizer degenerates to SignSGD. "
                f"Received: beta_1={beta_1}."
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _variable_layout(self):
        return [("momentum",)]

    def _update_rule(self):
        return lion_rule(self.beta_1, self.beta_2)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2)
