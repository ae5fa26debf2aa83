"""FTRL-Proximal, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def ftrl_rule(learning_rate_power, initial_accumulator_value, l1, l2, l2_shrinkage, beta):
    """Keras's FTRL step as an optax transform (optax has no FTRL).

    With `n` the accumulator and `z` the linear term, `k = -learning_rate_power`:
    `g2 = g + 2 * l2_shrinkage * p`, `n_new = n + g**2`,
    `z += g2 - (n_new**k - n**k) / lr * p`,
    `q = n_new**k / lr + 2 * (l2 + beta / (2 * lr))`,
    `p_new = (clip(z, -l1, l1) - z) / q`. The returned update is `p_new - p`.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        accum, linear = buffers["accumulator"], buffers["linear"]
        l2_reg = l2 + beta / (2.0 * lr)
        grad_to_use = g + (2 * l2_shrinkage) * p
        new_accum = accum + jnp.square(g)
        linear = linear + (grad_to_use - ((jnp.power(new_accum, -learning_rate_power)
                                           - jnp.power(accum, -learning_rate_power)) / lr) * p)
        quadratic = jnp.power(new_accum, -learning_rate_power) / lr + 2 * l2_reg
        linear_clipped = jnp.clip(linear, -l1, l1)
        new_p = (linear_clipped - linear) / quadratic
        return new_p - p, {"accumulator": new_accum, "linear": linear}

    return transforms.per_variable({"accumulator": initial_accumulator_value, "linear": 0.0}, step)


class Ftrl(Optimizer):
    """FTRL-Proximal (Keras `keras.optimizers.Ftrl`); see `ftrl_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        learning_rate_power: <= 0 (-0.5).
        initial_accumulator_value: >= 0 (0.1).
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength: >= 0 (0.0).
        beta: (0.0).
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        checks = {
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
        }
        for arg, value in checks.items():
            if value < 0.0:
                raise ValueError(f"Ftrl: `{arg}` must be >= 0. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError(
                f"Ftrl: `learning_rate_power` must be <= 0. Received: learning_rate_power={learning_rate_power}."
            )
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _variable_layout(self):
        return [("accumulator", "linear")]

    def _update_rule(self):
        return ftrl_rule(self.learning_rate_power, self.initial_accumulator_value,
                         self.l1_regularization_strength, self.l2_regularization_strength,
                         self.l2_shrinkage_regularization_strength, self.beta)

    def get_config(self):
        return dict(
            super().get_config(),
            learning_rate_power=self.learning_rate_power,
            initial_accumulator_value=self.initial_accumulator_value,
            l1_regularization_strength=self.l1_regularization_strength,
            l2_regularization_strength=self.l2_regularization_strength,
            l2_shrinkage_regularization_strength=self.l2_shrinkage_regularization_strength,
            beta=self.beta,
        )

