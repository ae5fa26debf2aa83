"""Regularization layers: `Dropout`."""

import jax
import jax.numpy as jnp

from lamina.backend.random import SeedGenerator
from lamina.layers.base import Layer


class Dropout(Layer):
    """Zeroes a `rate` fraction of inputs in training and scales the rest by 1/(1-rate); shape unchanged.

    `noise_shape` broadcasts one mask over axes (e.g. (batch, 1, features)).
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) <= 1:
            raise ValueError(f"Dropout: `rate` must be in [0, 1], got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return jnp.zeros_like(inputs)
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = jax.random.bernoulli(self.seed_generator.next(), 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), 0.0).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}
