"""Activation ops of `keras.ops.nn`: `relu`, `sigmoid`, `gelu`, `softmax`, ... on `jax.nn`.

These are Keras's op defaults (`gelu(approximate=True)`, `leaky_relu(negative_slope=0.2)`), which
differ in places from `keras.activations` (see `lamina.activations`).
"""

import warnings

import jax
import jax.numpy as jnp

from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op, make_op

__all__ = [
    "celu", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink",
    "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish",
    "tanh_shrink", "threshold",
]


def _unary(name, fn, doc):
    def op(x):
        return fn(tensor(x))

    return make_op(op, name, doc, __name__)


relu = _unary("relu", jax.nn.relu, "`max(x, 0)`.")
relu6 = _unary("relu6", jax.nn.relu6, "`min(max(x, 0), 6)`.")
sigmoid = _unary("sigmoid", jax.nn.sigmoid, "`1 / (1 + exp(-x))`.")
sparse_sigmoid = _unary("sparse_sigmoid", jax.nn.sparse_sigmoid, "0 below -1, 1 above 1, `(x + 1) / 2` between.")
softplus = _unary("softplus", jax.nn.softplus, "`log(1 + exp(x))`, computed stably.")
softsign = _unary("softsign", jax.nn.soft_sign, "`x / (1 + |x|)`.")
sparse_plus = _unary("sparse_plus", jax.nn.sparse_plus, "0 below -1, x above 1, `(x + 1)**2 / 4` between.")
silu = _unary("silu", jax.nn.silu, "`x * sigmoid(x)` (swish).")
swish = _unary("swish", jax.nn.silu, "`x * sigmoid(x)` (same as `silu`).")
log_sigmoid = _unary("log_sigmoid", jax.nn.log_sigmoid, "`log(sigmoid(x))`, computed stably.")
hard_sigmoid = _unary("hard_sigmoid", jax.nn.hard_sigmoid, "`relu6(x + 3) / 6`.")
hard_silu = _unary("hard_silu", jax.nn.hard_silu, "`x * hard_sigmoid(x)`.")
hard_swish = _unary("hard_swish", jax.nn.hard_silu, "`x * hard_sigmoid(x)` (same as `hard_silu`).")
hard_tanh = _unary("hard_tanh", jax.nn.hard_tanh, "`x` clipped to [-1, 1].")
selu = _unary("selu", jax.nn.selu, "Scaled ELU (self-normalizing networks).")


@keras_op
def tanh_shrink(x):
    """`x - tanh(x)`."""
    x = tensor(x)
    return x - jnp.tanh(x)


@keras_op
def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, `negative_slope * x` otherwise."""
    return jax.nn.leaky_relu(tensor(x), negative_slope=negative_slope)


@keras_op
def elu(x, alpha=1.0):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise."""
    return jax.nn.elu(tensor(x), alpha=alpha)


@keras_op
def celu(x, alpha=1.0):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return jax.nn.celu(tensor(x), alpha=alpha)


@keras_op
def gelu(x, approximate=True):
    """Gaussian error linear unit (the tanh approximation by default)."""
    return jax.nn.gelu(tensor(x), approximate)


@keras_op
def glu(x, axis=-1):
    """Gated linear unit: the first half of `x` along `axis` times the sigmoid of the second half."""
    return jax.nn.glu(tensor(x), axis=axis)


@keras_op
def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`."""
    return jax.nn.squareplus(tensor(x), b=b)


@keras_op
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    x = tensor(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0.0)


@keras_op
def soft_shrink(x, threshold=0.5):
    """`x` moved toward 0 by `threshold` (0 inside [-threshold, threshold])."""
    x = tensor(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, 0.0))


@keras_op
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    x = tensor(x)
    return jnp.where(x > threshold, x, default_value)


def _warn_size_one(x, axis):
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"You are using a softmax over axis {axis} of a tensor of shape {x.shape}. This axis has size 1: "
            "the softmax is always 1. Did you mean a sigmoid?", stacklevel=3)


@keras_op
def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` over `axis` (an int or a tuple of axes)."""
    x = tensor(x)
    _warn_size_one(x, axis)
    return jax.nn.softmax(x, axis=axis)


@keras_op
def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` over `axis` (an int or a tuple of axes)."""
    return jax.nn.log_softmax(tensor(x), axis=axis)


@keras_op
def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis` (sparse softmax).

    The outputs sum to 1. Keras 3.15 on JAX computes the threshold from the sum of the running sums
    instead of the sum of the support, so its outputs do not sum to 1 once two or more entries are
    non-zero; lamina computes the projection as published (Martins & Astudillo, 2016).
    """
    x = tensor(x)
    ranked = -jnp.sort(-x, axis=axis)
    cumulative = jnp.cumsum(ranked, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    k = jnp.arange(1, x.shape[axis] + 1).reshape(shape)
    support = ranked - (cumulative - 1) / k > 0
    count = jnp.sum(support, axis=axis, keepdims=True)
    tau = (jnp.sum(jnp.where(support, ranked, 0.0), axis=axis, keepdims=True) - 1) / count
    return jnp.maximum(x - tau, 0.0)
