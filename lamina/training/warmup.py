"""Start XLA's one-time CPU matrix-multiply setup early, so it overlaps `fit`'s host-side work.

The first matrix product of a process whose contraction runs over the leading
axis (every backward pass has one: dW = x^T dy) makes XLA's CPU runtime generate
its GEMM kernels: ~30 ms, once. `start()` dispatches a tiny program with such a
product (from the program cache); dispatch is asynchronous, so that setup runs on
XLA's thread while `fit` checks the data and loads its own programs.
"""

import jax
import numpy as np

_started = False


def _transposed_product(a, b):
    return a.T @ b


def start():
    """Dispatch the warm-up once per process (CPU only); never raises."""
    global _started
    if _started:
        return
    _started = True
    try:
        if jax.default_backend() != "cpu":
            return
        from lamina.backend import programs

        program = programs.CachedProgram(
            _transposed_product, lambda signature: programs.key_for("warm-up: transposed matmul", signature))
        program(np.zeros((8, 4), np.float32), np.zeros((8, 4), np.float32))
    except Exception:  # a warm-up is an optimization only
        pass
