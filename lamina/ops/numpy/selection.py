"""Sorting, searching and picking elements: `sort`, `argsort`, `take`, `where`, `unique`, `isin`, ..."""

import jax.numpy as jnp

from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = [
    "argpartition", "argsort", "digitize", "isin", "nonzero", "searchsorted", "select", "sort", "take",
    "take_along_axis", "unique", "where",
]


@keras_op
def sort(x, axis=-1):
    """`x` sorted along `axis` (ascending)."""
    return jnp.sort(tensor(x), axis=axis)


@keras_op
def argsort(x, axis=-1):
    """Indices that sort `x` along `axis` (ascending, stable)."""
    x = tensor(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


@keras_op
def argpartition(x, kth, axis=-1):
    """Indices that put the `kth` element of `x` along `axis` in its sorted place, smaller ones before it."""
    x = tensor(x)
    if axis is None:
        return jnp.argpartition(jnp.reshape(x, (-1,)), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


@keras_op
def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted into the 1-D `sorted_sequence` to keep it sorted."""
    sorted_sequence, values = tensor(sorted_sequence), tensor(values)
    if sorted_sequence.ndim != 1:
        raise ValueError(
            f"searchsorted: `sorted_sequence` must be 1-D (use vectorized_map for batches), got shape "
            f"{sorted_sequence.shape}.")
    return jnp.searchsorted(sorted_sequence, values, side=side)


@keras_op
def digitize(x, bins):
    """Index of the bin of `bins` (monotonic) each element of `x` falls in."""
    return jnp.digitize(tensor(x), tensor(bins))


@keras_op
def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of `x1` occurs in `x2` (negated with `invert`)."""
    return jnp.isin(tensor(x1), tensor(x2), assume_unique=assume_unique, invert=invert)


@keras_op
def nonzero(x):
    """The indices of the non-zero elements of `x`, one array per axis (eager only: the size depends on
    the values)."""
    return jnp.nonzero(tensor(x))


@keras_op
def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`; with only `condition`, the indices where it holds."""
    if (x1 is None) != (x2 is None):
        raise ValueError("where: give both `x1` and `x2`, or neither.")
    if x1 is None:
        return jnp.where(tensor(condition))
    return jnp.where(tensor(condition), tensor(x1), tensor(x2))


@keras_op
def select(condlist, choicelist, default=0):
    """Element-wise `choicelist[i]` for the first `condlist[i]` that holds, else `default`."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(
            f"select: `condlist` and `choicelist` must be lists, got {type(condlist).__name__} and "
            f"{type(choicelist).__name__}.")
    if not condlist or not choicelist:
        raise ValueError("select: `condlist` and `choicelist` must not be empty.")
    return jnp.select([tensor(c) for c in condlist], [tensor(c) for c in choicelist], default=default)


@keras_op
def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (of the flattened `x` when None)."""
    return jnp.take(tensor(x), tensor(indices), axis=axis)


@keras_op
def take_along_axis(x, indices, axis=None):
    """Elements of `x` at `indices`, matched index by index along `axis`."""
    return jnp.take_along_axis(tensor(x), tensor(indices), axis=axis)


@keras_op
def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,
           size=None, fill_value=None):
    """The unique elements of `x` (optionally their first indices, the inverse map and counts).

    Without `size` this runs eagerly only; with `size` the result is padded with `fill_value`.
    """
    return jnp.unique(tensor(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=False, size=size, sorted=sorted,
                      fill_value=fill_value)
