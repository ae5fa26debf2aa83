"""Adagrad, Keras 3 numerics."""

import jax.numpy as jnp

from lamina.optimizers import transforms
from lamina.optimizers.base import Optimizer


def adagrad_rule(initial_accumulator_value, epsilon):
    """Keras's Adagrad step as an optax transform.

    `acc += g**2` (starting at `initial_accumulator_value`),
    `p -= lr * g / sqrt(acc + epsilon)`. `optax.adagrad` puts epsilon outside
    the square root, hence this transform.
    """

    def step(g, p, buffers, lr, iterations, scalars):
        acc = buffers["accumulator"] + jnp.square(g)
        return -((lr * g) / jnp.sqrt(acc + epsilon)), {"accumulator": acc}

    return transforms.per_variable({"accumulator": initial_accumulator_value}, step)


class Adagrad(Optimizer):
    """Adagrad (Keras `keras.optimizers.Adagrad`); see `adagrad_rule`.

    Args:
        learning_rate: float or schedule (default 0.001).
        initial_accumulator_value: starting value of the accumulators (0.1).
        epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if initial_accumulator_value < 0:
            raise ValueError(
                "Adagrad: `initial_accumulator_value` must be >= 0. "
                f"Received: initial_accumulator_value={initial_accumulator_value}"
            )
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _variable_layout(self):
        return [("accumulator",)]

    def _update_rule(self):
        return adagrad_rule(self.initial_accumulator_value, self.epsilon)

    def get_config(self):
        return dict(super().get_config(), initial_accumulator_value=self.initial_accumulator_value,
                    epsilon=self.epsilon)
