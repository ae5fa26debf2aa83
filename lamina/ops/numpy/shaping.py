"""Shapes and layout of the NumPy family: `reshape`, `transpose`, `concatenate`, `split`, `pad`, ..."""

import jax.numpy as jnp
import numpy as np

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op, make_op

__all__ = [
    "append", "array_split", "broadcast_to", "concatenate", "dsplit", "dstack", "expand_dims", "flip",
    "fliplr", "flipud", "get_item", "hsplit", "hstack", "moveaxis", "ndim", "pad", "ravel", "repeat",
    "reshape", "roll", "rot90", "size", "split", "squeeze", "stack", "swapaxes", "tile", "transpose",
    "unravel_index", "view", "vsplit", "vstack",
]


def _one_array(name, fn, doc):
    def op(x):
        return fn(tensor(x))

    return make_op(op, name, doc, __name__)


ravel = _one_array("ravel", jnp.ravel, "`x` flattened to 1-D.")
fliplr = _one_array("fliplr", jnp.fliplr, "`x` reversed along axis 1.")
flipud = _one_array("flipud", jnp.flipud, "`x` reversed along axis 0.")


def ndim(x):
    """The number of dimensions of `x`."""
    return len(x.shape) if hasattr(x, "shape") else jnp.ndim(x)


def size(x):
    """The number of elements of `x`."""
    return jnp.size(x)


@keras_op
def reshape(x, newshape):
    """`x` with shape `newshape` (one entry may be -1, inferred from the size)."""
    if not hasattr(newshape, "shape"):
        newshape = tuple(newshape) if isinstance(newshape, (tuple, list)) else (newshape,)
        ints = [d for d in newshape if isinstance(d, (int, np.integer))]
        if any(d < -1 for d in ints) or ints.count(-1) > 1:
            raise ValueError(
                f"reshape: each dimension of `newshape` must be >= 0, or -1 once for an unknown one; "
                f"got newshape={newshape}.")
    return jnp.reshape(tensor(x), newshape)


@keras_op
def transpose(x, axes=None):
    """`x` with its axes permuted by `axes` (reversed when None)."""
    return jnp.transpose(tensor(x), axes=axes)


@keras_op
def moveaxis(x, source, destination):
    """`x` with axes `source` moved to positions `destination`."""
    return jnp.moveaxis(tensor(x), source, destination)


@keras_op
def swapaxes(x, axis1, axis2):
    """`x` with `axis1` and `axis2` exchanged."""
    return jnp.swapaxes(tensor(x), axis1, axis2)


@keras_op
def expand_dims(x, axis):
    """`x` with a new axis of size 1 at `axis` (an int or a tuple of ints)."""
    return jnp.expand_dims(tensor(x), axis)


@keras_op
def squeeze(x, axis=None):
    """`x` without its size-1 axes (only `axis`, when given)."""
    return jnp.squeeze(tensor(x), axis=axis)


@keras_op
def broadcast_to(x, shape):
    """`x` broadcast to `shape`."""
    return jnp.broadcast_to(tensor(x), shape)


@keras_op
def flip(x, axis=None):
    """`x` reversed along `axis` (all axes when None)."""
    return jnp.flip(tensor(x), axis=axis)


@keras_op
def rot90(array, k=1, axes=(0, 1)):
    """`array` rotated by 90 degrees `k` times in the plane of `axes` (from the first axis toward the second)."""
    array = tensor(array)
    if array.ndim < 2:
        raise ValueError(f"rot90: `array` must have at least 2 dimensions, got shape {array.shape}.")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"rot90: `axes` must be two different axes, got {axes}.")
    return jnp.rot90(array, k=k, axes=axes)


@keras_op
def roll(x, shift, axis=None):
    """`x` shifted by `shift` along `axis`, wrapping around (flattened when None)."""
    return jnp.roll(tensor(x), shift, axis=axis)


@keras_op
def tile(x, repeats):
    """`x` repeated `repeats` times along each axis."""
    return jnp.tile(tensor(x), repeats)


