"""Reductions and statistics of the NumPy family: `sum`, `mean`, `argmax`, `quantile`, `cumsum`, ...

`axis` may be an int, a tuple or a list. `mean` and `var` of integers give floats computed in at least
float32 (half-precision inputs are summed in float32 and cast back), as in Keras.
"""

import builtins

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op, make_op

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "bincount", "corrcoef", "count_nonzero",
    "cumprod", "cumsum", "diff", "histogram", "max", "mean", "median", "min", "nanargmax", "nanargmin",
    "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "percentile", "prod", "ptp", "quantile", "std", "sum",
    "trapezoid", "var",
]


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduction(name, fn, doc):
    def op(x, axis=None, keepdims=False):
        return fn(tensor(x), axis=_axis(axis), keepdims=keepdims)

    return make_op(op, name, doc, __name__)


sum = _reduction("sum", jnp.sum, "Sum over `axis` (all axes when None).")
all = _reduction("all", jnp.all, "Whether every element over `axis` is true.")
any = _reduction("any", jnp.any, "Whether any element over `axis` is true.")
amax = _reduction("amax", jnp.amax, "Maximum over `axis`.")
amin = _reduction("amin", jnp.amin, "Minimum over `axis`.")
ptp = _reduction("ptp", jnp.ptp, "Range (max - min) over `axis`.")
nansum = _reduction("nansum", jnp.nansum, "Sum over `axis`, NaN counted as zero.")
nanprod = _reduction("nanprod", jnp.nanprod, "Product over `axis`, NaN counted as one.")
nanmax = _reduction("nanmax", jnp.nanmax, "Maximum over `axis`, ignoring NaN.")
nanmin = _reduction("nanmin", jnp.nanmin, "Minimum over `axis`, ignoring NaN.")
nanmean = _reduction("nanmean", jnp.nanmean, "Mean over `axis`, ignoring NaN.")
nanmedian = _reduction("nanmedian", jnp.nanmedian, "Median over `axis`, ignoring NaN.")
nanstd = _reduction("nanstd", jnp.nanstd, "Standard deviation over `axis`, ignoring NaN.")
nanvar = _reduction("nanvar", jnp.nanvar, "Variance over `axis`, ignoring NaN.")
nanargmax = _reduction("nanargmax", jnp.nanargmax, "Index of the maximum along `axis`, ignoring NaN.")
nanargmin = _reduction("nanargmin", jnp.nanargmin, "Index of the minimum along `axis`, ignoring NaN.")


