"""Regularization layers: `Dropout`, `SpatialDropout1D/2D/3D`, `AlphaDropout`, `GaussianNoise`,
`GaussianDropout`, `ActivityRegularization`. All keep the input shape and are identities in inference.

A random layer owns a `SeedGenerator` only when it can draw (rate or stddev > 0), as in Keras 3, so its
seed state appears in `non_trainable_variables` exactly when Keras's does.
"""

import math
import numbers

import jax
import jax.numpy as jnp

from lamina.backend.random import SeedGenerator
from lamina.layers.base import InputSpec, Layer


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
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

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


def _rate(owner, arg, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{owner}: `{arg}` must be a number in [0, 1], got {arg}={value!r}.")
    return float(value)


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (example, channel)."""

    ndim = None

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(_rate(type(self).__name__, "rate", rate), seed=seed, **kwargs)
        self.input_spec = InputSpec(ndim=self.ndim)

    def _channel_axis(self):
        return -1

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return jnp.zeros_like(inputs)
        shape = [1] * inputs.ndim
        shape[0] = inputs.shape[0]
        shape[self._channel_axis()] = inputs.shape[self._channel_axis()]
        keep = jax.random.bernoulli(self.seed_generator.next(), 1.0 - self.rate, tuple(shape))
        return jnp.where(keep, inputs / (1.0 - self.rate), 0.0).astype(inputs.dtype)

    def get_config(self):
        """Keras's keys: no `noise_shape` and no `trainable` (Keras's SpatialDropout refuses a config holding
        `trainable`, and the layer has no weights to freeze)."""
        cfg = super().get_config()
        cfg.pop("noise_shape", None)
        cfg.pop("trainable", None)
        return cfg


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of [batch, steps, channels] inputs."""

    ndim = 3


class _SpatialDropoutND(_SpatialDropout):
    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__}: `data_format` must be 'channels_last' or 'channels_first', got "
                f"{data_format!r}."
            )
        self.data_format = data_format

    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout2D(_SpatialDropoutND):
    """Drops whole feature maps of [batch, rows, cols, channels] (or channels_first) inputs."""

    ndim = 4


class SpatialDropout3D(_SpatialDropoutND):
    """Drops whole feature maps of [batch, d1, d2, d3, channels] (or channels_first) inputs."""

    ndim = 5


class AlphaDropout(Dropout):
    """Dropout for SELU networks: dropped inputs are set to SELU's negative saturation, then an affine map
    keeps the mean and variance of the inputs; shape unchanged. `noise_shape` broadcasts one mask."""

    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        kept = (jax.random.uniform(self.seed_generator.next(), shape, inputs.dtype) >= self.rate).astype(inputs.dtype)
        alpha_p = self._ALPHA_P
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1 - kept)) + b


class GaussianNoise(Layer):
    """Adds N(0, stddev) noise in training: `x + stddev * normal()`; identity in inference."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError(f"GaussianNoise: `stddev` must be a non-negative number, got stddev={stddev!r}.")
        self.stddev = float(stddev)
        self.seed = seed
        if self.stddev > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = jax.random.normal(self.seed_generator.next(), inputs.shape, inputs.dtype)
        return inputs + self.stddev * noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies inputs by N(1, sqrt(rate / (1 - rate))) noise in training; identity in inference."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate("GaussianDropout", "rate", rate)
        if self.rate == 1:
            raise ValueError("GaussianDropout: `rate` must be below 1 (the noise stddev is sqrt(rate / (1 - rate))).")
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(self.seed_generator.next(), inputs.shape, inputs.dtype)
        return inputs * (1.0 + stddev * noise)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """Identity that adds `(l1 * sum|x| + l2 * sum x**2) / batch_size` to the loss (like Keras 3)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        from lamina import regularizers

        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
