"""Geometric transforms: `resize`, `affine_transform`, `perspective_transform`, `map_coordinates`,
`scale_and_translate`, `elastic_transform` (on `jax.image` and `jax.scipy.ndimage`)."""

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.backend import dtypes as _dtypes
from lamina.backend import random as _random
from lamina.ops.core import saturate_cast, tensor
from lamina.backend.dispatch import keras_op
from lamina.ops.image.layout import from_layout, to_layout
from lamina.ops.image.filters import gaussian_blur

__all__ = ["affine_transform", "elastic_transform", "map_coordinates", "perspective_transform", "resize",
           "scale_and_translate"]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
ORDERS = {"nearest": 0, "bilinear": 1}
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
SCALE_AND_TRANSLATE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
                               "lanczos5")


def _check(value, allowed, name, op):
    if value not in allowed:
        raise ValueError(f"{op}: `{name}` must be one of {sorted(allowed)}, got {value!r}.")


def _to_aspect(images, height, width, target, crop, fill_value, data_format):
    """Crop (centered) or pad (symmetric, with `fill_value`) `images` to the target's aspect ratio."""
    (th, tw), h_axis = target, images.ndim - (3 if data_format == "channels_last" else 2)
    if crop:
        ch = max(min(height, int(width * th / tw)), 1)
        cw = max(min(width, int(height * tw / th)), 1)
        top, left = int((height - ch) / 2), int((width - cw) / 2)
        images = jax.lax.slice_in_dim(images, top, top + ch, axis=h_axis)
        return jax.lax.slice_in_dim(images, left, left + cw, axis=h_axis + 1)
    top = int((max(height, int(width * th / tw)) - height) / 2)
    left = int((max(width, int(height * tw / th)) - width) / 2)
    pads = [(0, 0)] * images.ndim
    if top > 0:
        pads[h_axis] = (top, top)
    elif left > 0:
        pads[h_axis + 1] = (left, left)
    return jnp.pad(images, pads, constant_values=fill_value)


@keras_op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to `size` = (height, width).

    `interpolation`: "bilinear", "nearest", "bicubic", "lanczos3" or "lanczos5"; `antialias` filters
    when downsampling. `crop_to_aspect_ratio` first crops the largest centered window of the target's
    aspect ratio; `pad_to_aspect_ratio` pads with `fill_value` instead. Integer images are rounded and
    saturated back to their dtype.
    """
    data_format = config.standardize_data_format(data_format)
    images = tensor(images)
    if len(size) != 2:
        raise ValueError(f"resize: `size` must be (height, width), got {size}.")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"resize: `size` must be positive, got {size}.")
    if images.ndim not in (3, 4):
        raise ValueError(f"resize: `images` must have rank 3 or 4, got shape {images.shape}.")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("resize: give only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio`.")
    _check(interpolation, RESIZE_INTERPOLATIONS, "interpolation", "resize")
    _check(fill_mode, ("constant",), "fill_mode", "resize")
    h_axis = images.ndim - (3 if data_format == "channels_last" else 2)
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        images = _to_aspect(images, images.shape[h_axis], images.shape[h_axis + 1], tuple(size),
                            crop_to_aspect_ratio, fill_value, data_format)
    shape = list(images.shape)
    shape[h_axis:h_axis + 2] = size
    out = jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)
    if out.dtype == images.dtype:
        return out
    if _dtypes.is_int_dtype(images.dtype):
        out = jnp.round(out)
    return saturate_cast.__wrapped__(out, images.dtype)


def _sample(image, rows, cols, order, fill_mode, fill_value):
    """`image` (H, W, C) sampled at the float coordinates `rows`, `cols` (any shape), each channel."""
    def one(channel):
        return jax.scipy.ndimage.map_coordinates(channel, [rows, cols], order=order, mode=fill_mode,
                                                 cval=fill_value)

    return jax.vmap(one, in_axes=-1, out_axes=-1)(image)


@keras_op
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Images warped by projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` (one, or one per image),
    each mapping an output pixel (x, y) to the input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1.

    Points outside the image follow `fill_mode`: "constant" (`fill_value`), "nearest", "wrap",
    "mirror" or "reflect". With c0 = c1 = 0 (affine maps) this equals Keras on JAX, which misapplies
    the projective terms c0, c1.
    """
    _check(interpolation, tuple(ORDERS), "interpolation", "affine_transform")
    _check(fill_mode, FILL_MODES, "fill_mode", "affine_transform")
    images, data_format, unbatched = to_layout(images, data_format, "affine_transform", "NHWC")
    transform = tensor(transform)
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"affine_transform: `transform` must be (8,) or (batch, 8), got shape {transform.shape}.")
    if transform.ndim == 1:
        transform = jnp.broadcast_to(transform, (images.shape[0], 8))
    height, width = images.shape[1:3]
    y, x = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")
    x, y = x.astype(transform.dtype), y.astype(transform.dtype)

    def warp(image, t):
        k = t[6] * x + t[7] * y + 1.0
        cols = (t[0] * x + t[1] * y + t[2]) / k
        rows = (t[3] * x + t[4] * y + t[5]) / k
        return _sample(image, rows, cols, ORDERS[interpolation], fill_mode, fill_value)

    return from_layout(jax.vmap(warp)(images, transform), data_format, unbatched, "NHWC")