@keras_op
def max(x, axis=None, keepdims=False, initial=None):
    """Maximum over `axis`; `initial` is a lower bound included in the reduction."""
    return jnp.max(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@keras_op
def min(x, axis=None, keepdims=False, initial=None):
    """Minimum over `axis`; `initial` is an upper bound included in the reduction."""
    return jnp.min(tensor(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


@keras_op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis`, accumulated in `dtype` when given."""
    dtype = None if dtype is None else _dtypes.standardize_dtype(dtype)
    return jnp.prod(tensor(x), axis=_axis(axis), keepdims=keepdims, dtype=dtype)


@keras_op
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis` (integers and bools give float32)."""
    x = tensor(x)
    compute = _dtypes.result_type(x.dtype, "float32")
    name = _dtypes.standardize_dtype(x.dtype)
    result = compute if "int" in name or name == "bool" else name
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=compute).astype(result)


@keras_op
def var(x, axis=None, keepdims=False):
    """Population variance over `axis` (computed in at least float32)."""
    x = tensor(x)
    compute = _dtypes.result_type(x.dtype, "float32")
    out = jnp.var(x, axis=_axis(axis), keepdims=keepdims, dtype=compute)
    return out.astype(_dtypes.result_type(x.dtype, float))


@keras_op
def std(x, axis=None, keepdims=False):
    """Population standard deviation over `axis`."""
    return jnp.std(tensor(x), axis=_axis(axis), keepdims=keepdims)


@keras_op
def median(x, axis=None, keepdims=False):
    """Median over `axis`."""
    x = tensor(x)
    out = jnp.median(x, axis=_axis(axis), keepdims=keepdims)
    if keepdims and axis is None:
        out = jnp.reshape(out, (1,) * x.ndim)
    return out


def _quantile(name, fn, doc):
    def op(x, q, axis=None, method="linear", keepdims=False):
        x, q = tensor(x), tensor(q)
        out = fn(x, q, axis=_axis(axis), method=method, keepdims=keepdims)
        if keepdims and axis is None and out.ndim < x.ndim + q.ndim:
            out = jnp.reshape(out, q.shape + (1,) * x.ndim)
        return out

    return make_op(op, name, doc, __name__)


quantile = _quantile("quantile", jnp.quantile, "The `q`-th quantiles (q in [0, 1]) over `axis`.")
percentile = _quantile("percentile", jnp.percentile, "The `q`-th percentiles (q in [0, 100]) over `axis`.")
nanquantile = _quantile("nanquantile", jnp.nanquantile, "`quantile`, ignoring NaN.")
nanpercentile = _quantile("nanpercentile", jnp.nanpercentile, "`percentile`, ignoring NaN.")


def _arg_extreme(name, fn, doc):
    def op(x, axis=None, keepdims=False):
        x = tensor(x)
        if jnp.issubdtype(x.dtype, jnp.floating) and x.ndim and jax.default_backend() == "cpu":
            # XLA on CPU flushes denormals, so -0.0 and tiny values tie with 0; Keras breaks the tie
            # by moving -0.0 just below zero, and so does lamina.
            x = x.astype(_dtypes.result_type(x.dtype, "float32"))
            x = jnp.where((x == 0.0) & jnp.signbit(x), -jnp.finfo(x.dtype).tiny, x)
        return fn(x, axis=axis, keepdims=keepdims)

    return make_op(op, name, doc, __name__)


argmax = _arg_extreme("argmax", jnp.argmax, "Index of the maximum along `axis` (of the flattened input when None).")
argmin = _arg_extreme("argmin", jnp.argmin, "Index of the minimum along `axis` (of the flattened input when None).")


def _cumulative(name, fn, doc):
    def op(x, axis=None, dtype=None):
        dtype = None if dtype is None else _dtypes.standardize_dtype(dtype)
        return fn(tensor(x), axis=axis, dtype=dtype)

    return make_op(op, name, doc, __name__)


cumsum = _cumulative("cumsum", jnp.cumsum, "Cumulative sum along `axis` (of the flattened input when None).")
cumprod = _cumulative("cumprod", jnp.cumprod, "Cumulative product along `axis` (flattened when None).")
nancumsum = _cumulative("nancumsum", jnp.nancumsum, "`cumsum`, NaN counted as zero.")
nancumprod = _cumulative("nancumprod", jnp.nancumprod, "`cumprod`, NaN counted as one.")


@keras_op
def count_nonzero(x, axis=None):
    """Number of non-zero elements over `axis` (int32)."""
    return jnp.count_nonzero(tensor(x), axis=_axis(axis)).astype("int32")


@keras_op
def average(x, axis=None, weights=None):
    """Weighted mean over `axis` (plain mean without `weights`), in floats."""
    x = tensor(x)
    kinds = [x.dtype, float]
    if weights is not None:
        weights = tensor(weights)
        kinds.append(weights.dtype)
    dtype = _dtypes.result_type(*kinds)
    return jnp.average(x.astype(dtype), axis=axis, weights=None if weights is None else weights.astype(dtype))


@keras_op
def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis`."""
    return jnp.diff(tensor(a), n=n, axis=axis)


@keras_op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoid rule (sample points `x`, or spacing `dx`)."""
    return jnp.trapezoid(tensor(y), None if x is None else tensor(x), dx=tensor(dx), axis=axis)


@keras_op
def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`."""
    return jnp.corrcoef(tensor(x))


@keras_op
def histogram(x, bins=10, range=None):
    """Counts of the 1-D `x` in `bins` equal bins over `range` (default: its min to max); returns
    `(counts, bin_edges)`."""
    if not isinstance(bins, int) or isinstance(bins, bool):
        raise TypeError(f"histogram: `bins` must be an int, got {bins!r}.")
    if bins < 0:
        raise ValueError(f"histogram: `bins` must be >= 0, got {bins}.")
    if range:
        if not isinstance(range, tuple) or len(range) < 2:
            raise ValueError(f"histogram: `range` must be a tuple (min, max), got {range!r}.")
        if range[1] < range[0]:
            raise ValueError(f"histogram: `range` must have max >= min, got {range!r}.")
    x = tensor(x)
    if x.ndim > 1:
        raise ValueError(f"histogram: `x` must be 1-D, got shape {x.shape}.")
    return jnp.histogram(x, bins=bins, range=range)


@keras_op
def bincount(x, weights=None, minlength=0, sparse=False):
    """Count of each non-negative integer in `x` (1-D, or per row of 2-D), optionally weighted.

    The output length depends on the values, so this runs eagerly (not under `jit`). lamina's ops are
    dense: `sparse=True` is refused.
    """
    if sparse:
        raise ValueError("bincount: `sparse=True` is not supported; lamina's ops return dense arrays.")
    x = tensor(x)
    if x.ndim == 2:
        length = builtins.max(int(jnp.max(x)) + 1 if x.size else 0, minlength)
        rows = [jnp.bincount(row, weights=None if weights is None else tensor(weights)[i], length=length)
                for i, row in enumerate(x)]
        return jnp.stack(rows)
    return jnp.bincount(x, weights=None if weights is None else tensor(weights), minlength=minlength)