@keras_op
def repeat(x, repeats, axis=None):
    """Each element of `x` repeated `repeats` times (an int, or one count per element) along `axis`
    (flattened when None)."""
    return jnp.repeat(tensor(x), jnp.asarray(repeats) if isinstance(repeats, (list, tuple)) else repeats, axis=axis)


@keras_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """`x` padded by `pad_width` ((before, after) per axis, or one pair / int for every axis).

    `mode`: "constant" (with `constant_values`, default 0), "edge", "reflect", "symmetric", "wrap", ...
    """
    x = tensor(x)
    if isinstance(pad_width, (list, tuple)) and pad_width and not isinstance(pad_width[0], (int, np.integer)):
        if len(pad_width) > 1 and len(pad_width) != x.ndim:
            raise ValueError(
                f"pad: `pad_width` must have one entry per axis of `x`; got {len(pad_width)} entries "
                f"for shape {x.shape}.")
        pad_width = [tuple(p) * 2 if len(p) == 1 else tuple(p) for p in pad_width]
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"pad: `constant_values` is only used with mode='constant', got mode={mode!r}.")
        return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode=mode)


@keras_op
def concatenate(xs, axis=0):
    """The arrays `xs` joined along an existing `axis`."""
    return jnp.concatenate([tensor(x) for x in xs], axis=axis)


@keras_op
def stack(x, axis=0):
    """The arrays in the sequence `x` joined along a new `axis`."""
    return jnp.stack([tensor(t) for t in x], axis=axis)


def _stacker(name, fn, doc):
    def op(xs):
        return fn([tensor(x) for x in xs])

    return make_op(op, name, doc, __name__)


hstack = _stacker("hstack", jnp.hstack, "The arrays `xs` joined column-wise (axis 1; axis 0 for 1-D).")
vstack = _stacker("vstack", jnp.vstack, "The arrays `xs` joined row-wise (axis 0, 1-D as rows).")
dstack = _stacker("dstack", jnp.dstack, "The arrays `xs` joined depth-wise (axis 2).")


@keras_op
def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (both flattened when None)."""
    return jnp.append(tensor(x1), tensor(x2), axis=axis)


@keras_op
def split(x, indices_or_sections, axis=0):
    """`x` split along `axis` into equal sections (an int) or at the given indices; a list."""
    return jnp.split(tensor(x), indices_or_sections, axis=axis)


@keras_op
def array_split(x, indices_or_sections, axis=0):
    """`x` split along `axis` into `indices_or_sections` nearly equal parts (the first ones larger)."""
    if not isinstance(indices_or_sections, int) or isinstance(indices_or_sections, bool):
        raise TypeError(f"array_split: `indices_or_sections` must be an int, got {indices_or_sections!r}.")
    if indices_or_sections <= 0:
        raise ValueError(f"array_split: `indices_or_sections` must be positive, got {indices_or_sections}.")
    if not isinstance(axis, int):
        raise TypeError(f"array_split: `axis` must be an int, got {axis!r}.")
    return jnp.array_split(tensor(x), indices_or_sections, axis=axis)


def _splitter(name, fn, doc):
    def op(x, indices_or_sections):
        return fn(tensor(x), indices_or_sections)

    return make_op(op, name, doc, __name__)


hsplit = _splitter("hsplit", jnp.hsplit, "`x` split column-wise (axis 1; axis 0 for 1-D).")
vsplit = _splitter("vsplit", jnp.vsplit, "`x` split row-wise (axis 0).")
dsplit = _splitter("dsplit", jnp.dsplit, "`x` split depth-wise (axis 2).")


@keras_op
def get_item(x, key):
    """`x[key]`."""
    return tensor(x)[key]


@keras_op
def view(x, dtype=None):
    """The bytes of `x` reinterpreted as `dtype` (the last axis scales with the item sizes)."""
    return tensor(x).view(None if dtype is None else _dtypes.standardize_dtype(dtype))


@keras_op
def unravel_index(indices, shape):
    """Flat `indices` into an array of `shape` as a tuple of coordinate arrays."""
    return jnp.unravel_index(tensor(indices), shape)
