"""Engine settings: dtypes, epsilon, seeds and random keys, variables."""

from lamina.backend import random
from lamina.backend.config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    standardize_dtype,
)
from lamina.backend.random import set_random_seed
from lamina.backend.variables import StatelessScope, Variable


def clear_session():
    """Reset default layer names (`dense`, `dense_1`, ...) like `keras.backend.clear_session`."""
    from lamina.layers.base import reset_name_counters

    reset_name_counters()


def device_info():
    """The devices JAX computes on, as strings."""
    import jax

    return [str(d) for d in jax.devices()]
