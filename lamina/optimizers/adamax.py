"""Adamax (Adam with the infinity norm), Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def adamax_rule(beta_1, beta_2, epsilon):
    """Keras's Adamax step as an optax transform.

    With `t = iterations + 1`: `m += (g - m) * (1 - beta_1)`, `u = max(beta_2 * u, |g|)`,
    `p -= lr * m / ((1 - beta_1**t) * (u + epsilon))`. `optax.adamax` places
    epsilon differently, hence this transform.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        dtype = p.dtype
        beta_1_power = jnp.power(jnp.asarray(beta_1, dtype), (iterations + 1).astype(dtype))
        m = buffers["momentum"] + (g - buffers["momentum"]) * (1 - beta_1)
        u = jnp.maximum(beta_2 * buffers["norm"], jnp.abs(g))
        return -((lr * m) / ((1 - beta_1_power) * (u + epsilon))), {"momentum": m, "norm": u}

    return transforms.per_variable({"momentum": 0.0, "norm": 0.0}, step)


class Adamax(Optimizer):
    """Adamax (Keras `keras.optimizers.Adamax`); see `adamax_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1 (0.9), beta_2 (0.999), epsilon (1e-7).
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _variable_layout(self):
        return [("momentum", "norm")]

    def _update_rule(self):
        return adamax_rule(self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
