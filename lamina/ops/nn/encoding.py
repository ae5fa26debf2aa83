"""Class encodings: `one_hot` and `multi_hot` (dense; lamina's ops do not build sparse arrays)."""

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["multi_hot", "one_hot"]


def _dense_only(sparse, op):
    if sparse:
        raise ValueError(f"{op}: `sparse=True` is not supported; lamina's ops return dense arrays.")


@keras_op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """A new axis of size `num_classes` at `axis` with 1 at each integer class of `x` (negative: all 0)."""
    _dense_only(sparse, "one_hot")
    return jax.nn.one_hot(tensor(x), num_classes, axis=axis, dtype=_dtypes.standardize_dtype(dtype))


@keras_op
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """For each row of integer classes, 1 at every class present (`num_tokens` is an alias of
    `num_classes`); a 1-D input is one row."""
    if num_classes is None and "num_tokens" in kwargs:
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: `num_classes` must be given.")
    _dense_only(sparse, "multi_hot")
    inputs = tensor(inputs)
    encoded = jax.nn.one_hot(inputs.astype("int32"), num_classes, axis=axis, dtype=_dtypes.standardize_dtype(dtype))
    return jnp.max(encoded, axis=1 if inputs.ndim > 1 else 0)
