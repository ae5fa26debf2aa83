"""Reshaping layers: `Flatten`."""

import math

import jax.numpy as jnp

from lamina.layers.base import Layer


class Flatten(Layer):
    """[batch, d1, d2, ...] -> [batch, d1*d2*...]."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return jnp.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
