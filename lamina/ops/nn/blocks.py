"""Moving pixels between blocks and channels: `depth_to_space`, `space_to_depth` (pixel shuffle),
`unfold` (im2col) and `fold` (col2im)."""

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["depth_to_space", "fold", "space_to_depth", "unfold"]


def _block_args(x, block_size, data_format, op):
    data_format = config.standardize_data_format(data_format)
    if block_size < 2:
        raise ValueError(f"{op}: `block_size` must be at least 2, got {block_size}.")
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op}: `x` must be 4-D (batch, height, width, channels), got shape {x.shape}.")
    return x, data_format


@keras_op
def depth_to_space(x, block_size, data_format="channels_last"):
    """Channels moved into `block_size x block_size` spatial blocks: (N, H, W, C) -> (N, H*b, W*b, C/b^2).

    channels_last takes the block position as the slow index of the channels (TensorFlow's order);
    channels_first as PyTorch's `pixel_shuffle` does.
    """
    x, data_format = _block_args(x, block_size, data_format, "depth_to_space")
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h, w, b, b, c // b**2).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h * b, w * b, c // b**2)
    n, c, h, w = x.shape
    x = x.reshape(n, c // b**2, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // b**2, h * b, w * b)


@keras_op
def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of `depth_to_space`: (N, H, W, C) -> (N, H/b, W/b, C*b^2)."""
    x, data_format = _block_args(x, block_size, data_format, "space_to_depth")
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5)
        return x.reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * b * b, h // b, w // b)


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@keras_op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of the (N, C, H, W) `x` as columns: (N, C*kH*kW, L), as `torch.nn.Unfold`."""
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: `x` must be 4-D (N, C, H, W), got shape {x.shape}.")
    ph, pw = _pair(padding)
    x = jnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    patches = jax.lax.conv_general_dilated_patches(
        x, filter_shape=_pair(kernel_size), window_strides=_pair(stride), padding="VALID",
        rhs_dilation=_pair(dilation), dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return patches.reshape(patches.shape[0], patches.shape[1], -1)


@keras_op
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The inverse arrangement of `unfold`: columns (N, C*kH*kW, L) summed into an (N, C, H, W) image
    (overlapping entries add up), as `torch.nn.Fold`."""
    x = tensor(x)
    if x.ndim != 3:
        raise ValueError(f"fold: `x` must be 3-D (N, C*kH*kW, L), got shape {x.shape}.")
    (oh, ow), (kh, kw) = _pair(output_size), _pair(kernel_size)
    (dh, dw), (ph, pw), (sh, sw) = _pair(dilation), _pair(padding), _pair(stride)
    nh = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    nw = (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    n, ckk, length = x.shape
    if ckk % (kh * kw) or length != nh * nw:
        raise ValueError(
            f"fold: `x` of shape {x.shape} does not match kernel_size={(kh, kw)} and the {nh}x{nw} blocks "
            f"that output_size={(oh, ow)}, padding, stride and dilation give.")
    c = ckk // (kh * kw)
    blocks = x.reshape(n, c, kh, kw, nh, nw)
    out = jnp.zeros((n, c, oh + 2 * ph, ow + 2 * pw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out = out.at[:, :, i * dh: i * dh + sh * (nh - 1) + 1: sh,
                         j * dw: j * dw + sw * (nw - 1) + 1: sw].add(blocks[:, :, i, j])
    return out[:, :, ph: ph + oh, pw: pw + ow]
