"""Products and matrix structure of the NumPy family: `matmul`, `dot`, `einsum`, `tensordot`, `diag`,
`tril`, `trace`, ...

int8 x int8 products accumulate in int32 (as in Keras, which lets hardware use integer matmul units).
"""

import jax.numpy as jnp

from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op, make_op

__all__ = [
    "correlate", "cross", "diag", "diagflat", "diagonal", "dot", "einsum", "inner", "kron", "matmul",
    "outer", "slogdet", "tensordot", "trace", "tril", "triu", "vdot",
]


def _pair(name, fn, doc):
    def op(x1, x2):
        return fn(tensor(x1), tensor(x2))

    return make_op(op, name, doc, __name__)


dot = _pair("dot", jnp.dot, "Dot product: matrix product for 2-D inputs, sum over the last/second-last axes.")
inner = _pair("inner", jnp.inner, "Inner product over the last axes of `x1` and `x2`.")
outer = _pair("outer", jnp.outer, "Outer product of the flattened `x1` and `x2`.")
vdot = _pair("vdot", jnp.vdot, "Dot product of the flattened inputs (conjugating `x1`).")
kron = _pair("kron", jnp.kron, "Kronecker product.")


def _int8_pair(*arrays):
    return "int32" if all(a.dtype == jnp.int8 for a in arrays) else None


@keras_op
def matmul(x1, x2):
    """Matrix product, broadcasting over leading batch axes."""
    x1, x2 = tensor(x1), tensor(x2)
    return jnp.matmul(x1, x2, preferred_element_type=_int8_pair(x1, x2))


@keras_op
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over `operands` as described by `subscripts` ("ij,jk->ik")."""
    operands = [tensor(x) for x in operands]
    kwargs["preferred_element_type"] = _int8_pair(*operands)
    return jnp.einsum(subscripts, *operands, **kwargs)


@keras_op
def tensordot(x1, x2, axes=2):
    """Sum of products over `axes` (the last `axes` of `x1` with the first of `x2`, or explicit pairs)."""
    return jnp.tensordot(tensor(x1), tensor(x2), axes=axes)


@keras_op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors) along the given axes."""
    return jnp.cross(tensor(x1), tensor(x2), axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@keras_op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (`mode`: "valid", "same" or "full")."""
    return jnp.correlate(tensor(x1), tensor(x2), mode)


@keras_op
def diag(x, k=0):
    """The `k`-th diagonal of a 2-D `x`, or a 2-D array with the 1-D `x` on its `k`-th diagonal."""
    return jnp.diag(tensor(x), k=k)


@keras_op
def diagflat(x, k=0):
    """A 2-D array with the flattened `x` on its `k`-th diagonal."""
    return jnp.diagflat(tensor(x), k=k)


@keras_op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal at `offset` of the 2-D sub-arrays spanned by `axis1` and `axis2`."""
    x = tensor(x)
    if axis1 % x.ndim == axis2 % x.ndim:
        raise ValueError(f"diagonal: `axis1` and `axis2` must differ, got axis1={axis1}, axis2={axis2}.")
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


@keras_op
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the diagonal at `offset` of the sub-arrays spanned by `axis1` and `axis2`."""
    return jnp.trace(tensor(x), offset=offset, axis1=axis1, axis2=axis2)


@keras_op
def tril(x, k=0):
    """`x` with the elements above the `k`-th diagonal zeroed (last two axes)."""
    return jnp.tril(tensor(x), k=k)


@keras_op
def triu(x, k=0):
    """`x` with the elements below the `k`-th diagonal zeroed (last two axes)."""
    return jnp.triu(tensor(x), k=k)


@keras_op
def slogdet(x):
    """`(sign, log|det|)` of the square matrices in `x`."""
    return tuple(jnp.linalg.slogdet(tensor(x)))
