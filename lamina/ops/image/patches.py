"""Cutting and framing images: `extract_patches` (2-D and 3-D), `pad_images`, `crop_images`."""

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["crop_images", "extract_patches", "extract_patches_3d", "pad_images"]


def _patches(images, size, strides, dilation_rate, padding, data_format, op):
    """Patches as channels ordered (*patch position, input channel), like Keras's identity-kernel conv."""
    n = len(size)
    data_format = config.standardize_data_format(data_format)
    images = tensor(images)
    unbatched = images.ndim == n + 1
    if unbatched:
        images = images[None]
    if images.ndim != n + 2:
        raise ValueError(f"{op}: expected {n + 1}-D or batched {n + 2}-D input, got shape {images.shape}.")
    strides = size if not strides else ((strides,) * n if isinstance(strides, int) else tuple(strides))
    if len(strides) != n:
        raise ValueError(f"{op}: `strides` must be an int or {n} ints, got {strides}.")
    dilation = (dilation_rate,) * n if isinstance(dilation_rate, int) else tuple(dilation_rate)
    spatial = "DHW"[-n:]
    layout = "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial
    out = jax.lax.conv_general_dilated_patches(
        images, filter_shape=tuple(size), window_strides=tuple(strides), padding=padding.upper(),
        rhs_dilation=dilation, dimension_numbers=(layout, "OI" + spatial, layout),
        precision=jax.lax.Precision.HIGHEST)
    axis = -1 if data_format == "channels_last" else 1
    channels = images.shape[axis]
    # JAX orders each patch channel-major (c, *position); Keras position-major (*position, c).
    out = jnp.moveaxis(out, axis, -1)
    out = out.reshape(out.shape[:-1] + (channels, -1))
    out = jnp.swapaxes(out, -1, -2).reshape(out.shape[:-2] + (-1,))
    out = jnp.moveaxis(out, -1, axis)
    return out[0] if unbatched else out


@keras_op
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of `size` (int or (h, w); a 3-tuple means 3-D volumes) every `strides` (default: `size`),
    each flattened into the channel axis as (patch_h, patch_w, channels)."""
    if isinstance(size, int):
        size = (size, size)
    elif not isinstance(size, (tuple, list)):
        raise TypeError(f"extract_patches: `size` must be an int or a tuple, got {size!r}.")
    elif len(size) not in (2, 3):
        raise ValueError(f"extract_patches: `size` must have 2 or 3 entries, got {size}.")
    return _patches(images, tuple(size), strides, dilation_rate, padding, data_format, "extract_patches")


@keras_op
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of `size` (int or (d, h, w)) from volumes (4-D, or 5-D batched), flattened into channels."""
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    if len(size) != 3:
        raise TypeError(f"extract_patches_3d: `size` must be an int or 3 ints, got {size}.")
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, "extract_patches_3d")


def _two_of_three(a, b, target, names, op):
    if [a, b, target].count(None) != 1:
        raise ValueError(f"{op}: give exactly two of {', '.join(names)}; got {a}, {b}, {target}.")
    for value, name in zip((a, b, target), names):
        if value is not None and value < 0:
            raise ValueError(f"{op}: `{name}` must be >= 0, got {value}.")


def _frame(images, data_format, op):
    data_format = config.standardize_data_format(data_format)
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"{op}: `images` must have rank 3 or 4, got shape {images.shape}.")
    hw = (-3, -2) if data_format == "channels_last" else (-2, -1)
    return images, data_format, images.shape[hw[0]], images.shape[hw[1]]


@keras_op
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Zero-pad images; per axis give two of (top, bottom, target_height) / (left, right, target_width)."""
    _two_of_three(top_padding, bottom_padding, target_height, ("top_padding", "bottom_padding", "target_height"),
                  "pad_images")
    _two_of_three(left_padding, right_padding, target_width, ("left_padding", "right_padding", "target_width"),
                  "pad_images")
    images, data_format, height, width = _frame(images, data_format, "pad_images")
    top = target_height - bottom_padding - height if top_padding is None else top_padding
    bottom = target_height - top - height if bottom_padding is None else bottom_padding
    left = target_width - right_padding - width if left_padding is None else left_padding
    right = target_width - left - width if right_padding is None else right_padding
    for value, name in ((top, "top_padding"), (bottom, "bottom_padding"), (left, "left_padding"),
                        (right, "right_padding")):
        if value < 0:
            raise ValueError(f"pad_images: the target size is smaller than the image: {name}={value}.")
    pads = [(top, bottom), (left, right)]
    pads = pads + [(0, 0)] if data_format == "channels_last" else [(0, 0)] + pads
    return jnp.pad(images, [(0, 0)] * (images.ndim - 3) + pads)


@keras_op
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Crop images; per axis give two of (top, bottom, target_height) / (left, right, target_width)."""
    _two_of_three(top_cropping, bottom_cropping, target_height,
                  ("top_cropping", "bottom_cropping", "target_height"), "crop_images")
    _two_of_three(left_cropping, right_cropping, target_width,
                  ("left_cropping", "right_cropping", "target_width"), "crop_images")
    images, data_format, height, width = _frame(images, data_format, "crop_images")
    top = height - target_height - bottom_cropping if top_cropping is None else top_cropping
    target_height = height - bottom_cropping - top if target_height is None else target_height
    left = width - target_width - right_cropping if left_cropping is None else left_cropping
    target_width = width - right_cropping - left if target_width is None else target_width
    for value, name in ((top, "top_cropping"), (target_height, "target_height"), (left, "left_cropping"),
                        (target_width, "target_width")):
        if value < 0:
            raise ValueError(f"crop_images: the crop does not fit the image: {name}={value}.")
    if top + target_height > height or left + target_width > width:
        raise ValueError(
            f"crop_images: a {target_height}x{target_width} crop at ({top}, {left}) does not fit a "
            f"{height}x{width} image.")
    rows, cols = slice(top, top + target_height), slice(left, left + target_width)
    return images[..., rows, cols, :] if data_format == "channels_last" else images[..., rows, cols]
