"""Color spaces: `rgb_to_grayscale`, `rgb_to_hsv`, `hsv_to_rgb` (HSV values in [0, 1])."""

import jax.numpy as jnp

from lamina.backend import config
from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["hsv_to_rgb", "rgb_to_grayscale", "rgb_to_hsv"]


def images_and_axis(images, data_format, op):
    """`images` (rank 3 or 4) as an array and the index of its channel axis."""
    data_format = config.standardize_data_format(data_format)
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"{op}: `images` must have rank 3 (one image) or 4 (a batch), got shape {images.shape}.")
    return images, -1 if data_format == "channels_last" else -3


@keras_op
def rgb_to_grayscale(images, data_format=None):
    """Luma `0.2989 R + 0.5870 G + 0.1140 B` with one channel kept (single-channel images pass through)."""
    images, axis = images_and_axis(images, data_format, "rgb_to_grayscale")
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, got shape {images.shape}.")
    if images.shape[axis] == 1:
        return images
    compute = images.astype(_dtypes.result_type(images.dtype, float))
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], compute.dtype)
    gray = jnp.tensordot(compute, weights, axes=(axis, -1))
    return jnp.expand_dims(gray, axis).astype(images.dtype)


def _float_images(images, data_format, op):
    images, axis = images_and_axis(images, data_format, op)
    if not _dtypes.is_float_dtype(images.dtype):
        raise ValueError(f"{op}: `images` must have a float dtype, got {images.dtype.name}.")
    if images.shape[axis] != 3:
        raise ValueError(f"{op}: expected 3 channels, got shape {images.shape}.")
    return images, axis


@keras_op
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (float images)."""
    images, axis = _float_images(images, data_format, "rgb_to_hsv")
    images = jnp.where(jnp.abs(images) < jnp.finfo(images.dtype).eps, 0.0, images)
    r, g, b = (jnp.take(images, i, axis=axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(r, g), b)
    spread = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(spread > 0, spread, 1.0))
    hue = jnp.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = jnp.where(value == r, norm * (g - b), hue)
    hue = jnp.where(spread > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return jnp.stack([hue, saturation, value], axis=axis)


@keras_op
def hsv_to_rgb(images, data_format=None):
    """Hue, saturation, value in [0, 1] to RGB in [0, 1] (float images)."""
    images, axis = _float_images(images, data_format, "hsv_to_rgb")
    hue, saturation, value = (jnp.take(images, i, axis=axis) for i in range(3))
    sector = jnp.mod(hue, 1.0) * 6.0
    red = jnp.clip(jnp.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = jnp.clip(2.0 - jnp.abs(sector - 2.0), 0.0, 1.0)
    blue = jnp.clip(2.0 - jnp.abs(sector - 4.0), 0.0, 1.0)
    grey = 1.0 - saturation
    return jnp.stack([value * (grey + saturation * c) for c in (red, green, blue)], axis=axis)
