"""`keras.ops.linalg`: decompositions, solvers, norms and `jvp`, on `jax.numpy.linalg` / `jax.scipy.linalg`.

Matrix arguments have rank >= 2; leading axes are batch axes.
"""

import jax
import jax.numpy as jnp
import jax.scipy as jsp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank",
    "norm", "pinv", "qr", "solve", "solve_triangular", "svd",
]


def _matrix(x, op, square=False):
    x = tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected a matrix (rank >= 2), got shape {x.shape}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices, got shape {x.shape}.")
    return x


def _system(a, b, op):
    a = _matrix(a, op, square=True)
    b = tensor(b)
    if b.ndim < 1:
        raise ValueError(f"{op}: `b` must have rank >= 1, got a scalar.")
    if b.ndim == a.ndim and a.shape[-2] != b.shape[-2]:
        raise ValueError(f"{op}: need a.shape[-2] == b.shape[-2], got a {a.shape} and b {b.shape}.")
    if b.ndim == a.ndim - 1 and a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{op}: need a.shape[-1] == b.shape[-1], got a {a.shape} and b {b.shape}.")
    return a, b


@keras_op
def cholesky(x, upper=False):
    """The Cholesky factor of the positive-definite `x`: lower `L` with `L @ L^H = x` (or upper)."""
    out = jnp.linalg.cholesky(_matrix(x, "cholesky", square=True), upper=upper)
    if not isinstance(out, jax.core.Tracer) and bool(jnp.any(jnp.isnan(out))):
        raise ValueError("cholesky: the decomposition failed; the input is not a positive-definite matrix.")
    return out


@keras_op
def cholesky_inverse(x, upper=False):
    """The inverse of `A` from its Cholesky factor `x` (lower, or upper when `upper`)."""
    x = _matrix(x, "cholesky_inverse", square=True)
    inv_factor = jsp.linalg.solve_triangular(x, jnp.eye(x.shape[-1], dtype=x.dtype), lower=not upper)
    return inv_factor @ jnp.swapaxes(inv_factor, -1, -2) if upper else jnp.swapaxes(inv_factor, -1, -2) @ inv_factor


@keras_op
def det(x):
    """Determinants of the square matrices in `x`."""
    return jnp.linalg.det(_matrix(x, "det", square=True))


@keras_op
def eig(x):
    """`(eigenvalues, eigenvectors)` of the square matrices in `x` (complex in general; CPU only on JAX)."""
    return jnp.linalg.eig(_matrix(x, "eig", square=True))


@keras_op
def eigh(x):
    """`(eigenvalues, eigenvectors)` of the symmetric/Hermitian matrices in `x` (ascending eigenvalues)."""
    return jnp.linalg.eigh(_matrix(x, "eigh", square=True))


@keras_op
def inv(x):
    """Inverses of the square matrices in `x`."""
    return jnp.linalg.inv(_matrix(x, "inv", square=True))


@keras_op
def lu_factor(x):
    """`(lu, pivots)`: the packed LU factorization with partial pivoting (as `scipy.linalg.lu_factor`)."""
    x = _matrix(x, "lu_factor")
    factor = jsp.linalg.lu_factor
    for _ in range(x.ndim - 2):
        factor = jax.vmap(factor)
    return factor(x)


@keras_op
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (`ord`: None/2-norm, "fro", "nuc", inf, -inf, or a number), in floats."""
    x = tensor(x)
    if isinstance(ord, str) and ord not in ("fro", "nuc"):
        raise ValueError(f"norm: a string `ord` must be 'fro' or 'nuc', got {ord!r}.")
    x = x.astype(_dtypes.result_type(x.dtype, float))
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@keras_op
def qr(x, mode="reduced"):
    """`(q, r)` with `q @ r = x`; `mode` "reduced" (q is M x K) or "complete" (q is M x M)."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: `mode` must be 'reduced' or 'complete', got {mode!r}.")
    return jnp.linalg.qr(_matrix(x, "qr"), mode=mode)


@keras_op
def solve(a, b):
    """`x` with `a @ x = b` for square `a`."""
    return jnp.linalg.solve(*_system(a, b, "solve"))


@keras_op
def solve_triangular(a, b, lower=False):
    """`x` with `a @ x = b` for triangular `a` (upper unless `lower`)."""
    a, b = _system(a, b, "solve_triangular")
    return jsp.linalg.solve_triangular(a, b, lower=lower)


@keras_op
def svd(x, full_matrices=True, compute_uv=True):
    """`(u, s, vh)` with `u @ diag(s) @ vh = x` (only `s` when not `compute_uv`)."""
    return jnp.linalg.svd(_matrix(x, "svd"), full_matrices=full_matrices, compute_uv=compute_uv)


@keras_op
def lstsq(a, b, rcond=None):
    """The least-squares solution `x` minimizing `|a @ x - b|`."""
    a, b = tensor(a), tensor(b)
    if a.ndim != 2:
        raise ValueError(f"lstsq: `a` must be 2-D, got shape {a.shape}.")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq: `b` must be 1-D or 2-D with {a.shape[0]} rows, got shape {b.shape}.")
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


@keras_op
def matrix_rank(x, tol=None):
    """Ranks of the matrices in `x` (singular values above `tol`), as int32."""
    return jnp.linalg.matrix_rank(_matrix(x, "matrix_rank"), tol=tol).astype("int32")


@keras_op
def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverses of the matrices in `x`."""
    return jnp.linalg.pinv(_matrix(x, "pinv"), rcond=rcond)


def jvp(fun, primals, tangents, has_aux=False):
    """`(fun(*primals), J @ tangents)`, the forward-mode derivative (plus `aux` when `has_aux`)."""
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
