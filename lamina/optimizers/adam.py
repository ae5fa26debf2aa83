"""Adam and AdamW, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def adam_rule(beta_1, beta_2, epsilon, amsgrad):
    """Keras's Adam step as an optax transform.

    With `t = iterations + 1`: `m += (g - m) * (1 - beta_1)`,
    `v += (g**2 - v) * (1 - beta_2)`, `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
    `p -= m * alpha / (sqrt(v) + epsilon)` (`v` replaced by its running max with
    amsgrad). `optax.adam` adds epsilon after bias-correcting `v`, which gives
    different numbers, hence this transform.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        dtype = p.dtype
        t = (iterations + 1).astype(dtype)
        beta_1_power = jnp.power(jnp.asarray(beta_1, dtype), t)
        beta_2_power = jnp.power(jnp.asarray(beta_2, dtype), t)
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = buffers["momentum"] + (g - buffers["momentum"]) * (1 - beta_1)
        v = buffers["velocity"] + (jnp.square(g) - buffers["velocity"]) * (1 - beta_2)
        new = {"momentum": m, "velocity": v}
        if amsgrad:
            v = jnp.maximum(buffers["velocity_hat"], v)
            new["velocity_hat"] = v
        return -((m * alpha) / (jnp.sqrt(v) + epsilon)), new

    slots = {"momentum": 0.0, "velocity": 0.0}
    if amsgrad:
        slots["velocity_hat"] = 0.0
    return transforms.per_variable(slots, step)


class Adam(Optimizer):
    """Adam (Keras `keras.optimizers.Adam`); see `adam_rule` for the exact step.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: decay of the first moment (0.9).
        beta_2: decay of the second moment (0.999).
        epsilon: added to `sqrt(v)` (1e-7).
        amsgrad: use the running maximum of `v` (False).
        **kwargs: the base `Optimizer` arguments (clipnorm, weight_decay, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)

    def _variable_layout(self):
        layout = [("momentum", "velocity")]
        if self.amsgrad:
            layout.append(("velocity_hat",))
        return layout

    def _update_rule(self):
        return adam_rule(self.beta_1, self.beta_2, self.epsilon, self.amsgrad)

    def get_config(self):
        return dict(super().get_config(), beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                    amsgrad=self.amsgrad)


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras `keras.optimizers.AdamW`).

    Same as `Adam(weight_decay=...)`: before each step `p -= p * weight_decay * lr`.

    Args:
        learning_rate: float or schedule (default 0.001).
        weight_decay: float, required (default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
