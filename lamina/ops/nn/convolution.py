"""Convolutions with Keras's kernel layouts: `conv` and `depthwise_conv` on the layers' own primitive
(`lamina.backend.window_ops.conv`), `conv_transpose` on `jax.lax.conv_transpose`.

Kernels are `(*spatial, in_channels, out_channels)` for `conv` (in_channels may divide the input's
channels: grouped convolution), `(*spatial, in_channels, multiplier)` for `depthwise_conv`, and
`(*spatial, out_channels, in_channels)` for `conv_transpose`. `data_format` defaults to
`image_data_format()`; `padding` is "valid" or "same".
"""

import jax
import jax.numpy as jnp

from lamina.backend import config, window_ops
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]


def spatial(value, n, name, op):
    """An int or a length-`n` sequence as an `n`-tuple of ints."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"{op}: `{name}` must be an int or {n} ints for {n}-D inputs, got {value}.")
    return value


def _padding(padding, op):
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', got {padding!r}.")
    return padding.upper()


def _channels(inputs, data_format):
    return inputs.shape[-1] if data_format == "channels_last" else inputs.shape[1]


def _check_rank(inputs, kernel, op):
    if inputs.ndim < 3 or kernel.ndim != inputs.ndim:
        raise ValueError(
            f"{op}: `inputs` must be (batch, *spatial, channels) and `kernel` (*spatial, in, out) with the "
            f"same rank (3 to 5); got inputs {inputs.shape} and kernel {kernel.shape}.")


@keras_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1-D to 3-D) of `inputs` with `kernel` (*spatial, in_channels, out_channels)."""
    data_format = config.standardize_data_format(data_format)
    kernel = tensor(kernel)
    inputs = tensor(inputs).astype(kernel.dtype)
    _check_rank(inputs, kernel, "conv")
    n = inputs.ndim - 2
    channels, kernel_in = _channels(inputs, data_format), kernel.shape[-2]
    if channels % kernel_in:
        raise ValueError(
            f"conv: the input channels ({channels}) must be a multiple of the kernel's in_channels "
            f"({kernel_in}); got inputs {inputs.shape}, kernel {kernel.shape}, data_format={data_format!r}.")
    out = window_ops.conv(inputs, kernel, spatial(strides, n, "strides", "conv"), _padding(padding, "conv"),
                          (1,) * n, spatial(dilation_rate, n, "dilation_rate", "conv"),
                          window_ops.dimension_numbers(n, data_format), channels // kernel_in)
    if out.size == 0 and inputs.size != 0:
        raise ValueError(
            f"conv: the output is empty; the input {inputs.shape} is too small for the kernel "
            f"{kernel.shape} with strides={strides}, dilation_rate={dilation_rate}, padding={padding!r}.")
    return out


def _check_in_channels(inputs, kernel, axis, data_format, op):
    channels = _channels(inputs, data_format)
    if channels != kernel.shape[axis]:
        raise ValueError(
            f"{op}: the input has {channels} channels but the kernel expects {kernel.shape[axis]} "
            f"(inputs {inputs.shape}, kernel {kernel.shape}, data_format={data_format!r}).")


@keras_op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel convolved with its own `multiplier` filters.

    `kernel`: (*spatial, in_channels, multiplier); the output has `in_channels * multiplier` channels.
    """
    data_format = config.standardize_data_format(data_format)
    inputs, kernel = tensor(inputs), tensor(kernel)
    _check_rank(inputs, kernel, "depthwise_conv")
    _check_in_channels(inputs, kernel, -2, data_format, "depthwise_conv")
    n = inputs.ndim - 2
    groups = _channels(inputs, data_format)
    kernel = jnp.reshape(kernel, kernel.shape[:-2] + (1, groups * kernel.shape[-1]))
    return window_ops.conv(inputs, kernel, spatial(strides, n, "strides", "depthwise_conv"),
                           _padding(padding, "depthwise_conv"), (1,) * n,
                           spatial(dilation_rate, n, "dilation_rate", "depthwise_conv"),
                           window_ops.dimension_numbers(n, data_format), groups)


@keras_op
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a 1x1 `pointwise_kernel` convolution mixing the channels."""
    data_format = config.standardize_data_format(data_format)
    inputs, depthwise_kernel = tensor(inputs), tensor(depthwise_kernel)
    _check_in_channels(inputs, depthwise_kernel, -2, data_format, "separable_conv")
    out = depthwise_conv.__wrapped__(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv.__wrapped__(out, tensor(pointwise_kernel), strides=1, padding="valid", data_format=data_format,
                            dilation_rate=dilation_rate)


def _transpose_pads(kernel_size, stride, dilation, padding, output_padding):
    """(left, right) padding of the stride-dilated input that gives Keras's output length."""
    size = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        extra = max(size, stride) - size if output_padding is None else output_padding
        return size - 1, size - 1 + extra
    total = stride + size - 2 if output_padding is None else size + size % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, size - 1)
    return left, total - left


@keras_op
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution (the gradient of `conv`), `kernel` (*spatial, out_channels, in_channels).

    The output length per axis is `input * stride` with "same" padding and
    `(input - 1) * stride + max(kernel, stride)` with "valid", plus `output_padding` when given.
    """
    data_format = config.standardize_data_format(data_format)
    inputs, kernel = tensor(inputs), tensor(kernel)
    _check_rank(inputs, kernel, "conv_transpose")
    _check_in_channels(inputs, kernel, -1, data_format, "conv_transpose")
    n = inputs.ndim - 2
    padding = padding.lower()
    _padding(padding, "conv_transpose")
    strides = spatial(strides, n, "strides", "conv_transpose")
    dilation = spatial(dilation_rate, n, "dilation_rate", "conv_transpose")
    extra = (None,) * n if output_padding is None else spatial(output_padding, n, "output_padding",
                                                                 "conv_transpose")
    pads = [_transpose_pads(kernel.shape[i], strides[i], dilation[i], padding, extra[i]) for i in range(n)]
    return jax.lax.conv_transpose(inputs, kernel, strides, pads, rhs_dilation=dilation,
                                  dimension_numbers=window_ops.dimension_numbers(n, data_format), transpose_kernel=True)
