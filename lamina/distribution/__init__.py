"""`keras.distribution` on JAX: device meshes, layouts, data and model parallelism, multi-process jobs.

The floor right above `lamina.backend`: meshes and layouts are `jax.sharding` objects, the
current distribution places Variables as they are made (a hook in `backend.variables`),
and the training engine asks it how to lay out the state and split the batches.
"""

from lamina.distribution.mesh import DeviceMesh, LayoutMap, TensorLayout, get_device_count, list_devices
from lamina.distribution.runtime import initialize
from lamina.distribution.strategies import (
    DataParallel,
    Distribution,
    ModelParallel,
    distribute_tensor,
    distribution,
    set_distribution,
)

__all__ = ["DataParallel", "DeviceMesh", "Distribution", "LayoutMap", "ModelParallel", "TensorLayout",
           "distribute_tensor", "distribution", "get_device_count", "initialize", "list_devices",
           "set_distribution"]


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
