"""New arrays: `zeros`, `ones`, `full`, `eye`, `arange`, `linspace`, `meshgrid`, the windows, ...

Float arrays default to floatx(), as in Keras (NumPy would use float64).
"""

import jax.numpy as jnp

from lamina.backend import config
from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import is_symbolic, keras_op, make_op

__all__ = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full", "full_like",
    "geomspace", "hamming", "hanning", "identity", "kaiser", "linspace", "logspace", "meshgrid", "ones",
    "ones_like", "tri", "vander", "zeros", "zeros_like",
]


def _dtype(dtype, default=None):
    if dtype is None:
        return default
    return _dtypes.standardize_dtype(dtype)


def _filled(name, fn, doc):
    def op(shape, dtype=None):
        return fn(shape, dtype=_dtype(dtype, config.floatx()))

    return make_op(op, name, doc, __name__)


zeros = _filled("zeros", jnp.zeros, "An array of `shape` filled with 0 (floatx() by default).")
ones = _filled("ones", jnp.ones, "An array of `shape` filled with 1 (floatx() by default).")
empty = _filled("empty", jnp.empty, "An array of `shape` (filled with 0 on JAX; floatx() by default).")


def _like(name, fn, doc):
    def op(x, dtype=None):
        return fn(tensor(x), dtype=_dtype(dtype))

    return make_op(op, name, doc, __name__)


zeros_like = _like("zeros_like", jnp.zeros_like, "Zeros with the shape (and dtype, unless given) of `x`.")
ones_like = _like("ones_like", jnp.ones_like, "Ones with the shape (and dtype, unless given) of `x`.")
empty_like = _like("empty_like", jnp.empty_like, "An array with the shape (and dtype, unless given) of `x`.")


@keras_op
def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (floatx() by default)."""
    return jnp.full(shape, fill_value, dtype=_dtype(dtype, config.floatx()))


@keras_op
def full_like(x, fill_value, dtype=None):
    """`fill_value` in the shape (and dtype, unless given) of `x`."""
    return jnp.full_like(tensor(x), fill_value, dtype=_dtype(dtype))


@keras_op
def array(x, dtype=None):
    """`x` as a new array (dtype inferred from the values unless given)."""
    return jnp.array(x, dtype=_dtype(dtype))


def _check_int(value, name, op):
    if isinstance(value, float) or str(getattr(value, "dtype", "")) in _dtypes.FLOAT_TYPES:
        raise TypeError(f"{op}: `{name}` must be an integer, got {value!r}.")


@keras_op
def eye(N, M=None, k=0, dtype=None):
    """An `N x M` matrix with ones on the `k`-th diagonal (floatx() by default)."""
    _check_int(N, "N", "eye")
    _check_int(M, "M", "eye")
    return jnp.eye(N, M=M, k=k, dtype=_dtype(dtype, config.floatx()))


@keras_op
def identity(n, dtype=None):
    """The `n x n` identity matrix (floatx() by default)."""
    return jnp.identity(n, dtype=_dtype(dtype, config.floatx()))


@keras_op
def tri(N, M=None, k=0, dtype=None):
    """An `N x M` matrix with ones at and below the `k`-th diagonal (floatx() by default)."""
    return jnp.tri(N, M=M, k=k, dtype=_dtype(dtype, config.floatx()))


def _kind(value):
    return value.dtype if hasattr(value, "dtype") else type(value)


@keras_op
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)` by `step` (`arange(n)` is `0 .. n-1`).

    Without `dtype`: int32 for integer arguments, floatx() when any is a float.
    """
    if dtype is None:
        dtype = _dtypes.result_type(*[_kind(v) for v in (start, stop, step) if v is not None])
    return jnp.arange(start, stop, step=step, dtype=_dtypes.standardize_dtype(dtype))


@keras_op
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (inclusive when `endpoint`)."""
    return jnp.linspace(start, stop, num=num, endpoint=endpoint, retstep=retstep, dtype=_dtype(dtype), axis=axis)


@keras_op
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)`."""
    return jnp.logspace(start, stop, num=num, endpoint=endpoint, base=base, dtype=_dtype(dtype), axis=axis)


@keras_op
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values from `start` to `stop` spaced evenly on a log scale."""
    return jnp.geomspace(start, stop, num=num, endpoint=endpoint, dtype=_dtype(dtype), axis=axis)


@keras_op
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors (`indexing`: "xy" Cartesian or "ij" matrix)."""
    return jnp.meshgrid(*[tensor(v) for v in x], indexing=indexing)


@keras_op
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D `x`: columns are powers of `x` (decreasing by default)."""
    x = tensor(x)
    if x.ndim != 1:
        raise ValueError(f"vander: `x` must be 1-D, got shape {x.shape}.")
    if N is not None and (not isinstance(N, int) or isinstance(N, bool)):
        raise TypeError(f"vander: `N` must be an int, got {N!r}.")
    if N is not None and N < 0:
        raise ValueError(f"vander: `N` must be >= 0, got {N}.")
    if not isinstance(increasing, bool):
        raise TypeError(f"vander: `increasing` must be a bool, got {increasing!r}.")
    return jnp.vander(x, N=N, increasing=increasing)


def _window(name, fn, doc):
    def op(x):
        if is_symbolic(x):
            raise TypeError(f"{name}: the window length must be a concrete int, got a symbolic tensor {x}.")
        return fn(tensor(x)).astype(config.floatx())

    return make_op(op, name, doc, __name__, symbolic=False)


bartlett = _window("bartlett", jnp.bartlett, "The Bartlett (triangular) window of length `x`.")
blackman = _window("blackman", jnp.blackman, "The Blackman window of length `x`.")
hamming = _window("hamming", jnp.hamming, "The Hamming window of length `x`.")
hanning = _window("hanning", jnp.hanning, "The Hann window of length `x`.")


def kaiser(x, beta):
    """The Kaiser window of length `x` with shape parameter `beta`."""
    if is_symbolic(x):
        raise TypeError(f"kaiser: the window length must be a concrete int, got a symbolic tensor {x}.")
    return jnp.kaiser(tensor(x), beta).astype(config.floatx())
