"""Statistics and normalization ops: `moments`, `batch_normalization`, `layer_normalization`,
`rms_normalization`, `normalize`.

Half-precision inputs are normalized in float32 and cast back, as in Keras.
"""

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["batch_normalization", "layer_normalization", "moments", "normalize", "rms_normalization"]


def _axes(axes):
    return tuple(axes) if isinstance(axes, (list, tuple)) else axes


@keras_op
def moments(x, axes, keepdims=False, synchronized=False):
    """`(mean, variance)` of `x` over `axes` (float16/bfloat16 computed in float32, clipped, cast back).

    `synchronized=True` (statistics across devices) is not supported here: lamina computes on the
    devices the arrays live on, inside one program.
    """
    if synchronized:
        raise NotImplementedError("moments: `synchronized=True` is not supported on JAX; use synchronized=False.")
    x = tensor(x)
    axes = _axes(axes)
    name = _dtypes.standardize_dtype(x.dtype)
    half = name in ("float16", "bfloat16")
    if half:
        x = x.astype("float32")
    mean = jnp.mean(x, axes, keepdims=True)
    variance = jnp.var(x, axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = jnp.squeeze(mean, axes), jnp.squeeze(variance, axes)
    if half:
        limit = jnp.finfo(jnp.float16)
        mean = jnp.clip(mean, limit.min, limit.max).astype(name)
        variance = jnp.clip(variance, limit.min, limit.max).astype(name)
    return mean, variance


@keras_op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, the 1-D statistics laid along `axis`."""
    x, mean, variance = tensor(x), tensor(mean), tensor(variance)
    shape = [1] * x.ndim
    shape[axis] = mean.shape[0]
    inv = jax.lax.rsqrt(jnp.reshape(variance, shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(tensor(scale), shape)
    shift = -jnp.reshape(mean, shape) * inv
    if offset is not None:
        shift = shift + jnp.reshape(tensor(offset), shape)
    return jnp.add(x * inv, shift)


def _sorted_axes(axis):
    return sorted(axis) if isinstance(axis, (list, tuple)) else [axis]


@keras_op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, statistics over `axis` (computed in >= float32).

    `rms_scaling=True` (deprecated in Keras, kept for its meaning) scales by the variance's root
    without centering; use `rms_normalization` for true RMS normalization.
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = tensor(x)
    original = x.dtype
    x = x.astype(_dtypes.result_type(x.dtype, "float32"))
    axes = [a % x.ndim for a in _sorted_axes(axis)]
    shape = [x.shape[d] if d in axes else 1 for d in range(x.ndim)]

    def spread(v):
        if v is None:
            return None
        v = tensor(v).astype(x.dtype)
        return jnp.reshape(v, shape) if v.ndim != x.ndim and axes != [x.ndim - 1] else v

    gamma, beta = spread(gamma), spread(beta)
    if rms_scaling:
        out = x * jax.lax.rsqrt(jnp.var(x, axis=tuple(axes), keepdims=True) + epsilon)
        return (out if gamma is None else out * gamma).astype(original)
    mean = jnp.mean(x, tuple(axes), keepdims=True)
    variance = jnp.var(x, axis=tuple(axes), keepdims=True)
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta
    return (x * inv + shift).astype(original)


@keras_op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """`x / sqrt(mean(x**2) + epsilon) * scale`, the mean over `axis` (computed in >= float32)."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = tensor(x)
    original = x.dtype
    x = x.astype(_dtypes.result_type(x.dtype, "float32"))
    if x.ndim == 0:
        x = x[None]
    axis = tuple(sorted(axis)) if isinstance(axis, (list, tuple)) else axis
    out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + epsilon)
    if scale is not None:
        out = out * tensor(scale).astype(x.dtype)
    return out.astype(original)


@keras_op
def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm over `axis` (the norm floored at `epsilon`)."""
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1, got {order!r}.")
    x = tensor(x)
    if x.ndim == 0:
        x = x[None]
    epsilon = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.linalg.norm(x.astype(_dtypes.result_type(x.dtype, float)), ord=order, axis=axis, keepdims=True)
    return jnp.divide(x, jnp.maximum(norm, epsilon))
