"""Global numeric settings: default float dtype, fuzz factor, image layout."""

import jax.numpy as jnp

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_VALID_FLOATX = ("float16", "bfloat16", "float32", "float64")


def floatx():
    """The default float dtype name for new weights and inputs ("float32")."""
    return _FLOATX


def set_floatx(value):
    """Set the default float dtype ("float16", "bfloat16", "float32", "float64")."""
    global _FLOATX
    if value not in _VALID_FLOATX:
        raise ValueError(f"set_floatx: expected one of {_VALID_FLOATX}, got {value!r}")
    _FLOATX = value


def epsilon():
    """The fuzz factor added to denominators (1e-7, as in Keras)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value):
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"set_image_data_format: expected 'channels_last' or 'channels_first', got {value!r}"
        )
    _IMAGE_DATA_FORMAT = value


def standardize_dtype(dtype):
    """Return a dtype name; None means floatx()."""
    if dtype is None:
        return _FLOATX
    return jnp.dtype(dtype).name


def backend():
    """The name of the compute engine, for code that checks `keras.backend.backend()`."""
    return "jax"
