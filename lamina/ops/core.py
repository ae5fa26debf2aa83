"""Keras's core ops: conversion, casting, control flow, scatter/slice, gradients.

Control flow maps onto `jax.lax` (`cond`, `scan`, `while_loop`, ...), so it traces once and compiles
under `jax.jit`; a Python predicate or bound works as well as an array one.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import dtypes as _dtypes
from lamina.backend.variables import Variable
from lamina.backend.dispatch import is_symbolic, keras_op

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
    "slice_update", "stop_gradient", "switch", "unstack", "vectorize", "vectorized_map", "while_loop",
]


def _densify(x):
    try:
        from jax.experimental import sparse as jsparse
    except ImportError:  # pragma: no cover - every supported jax has it
        return x
    return x.todense() if isinstance(x, jsparse.JAXSparse) else x


@keras_op
def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` (array, list, scalar, `Variable`) as a JAX array, optionally cast to `dtype`.

    Python floats become floatx() arrays and Python ints int32, as in Keras on JAX. lamina's ops are
    dense: a JAX sparse array is densified, and `ragged=True` is refused.
    """
    if ragged:
        raise ValueError("convert_to_tensor: `ragged=True` is not supported; JAX has no ragged tensors.")
    if dtype is not None:
        dtype = _dtypes.standardize_dtype(dtype)
    if isinstance(x, jax.Array):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    if isinstance(x, Variable):
        value = x.value
        return value if dtype is None or value.dtype == dtype else value.astype(dtype)
    x = _densify(x)
    if isinstance(x, jax.Array):
        return convert_to_tensor(x, dtype)
    if dtype == "bfloat16":  # NumPy cannot build bfloat16 from Python values directly
        return jnp.asarray(x).astype(dtype)
    return jnp.asarray(x, dtype=dtype)


def tensor(x):
    """`convert_to_tensor(x)` without the symbolic check (for use inside ops)."""
    if isinstance(x, jax.Array):
        return x
    return convert_to_tensor.__wrapped__(x)


def convert_to_numpy(x):
    """`x` as a NumPy array (bfloat16 stays bfloat16, through ml_dtypes)."""
    if is_symbolic(x):
        raise ValueError(
            "convert_to_numpy: got a symbolic tensor, which has no values yet. Call the model on data first.")
    if isinstance(x, Variable):
        x = x.value
    return np.array(_densify(x))


def is_tensor(x):
    """Whether `x` is a JAX array (tracers included); Variables, NumPy arrays and lists are not."""
    return isinstance(x, jax.Array)


def shape(x):
    """The shape of `x` as a tuple (static ints, also under `jit`; None for unknown symbolic dims)."""
    if not hasattr(x, "shape"):
        x = tensor(x)
    return tuple(x.shape)


def dtype(x):
    """The dtype name of `x` ("float32")."""
    if not hasattr(x, "dtype"):
        x = tensor(x)
    return _dtypes.standardize_dtype(x.dtype)


@keras_op
def cast(x, dtype):
    """`x` cast to `dtype` (float to int truncates toward zero)."""
    return convert_to_tensor.__wrapped__(x, dtype=_dtypes.standardize_dtype(dtype))


def _limits(name):
    if name == "bool":
        return 0, 1
    info = jnp.iinfo(name) if name in _dtypes.INT_TYPES else jnp.finfo(name)
    return info.min, info.max


@keras_op
def saturate_cast(x, dtype):
    """`cast`, with values clipped to the range of `dtype` first (no wrap-around, inf saturates)."""
    out = _dtypes.standardize_dtype(dtype)
    x = tensor(x)
    in_name = _dtypes.standardize_dtype(x.dtype)
    (in_min, in_max), (out_min, out_max) = _limits(in_name), _limits(out)
    # The bounds are taken in the input dtype, nudged inward when rounding pushed them out of range.
    low = np.asarray(max(in_min, out_min)).astype(in_name)
    if low < out_min:
        low = np.nextafter(low, np.asarray(0, in_name))
    high = np.asarray(min(in_max, out_max)).astype(in_name)
    if high > out_max:
        high = np.nextafter(high, np.asarray(0, in_name))
    return jnp.clip(x, low, high).astype(out)


@keras_op
def stop_gradient(variable):
    """`variable` (array or Variable) with its gradient stopped."""
    return jax.lax.stop_gradient(tensor(variable))


