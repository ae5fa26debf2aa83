"""Images in the layout an op computes in, and back: a batch axis added to a single image, and the channels
moved between `data_format`'s place and the op's ("NHWC" or "NCHW")."""

import jax.numpy as jnp

from lamina.backend import config
from lamina.ops.core import tensor

_TO = {"NCHW": (0, 3, 1, 2), "NHWC": (0, 2, 3, 1)}  # the permutation that gives this layout from the other


def to_layout(images, data_format, op, layout):
    """`(images [N, ...] in layout, data_format resolved, whether a batch axis was added)` from `images`
    [H, W, C] / [N, H, W, C] (or channels first); `op` names the caller in errors."""
    data_format = config.standardize_data_format(data_format)
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"{op}: `images` must have rank 3 or 4, got shape {images.shape}.")
    unbatched = images.ndim == 3
    if unbatched:
        images = images[None]
    if _layout_of(data_format) != layout:
        images = jnp.transpose(images, _TO[layout])
    return images, data_format, unbatched


def from_layout(images, data_format, unbatched, layout):
    """The inverse of `to_layout`: `images` in `layout` back to `data_format`, without the added batch axis."""
    given = _layout_of(data_format)
    if given != layout:
        images = jnp.transpose(images, _TO[given])
    return images[0] if unbatched else images


def _layout_of(data_format):
    return "NHWC" if data_format == "channels_last" else "NCHW"
