"""Putting values on a mesh: global arrays from values every process knows, and back to the host.

In one process these are `jax.device_put` and `np.asarray`. In a multi-process job
(`jax.distributed`), an array on a mesh spans devices of other processes; every process
runs the same program on the same global values (the same seed makes the same initial
weights), so each builds its own part of the global array from the value it holds.
"""

import jax
import numpy as np

from lamina.backend.variables import host_array  # noqa: F401  (re-exported: arrays back to the host)


def multi_process():
    return jax.process_count() > 1


def global_array(value, sharding):
    """`value` (NumPy, a scalar or a jax.Array; the same global value in every process) laid out by `sharding`."""
    if isinstance(value, jax.Array):
        if value.sharding == sharding or value.sharding.is_equivalent_to(sharding, value.ndim):
            return value
        if not value.is_fully_addressable:  # already global: relaid out by XLA (every process runs this)
            return jax.jit(lambda v: v, out_shardings=sharding)(value)
    if not multi_process():
        return jax.device_put(value, sharding)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