@keras_op
def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`, as one traced program (`jax.lax.cond`)."""
    return jax.lax.cond(pred, true_fn, false_fn)


@keras_op
def switch(index, branches, *operands):
    """`branches[index](*operands)` (`jax.lax.switch`; `index` is clamped to the valid range)."""
    return jax.lax.switch(index, branches, *operands)


@keras_op
def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`, at most `maximum_iterations` times.

    A tuple or list of loop variables is unpacked into `cond` and `body` and returned as a tuple; a
    single value is passed and returned as is.
    """
    packed = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if packed else (loop_vars,)

    def as_tuple(out):
        return tuple(out) if packed else (out,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda s: cond(*s), lambda s: as_tuple(body(*s)), state)
    else:
        out = jax.lax.while_loop(
            lambda s: jnp.logical_and(cond(*s[0]), s[1] < maximum_iterations),
            lambda s: (as_tuple(body(*s[0])), s[1] + 1),
            (state, 0),
        )[0]
    return out if packed else out[0]


@keras_op
def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for `i` in `[lower, upper)`, starting from `init_val`."""
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


@keras_op
def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """`jax.lax.scan`: `carry, y = f(carry, x)` over the leading axis of `xs`; returns `(carry, ys)`."""
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive int or a bool, got {unroll!r}.")
    return jax.lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)


@keras_op
def associative_scan(f, elems, reverse=False, axis=0):
    """Prefix scan of `elems` along `axis` with the associative binary function `f` (in parallel)."""
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


@keras_op
def map(f, xs):
    """`f` applied to each slice of `xs` along the leading axis, results stacked (`jax.lax.map`)."""
    return jax.lax.map(f, xs)


@keras_op
def vectorized_map(function, elements):
    """`function` mapped over the leading axis of `elements` in one batched program (`jax.vmap`)."""
    return jax.vmap(function)(elements)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` made to map over arrays element-wise (or by the gufunc `signature`, "(n),(n)->()")."""
    if not callable(pyfunc):
        raise ValueError(f"vectorize: `pyfunc` must be callable, got {pyfunc!r}.")
    return jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)


@keras_op
def unstack(x, num=None, axis=0):
    """The slices of `x` along `axis`, as a list."""
    x = tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: `num`={num} does not match x.shape[{axis}]={x.shape[axis]} (shape {x.shape}).")
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


@keras_op
def scatter(indices, values, shape):
    """A zeros tensor of `shape` with `values` added at `indices` ([..., index_depth])."""
    values = tensor(values)
    indices = tensor(indices)
    key = tuple(jnp.moveaxis(indices, -1, 0))
    return jnp.zeros(shape, values.dtype).at[key].add(values)


_SCATTER_REDUCTIONS = {None: "set", "add": "add", "max": "max", "min": "min", "mul": "multiply"}


@keras_op
def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at `indices` ([num_updates, index_depth]).

    `reduction`: None replaces; "add", "max", "min" or "mul" combine with the current values.
    """
    if reduction is not None:
        reduction = reduction.lower()
    if reduction not in _SCATTER_REDUCTIONS:
        raise ValueError(
            f"scatter_update: `reduction` must be None, 'add', 'max', 'min' or 'mul', got {reduction!r}.")
    inputs = tensor(inputs)
    key = tuple(jnp.transpose(jnp.asarray(indices)))
    return getattr(inputs.at[key], _SCATTER_REDUCTIONS[reduction])(tensor(updates))


@keras_op
def slice(inputs, start_indices, shape):
    """The block of `inputs` of size `shape` starting at `start_indices` (-1 in `shape`: to the end)."""
    inputs = tensor(inputs)
    sizes = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s for i, s in enumerate(shape))
    return jax.lax.dynamic_slice(inputs, start_indices, sizes)


@keras_op
def slice_update(inputs, start_indices, updates):
    """`inputs` with the block starting at `start_indices` replaced by `updates`."""
    inputs, updates = tensor(inputs), tensor(updates)
    if updates.dtype != inputs.dtype:
        raise TypeError(
            f"slice_update: `updates` has dtype {updates.dtype.name} but `inputs` has {inputs.dtype.name}; "
            "cast them to the same dtype first.")
    return jax.lax.dynamic_update_slice(inputs, updates, start_indices)


def custom_gradient(f):
    """Decorator: `f(*args)` returns `(output, grad_fn)`; `grad_fn(upstream)` gives the input gradients.

    Variables among the arguments are read as their values.
    """
    with_grad = jax.custom_gradient(f)

    def call(*args, **kwargs):
        args, kwargs = jax.tree_util.tree_map(
            lambda v: v.value if isinstance(v, Variable) else v, (args, kwargs),
            is_leaf=lambda v: isinstance(v, Variable))
        return with_grad(*args, **kwargs)

    call.__name__ = getattr(f, "__name__", "custom_gradient")
    call.__doc__ = f.__doc__
    return call


def as_float(x):
    """`x` cast to Keras's float result for it: ints and bools become floatx(), floats stay."""
    name = _dtypes.standardize_dtype(x.dtype)
    if name.startswith("float") or name.startswith("bfloat") or name.startswith("complex"):
        return x
    return x.astype(_dtypes.result_type(name, float))

