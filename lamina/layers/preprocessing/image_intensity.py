"""Random intensity augmentation: `RandomContrast`, `RandomBrightness`.

Active only in training (identity in `predict` / `evaluate`; a direct call augments, as in Keras 3); one
draw per image from the layer's `SeedGenerator`, Keras's draws for the same seed; the results are clipped to
`value_range` as in Keras. Shapes are unchanged; the output is in the layer's dtype (float32).
"""

import numbers

import jax.numpy as jnp

from lamina.layers.preprocessing.base import ImagePreprocessingLayer, factor_pair


def _value_range(owner, value_range):
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)):
        raise ValueError(f"{owner}: `value_range` must be a pair of numbers (low, high), got "
                         f"value_range={value_range!r}.")
    low, high = sorted(value_range)
    if low == high:
        raise ValueError(f"{owner}: `value_range` must span an interval, got value_range={value_range!r}.")
    return [low, high]


class RandomContrast(ImagePreprocessingLayer):
    """Scales each image's deviation from its per-channel mean by a random factor in training:
    `(x - mean) * c + mean` (computed as `x + (x - mean) * (c - 1)`, so c = 1 returns `x` exactly),
    clipped to `value_range`.

    Args:
        factor: f in [0, 1] draws c in [1 - f, 1 + f]; (lower, upper) in [1 - lower, 1 + upper].
        value_range: (low, high) of the pixel values, default (0, 255).
        seed, data_format: as in Keras.

    Keras 3 reads a single number f as (0, f), so it only ever raises the contrast, unlike its
    documentation; lamina draws from [1 - f, 1 + f] as documented. The config stores the pair, which
    Keras reads back with the same meaning (and a Keras file's pair is read as Keras uses it).
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = factor_pair("RandomContrast", "factor", factor, 0.0, 1.0, scalar="both")
        self.value_range = _value_range("RandomContrast", value_range)
        self._make_generator(seed)

    def transform(self, images, training):
        images = self.cast(images)
        if not training:
            return images
        h_axis, w_axis = self.hw_axes()
        c = self.uniform((images.shape[0], 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1], self.compute_dtype)
        mean = jnp.mean(jnp.mean(images, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
        return jnp.clip(images + (images - mean) * (c - 1.0), self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}


class RandomBrightness(ImagePreprocessingLayer):
    """Adds a random offset to each image in training, `x + d * (high - low)`, clipped to `value_range`.

    Args:
        factor: f in [-1, 1] draws d in [-f, f]; (lower, upper) in [lower, upper].
        value_range: (low, high) of the pixel values, default (0, 255).
        seed, data_format: as in Keras.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = factor_pair("RandomBrightness", "factor", factor, -1.0, 1.0)
        self.value_range = _value_range("RandomBrightness", value_range)
        self._make_generator(seed)

    def transform(self, images, training):
        images = self.cast(images)
        if not training:
            return images
        low, high = self.value_range
        delta = self.uniform((images.shape[0], 1, 1, 1), self.factor[0], self.factor[1]) * (high - low)
        return jnp.clip(images + delta.astype(images.dtype), low, high)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}
