"""Nadam (Adam with Nesterov momentum), Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def nadam_rule(beta_1, beta_2, epsilon):
    """Keras's Nadam step with its momentum-cache schedule, as an optax transform.

    `u(t) = beta_1 * (1 - 0.5 * 0.96**t)`; the state keeps
    `u_product = prod u(1..t)` (updated once per step, before the variables).
    With `t = iterations + 1`: `m`, `v` as in Adam, then
    `m_hat = u(t+1) * m / (1 - u_product * u(t+1)) + (1 - u(t)) * g / (1 - u_product)`,
    `v_hat = v / (1 - beta_2**t)`, `p -= m_hat * lr / (sqrt(v_hat) + epsilon)`.
    `optax.nadam` has no momentum cache, hence this transform.
    """

    def pre_step(scalars, iterations):
        u_product = scalars["u_product"]
        t = (iterations + 1).astype(u_product.dtype)
        return {"u_product": u_product * beta_1 * (1.0 - 0.5 * jnp.power(jnp.asarray(0.96, u_product.dtype), t))}

    def step(g, p, buffers, lr, iterations, scalars):
        dtype = p.dtype
        t = (iterations + 1).astype(dtype)
        t_next = (iterations + 2).astype(dtype)
        decay = jnp.asarray(0.96, dtype)
        b1 = jnp.asarray(beta_1, dtype)
        b2 = jnp.asarray(beta_2, dtype)
        u_t = b1 * (1.0 - 0.5 * jnp.power(decay, t))
        u_t_1 = b1 * (1.0 - 0.5 * jnp.power(decay, t_next))
        u_product_t = scalars["u_product"].astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = jnp.power(b2, t)
        m = buffers["momentum"] + (g - buffers["momentum"]) * (1 - b1)
        v = buffers["velocity"] + (jnp.square(g) - buffers["velocity"]) * (1 - b2)
        m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * g) / (1 - u_product_t)
        v_hat = v / (1 - beta_2_power)
        return -((m_hat * lr) / (jnp.sqrt(v_hat) + epsilon)), {"momentum": m, "velocity": v}

    return transforms.per_variable({"momentum": 0.0, "velocity": 0.0}, step,
                                   scalars={"u_product": 1.0}, pre_step=pre_step)


class Nadam(Optimizer):
    """Nadam (Keras `keras.optimizers.Nadam`); see `nadam_rule` for the exact step.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1 (0.9), beta_2 (0.999), epsilon (1e-7): as in Adam.
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
        return [("momentum", "velocity"), "u_product"]

    def _update_rule(self):
        return nadam_rule(self.beta_1, self.beta_2, self.epsilon)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
