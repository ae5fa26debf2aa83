"""Global numeric settings: default float dtype, fuzz factor, image layout."""


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


def standardize_data_format(data_format):
    """`data_format` checked and lower-cased; None means `image_data_format()`."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format: expected 'channels_last' or 'channels_first', got {data_format!r}")
    return value


ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
    "int64", "bfloat16", "bool", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128",
)
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64", "int": "int32"}


def standardize_dtype(dtype):
    """The dtype's name ("float32"); None means floatx(), Python `int`/`float` mean int32/float32 (as in Keras)."""
    if dtype is None:
        return _FLOATX
    if isinstance(dtype, (type, str)) and dtype in _PYTHON_DTYPES:
        return _PYTHON_DTYPES[dtype]
    import jax.numpy as jnp

    try:
        name = jnp.dtype(dtype).name
    except TypeError:
        name = None
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: expected one of {ALLOWED_DTYPES} or a Python type, got {dtype!r}.")
    return name


def backend():
    """The name of the compute engine, for code that checks `keras.backend.backend()`."""
    return "jax"
