"""Activation functions with Keras 3 names and signatures, plus `step`.

Every function takes an array `x` of any shape and returns an array of the
same shape (except `glu`, which halves `axis`), computed with `jax.numpy`, so
they work eagerly, under `jax.jit`, `jax.grad` and `jax.vmap`.

`get(identifier)` resolves names, Keras config dicts and callables;
`get("softmax") is softmax` (the engine recognizes softmax and sigmoid outputs
by function identity). `serialize(fn)` gives the Keras 3 form: the bare name
for built-ins, a `{"class_name": "function", ...}` dict for custom functions.
"""

import types
import warnings

import jax
import jax.numpy as jnp

from lamina.backend import config as _config
from lamina.backend import registry as _ser


def _to_array(x):
    x = jnp.asarray(x)
    return x


def _to_float(x):
    """`x` as an array; integer and bool inputs become floatx()."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(_config.floatx())
    return x


# ----- rectifiers --------------------------------------------------------------------


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, optionally leaky, capped and shifted.

    Returns `x` where `x > threshold` (capped at `max_value`), otherwise
    `negative_slope * (x - threshold)`; with the defaults, `max(x, 0)`.
    """
    x = _to_array(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0:
        return jax.nn.relu(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return jax.nn.leaky_relu(x, negative_slope=negative_slope)
    if threshold != 0:
        out = jnp.where(x > jnp.asarray(threshold, x.dtype), x, jnp.zeros_like(x))
    else:
        out = jax.nn.relu(x)
    if max_value is not None:
        out = jnp.clip(out, jnp.asarray(0, x.dtype), jnp.asarray(max_value, x.dtype))
    if negative_slope != 0.0:
        out = out - negative_slope * jax.nn.relu(threshold - x)
    return out


def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, `negative_slope * x` otherwise."""
    return jax.nn.leaky_relu(_to_array(x), negative_slope=negative_slope)


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return jax.nn.relu6(_to_array(x))


def elu(x, alpha=1.0):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise."""
    return jax.nn.elu(_to_float(x), alpha=alpha)


def selu(x):
    """Scaled ELU: `1.0507 * elu(x, alpha=1.67326)` (self-normalizing networks)."""
    return jax.nn.selu(_to_float(x))


def celu(x, alpha=1.0):
    """`max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return jax.nn.celu(_to_float(x), alpha=alpha)


def gelu(x, approximate=False):
    """Gaussian error linear unit `x * Phi(x)`; `approximate=True` uses the tanh form."""
    return jax.nn.gelu(_to_float(x), approximate=approximate)


def silu(x):
    """Sigmoid linear unit (swish): `x * sigmoid(x)`."""
    return jax.nn.silu(_to_float(x))


swish = silu


def hard_sigmoid(x):
    """Piecewise linear sigmoid: `relu6(x + 3) / 6`."""
    return jax.nn.hard_sigmoid(_to_float(x))


def hard_silu(x):
    """`x * hard_sigmoid(x)` (hard swish)."""
    return jax.nn.hard_silu(_to_float(x))


hard_swish = hard_silu


def mish(x):
    """`x * tanh(softplus(x))`."""
    x = _to_float(x)
    return x * jnp.tanh(jax.nn.softplus(x))


def glu(x, axis=-1):
    """Gated linear unit: split `x` in halves `a, b` along `axis`, return `a * sigmoid(b)`.

    The size of `axis` must be even; the output has half that size.
    """
    x = _to_float(x)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(
            f"glu: the size of axis {axis} must be even to split it into two halves; "
            f"got shape {tuple(x.shape)}."
        )
    return jax.nn.glu(x, axis=axis)


# ----- squashing ---------------------------------------------------------------------


def sigmoid(x):
    """Logistic function `1 / (1 + exp(-x))`."""
    return jax.nn.sigmoid(_to_float(x))


def tanh(x):
    """Hyperbolic tangent."""
    return jnp.tanh(_to_float(x))


def tanh_shrink(x):
    """`x - tanh(x)`."""
    x = _to_float(x)
    return x - jnp.tanh(x)


def hard_tanh(x):
    """`clip(x, -1, 1)`."""
    return jax.nn.hard_tanh(_to_float(x))


def softplus(x):
    """`log(1 + exp(x))`, computed stably."""
    return jax.nn.softplus(_to_float(x))


def softsign(x):
    """`x / (1 + |x|)`."""
    return jax.nn.soft_sign(_to_float(x))


def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`, a smooth ReLU."""
    return jax.nn.squareplus(_to_float(x), b=b)


def sparse_plus(x):
    """0 for `x <= -1`, `(x + 1)**2 / 4` for `-1 < x < 1`, `x` for `x >= 1`."""
    return jax.nn.sparse_plus(_to_float(x))


def sparse_sigmoid(x):
    """0 for `x <= -1`, `(x + 1) / 2` for `-1 < x < 1`, 1 for `x >= 1`."""
    return jax.nn.sparse_sigmoid(_to_float(x))


def log_sigmoid(x):
    """`log(sigmoid(x)) = -softplus(-x)`."""
    return jax.nn.log_sigmoid(_to_float(x))


def exponential(x):
    """`exp(x)`."""
    return jnp.exp(_to_float(x))


def linear(x):
    """The identity: returns `x` unchanged."""
    return x


# ----- shrinkage and thresholds ------------------------------------------------------


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    x = _to_float(x)
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""
    x = _to_float(x)
    zero = jnp.zeros_like(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, zero))


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    x = _to_float(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


def step(x):
    """Heaviside step: 1.0 where `x >= 0`, else 0.0 (so `step(0) == 1`).

    Not in Keras; meant for perceptrons trained with the perceptron rule. Its
    gradient is 0 everywhere, so a model trained by backpropagation through
    `step` does not learn. Output dtype: `x`'s float dtype, else floatx().
    """
    x = _to_float(x)
    return jnp.where(x >= 0, jnp.ones_like(x), jnp.zeros_like(x))


# ----- normalizing over an axis -------------------------------------------------------


def _warn_size_one(x, axis, name):
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"{name} over axis {axis} of an input of shape {tuple(x.shape)}: that axis has "
            "size 1, so the output is always 1 (0 for log_softmax). For one output unit use "
            "'sigmoid' instead.",
            stacklevel=3,
        )


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x), axis)`, computed stably; `axis` may be an int or a tuple."""
    x = _to_float(x)
    _warn_size_one(x, axis, "softmax")
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x, axis)`; `axis` may be an int or a tuple."""
    x = _to_float(x)
    return jax.nn.log_softmax(x, axis=axis)


def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`.

    Like softmax the outputs are non-negative and sum to 1, but many are
    exactly 0 (`lamina.ops.sparsemax`).
    """
    from lamina.ops.nn import sparsemax as project

    return project(_to_float(x), axis=axis)


