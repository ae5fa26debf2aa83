"""Pooling: windowed max and average (`lamina.backend.window_ops`, the layers' own primitives), and adaptive
pooling to a fixed size.

Inputs are (batch, *spatial, channels) or, with `data_format="channels_first"`, (batch, channels,
*spatial), with 1 to 3 spatial axes.
"""


import jax.numpy as jnp

from lamina.backend import config, window_ops
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op
from lamina.ops.nn.convolution import spatial

__all__ = ["adaptive_average_pool", "adaptive_max_pool", "average_pool", "max_pool"]


def _window(value, n, data_format, name, op):
    value = spatial(value, n, name, op)
    return (1,) + value + (1,) if data_format == "channels_last" else (1, 1) + value


def _lowest(dtype):
    return -jnp.inf if jnp.issubdtype(dtype, jnp.inexact) else jnp.iinfo(dtype).min


def _pool_args(inputs, pool_size, strides, padding, data_format, op):
    data_format = config.standardize_data_format(data_format)
    inputs = tensor(inputs)
    if inputs.ndim < 3:
        raise ValueError(f"{op}: `inputs` must be (batch, *spatial, channels), got shape {inputs.shape}.")
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', got {padding!r}.")
    n = inputs.ndim - 2
    window = _window(pool_size, n, data_format, "pool_size", op)
    steps = window if strides is None else _window(strides, n, data_format, "strides", op)
    return inputs, window, steps, padding.upper()


@keras_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Maximum over `pool_size` windows moved by `strides` (default: `pool_size`)."""
    inputs, window, steps, padding = _pool_args(inputs, pool_size, strides, padding, data_format, "max_pool")
    return window_ops.max_pool(inputs, window, steps, padding)


@keras_op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean over `pool_size` windows moved by `strides`; with "same", padding is left out of each mean."""
    inputs, window, steps, padding = _pool_args(inputs, pool_size, strides, padding, data_format, "average_pool")
    return window_ops.avg_pool(inputs, window, steps, padding)


def _membership(length, size):
    """[size, length] mask: output cell i pools input positions floor(i*L/O) .. ceil((i+1)*L/O) - 1."""
    i = jnp.arange(size)
    start = (i * length) // size
    stop = -((-(i + 1) * length) // size)
    pos = jnp.arange(length)
    return (pos[None, :] >= start[:, None]) & (pos[None, :] < stop[:, None])


def _adaptive(inputs, output_size, data_format, op, reduce):
    data_format = config.standardize_data_format(data_format)
    inputs = tensor(inputs)
    n = inputs.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(f"{op}: `inputs` must have 1 to 3 spatial axes, got shape {inputs.shape}.")
    sizes = spatial(output_size, n, "output_size", op)
    first = 1 if data_format == "channels_last" else 2
    out = inputs
    for k, size in enumerate(sizes):
        out = reduce(out, first + k, _membership(out.shape[first + k], size))
    return out


def _pool_along(x, axis, mask, fill, reduce):
    moved = jnp.moveaxis(x, axis, -1)[..., None, :]
    return jnp.moveaxis(reduce(jnp.where(mask, moved, fill), axis=-1), -1, axis)


def _mean_along(x, axis, mask):
    total = _pool_along(x, axis, mask, jnp.zeros((), x.dtype), jnp.sum)
    counts = mask.sum(axis=1).reshape((-1,) + (1,) * (x.ndim - 1 - axis)).astype(x.dtype)
    return total / counts


def _max_along(x, axis, mask):
    return _pool_along(x, axis, mask, _lowest(x.dtype), jnp.max)


@keras_op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to `output_size` cells per spatial axis (PyTorch's adaptive windows)."""
    return _adaptive(inputs, output_size, data_format, "adaptive_average_pool", _mean_along)


@keras_op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to `output_size` cells per spatial axis (PyTorch's adaptive windows)."""
    return _adaptive(inputs, output_size, data_format, "adaptive_max_pool", _max_along)