def _homography(start, end):
    """The 8 coefficients of the projective map sending each `end` point to its `start` point."""
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zero, one = jnp.zeros_like(ex), jnp.ones_like(ex)
    rows_x = jnp.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1)
    rows_y = jnp.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1)
    system = jnp.concatenate([rows_x, rows_y], axis=-2)
    return jnp.linalg.solve(system, jnp.concatenate([sx, sy], axis=-1)[..., None])[..., 0]


@keras_op
def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Images warped so the four `start_points` (x, y) move to `end_points`; (4, 2) or (batch, 4, 2)."""
    _check(interpolation, tuple(ORDERS), "interpolation", "perspective_transform")
    images, data_format, unbatched = to_layout(images, data_format, "perspective_transform", "NHWC")
    start, end = tensor(start_points), tensor(end_points)
    for points, name in ((start, "start_points"), (end, "end_points")):
        if points.shape[-2:] != (4, 2) or points.ndim not in (2, 3):
            raise ValueError(f"perspective_transform: `{name}` must be (4, 2) or (batch, 4, 2), got {points.shape}.")
    if start.shape != end.shape:
        raise ValueError(
            f"perspective_transform: `start_points` {start.shape} and `end_points` {end.shape} must match.")
    coefficients = _homography(jnp.reshape(start, (-1, 4, 2)).astype("float32"),
                               jnp.reshape(end, (-1, 4, 2)).astype("float32"))
    coefficients = jnp.broadcast_to(coefficients, (images.shape[0], 8))
    height, width = images.shape[1:3]
    y, x = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")

    def warp(image, t):
        k = t[6] * x + t[7] * y + 1.0
        cols = (t[0] * x + t[1] * y + t[2]) / k
        rows = (t[3] * x + t[4] * y + t[5]) / k
        return _sample(image, rows, cols, ORDERS[interpolation], "constant", fill_value)

    return from_layout(jax.vmap(warp)(images, coefficients), data_format, unbatched, "NHWC")


@keras_op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """`inputs` sampled at `coordinates` (rank(inputs), ...) by spline interpolation of `order` 0 or 1."""
    inputs, coordinates = tensor(inputs), tensor(coordinates)
    if coordinates.ndim < 2:
        raise ValueError(f"map_coordinates: `coordinates` must have rank >= 2, got shape {coordinates.shape}.")
    if coordinates.shape[0] != inputs.ndim:
        raise ValueError(
            f"map_coordinates: `coordinates` must lead with one row per input axis ({inputs.ndim}), got "
            f"shape {coordinates.shape}.")
    _check(fill_mode, FILL_MODES, "fill_mode", "map_coordinates")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: `order` must be 0 or 1, got {order!r}.")
    return jax.scipy.ndimage.map_coordinates(inputs, coordinates, order, fill_mode, fill_value)


@keras_op
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """`jax.image.scale_and_translate`: resample `spatial_dims` of `images` to `output_shape` with a
    per-axis `scale` and `translation`, by the kernel `method`."""
    _check(method, SCALE_AND_TRANSLATE_METHODS, "method", "scale_and_translate")
    return jax.image.scale_and_translate(tensor(images), output_shape, spatial_dims, tensor(scale),
                                         tensor(translation), method, antialias)


@keras_op
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Images displaced by a smooth random field: Gaussian noise of scale `sigma`, blurred with
    `sigma`, times `alpha` pixels (Simard et al. 2003).

    The row and column displacements are drawn independently; Keras on JAX draws both from one key,
    so its pixels only move along the diagonal. The draws differ from Keras for the same seed.
    """
    _check(interpolation, tuple(ORDERS), "interpolation", "elastic_transform")
    _check(fill_mode, FILL_MODES, "fill_mode", "elastic_transform")
    images, data_format, unbatched = to_layout(images, data_format, "elastic_transform", "NHWC")
    batch, height, width, _ = images.shape
    dtype = images.dtype
    key = _random.draw_seed(seed, "elastic_transform")
    size = int(6 * float(sigma)) | 1
    noise = jax.random.normal(key, (2, batch, height, width, 1), dtype) * sigma
    field = [gaussian_blur.__wrapped__(n, (size, size), (sigma, sigma), "channels_last")[..., 0] * alpha
             for n in noise]
    y, x = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")

    def warp(image, dy, dx):
        return _sample(image, y + dy, x + dx, ORDERS[interpolation], fill_mode, fill_value)

    out = jax.vmap(warp)(images, field[0], field[1]).astype(dtype)
    return from_layout(out, data_format, unbatched, "NHWC")