# ----- lookup and serialization ------------------------------------------------------

_BUILTINS = {
    fn.__name__: fn
    for fn in (
        celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_tanh,
        leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid, silu,
        soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid, sparsemax,
        squareplus, tanh, tanh_shrink, threshold, step,
    )
}
ALL_OBJECTS_DICT = dict(_BUILTINS, swish=silu, hard_swish=hard_silu)
_ser.register_builtins("activation", ALL_OBJECTS_DICT)
_NAME_OF = {id(fn): name for name, fn in _BUILTINS.items()}


def serialize(activation):
    """The Keras 3 form of an activation.

    Built-ins give their name (`serialize(swish) == "silu"`); other functions a
    dict `{"module", "class_name": "function", "config": name, "registered_name"}`
    (register them with `register_keras_serializable` to load them back);
    objects with `get_config` (e.g. a layer) their config dict. This is the form
    Keras writes for a function it does not know, and it names the function only by
    its bare name; program keys ask for exact names instead (`registry.exact_names`).
    (Keras itself writes any function whose name matches one of its activations as
    that name, so `jax.nn.gelu`, tanh-approximated, reloads as Keras's exact gelu;
    lamina keeps the dict form for functions that are not its own.)
    """
    if activation is None:
        return None
    name = _NAME_OF.get(id(activation))
    if name is not None:
        return name
    if isinstance(activation, str):
        return serialize(get(activation))
    if hasattr(activation, "get_config") and not isinstance(activation, types.FunctionType):
        return _ser.serialize_keras_object(activation)
    if callable(activation) and hasattr(activation, "__name__"):
        return _ser.serialize_function(activation, {
            "module": "builtins",
            "class_name": "function",
            "config": getattr(activation, "_registered_name", None) or activation.__name__,
            "registered_name": "function",
        })
    raise TypeError(
        f"activations.serialize: cannot serialize {activation!r}; expected an activation "
        "function or an object with get_config()."
    )


def deserialize(config, custom_objects=None):
    """The activation for a name or a Keras config dict (see `serialize`)."""
    table = dict(ALL_OBJECTS_DICT)
    if custom_objects:
        table.update(custom_objects)
    if isinstance(config, str):
        return _ser.lookup("activation", config, table)
    if not isinstance(config, dict):
        raise TypeError(
            f"activations.deserialize: expected a name or a config dict, got {type(config).__name__}."
        )
    if "class_name" not in config:
        raise ValueError(
            f"activations.deserialize: a config dict needs a 'class_name' key; got keys {sorted(config)}."
        )
    if config["class_name"] in ("function", "__function__"):
        name = config.get("config")
        found = table.get(name) or _ser.get_registered_object(name, custom_objects)
        if found is None and isinstance(name, str) and ">" in name:
            found = table.get(name.split(">", 1)[1])
        if found is None:
            raise _ser.unknown_name_error("activation", name, list(table))
        return found
    class_name = config["class_name"]
    obj = _ser.get_registered_object(config.get("registered_name") or class_name, custom_objects)
    if obj is None:
        obj = _ser.get_registered_object(class_name, custom_objects)
    if obj is None:
        obj = _layer_class(class_name)
    if obj is None:
        raise _ser.unknown_name_error("activation", class_name, list(table))
    inner = config.get("config") or {}
    return obj.from_config(inner) if hasattr(obj, "from_config") else obj(**inner)


def _layer_class(class_name):
    """An activation layer class (e.g. `LeakyReLU`), registered by `lamina.layers`, if it exists."""
    return _ser.builtins("layer").get(class_name)


def get(identifier):
    """Resolve an activation.

    None gives `linear`; a name (`"relu"`, `"swish"`) or a Keras config dict
    gives the function (`get("softmax") is softmax`); a callable is returned
    unchanged. Unknown names raise ValueError naming the closest valid one.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"activation: expected a name such as 'relu', a callable or a config dict, "
        f"got {identifier!r} of type {type(identifier).__name__}."
    )


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
