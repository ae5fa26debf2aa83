"""Matrix products of small operands as fused multiply-reduce loops, in programs of small models.

XLA's CPU backend runs every matrix product as a call into a GEMM library (~1 us each however small the
operands), while a multiply-reduce of a few thousand terms is one loop that it fuses with its neighbours.
A small model's training step is made of such products: for the Pima MLP (batch 10, 8-12-8-1) the step
takes 3.4 us with loops against 5.8 us with library calls. The engine traces the programs of models it
compiles with XLA's loop emitters (`training.engine.SMALL_MODEL_WEIGHTS`) inside `small_products()`, and
`Dense` computes `matmul` here: products of at most `MAX_TERMS` multiply-adds of float32/float64 operands
become loops there; anything else stays `jnp.matmul`. The sums are the same up to float rounding.
A population's programs (`tuners.Population`) keep `dot_general`: `backend.lanes` makes the small ones loops
over the members, laid out for that.
"""

import contextlib
import functools
import threading

import jax.numpy as jnp
import numpy as np

#: Products with at most this many multiply-adds (rows x inputs x outputs) run as loops. Measured on a 2-core
#: EPYC with MLPs of 8 inputs: 8-30% faster steps up to 2,048 terms; from 4,096 on the loops ran 2-4x slower.
MAX_TERMS = 2048

_state = threading.local()


@contextlib.contextmanager
def small_products(enabled=True):
    """Within the block (while a program is traced), `matmul` of small operands is a multiply-reduce loop
    (`enabled` False: `dot_general` again, e.g. in a population, where `backend.lanes` lays the loops out)."""
    before = getattr(_state, "on", False)
    _state.on = enabled
    try:
        yield
    finally:
        _state.on = before


def traced_with_small_products(fn):
    """`fn`, traced inside `small_products()`."""

    @functools.wraps(fn)
    def traced(*args):
        with small_products():
            return fn(*args)

    return traced


def matmul(x, w):
    """`x [rows, inputs] @ w [inputs, outputs]` -> [rows, outputs] (any other ranks: `jnp.matmul`)."""
    if (getattr(_state, "on", False) and x.ndim == 2 and w.ndim == 2
            and x.shape[0] * x.shape[1] * w.shape[1] <= MAX_TERMS
            and x.dtype == w.dtype and x.dtype in (np.float32, np.float64)):
        return jnp.sum(x[:, :, None] * w[None, :, :], axis=1)
    return jnp.matmul(x, w)
