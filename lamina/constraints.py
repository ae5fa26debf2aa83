"""Weight constraints: pure functions `w -> w` the engine applies after each update.

Norms are taken over `axis` (an int or a tuple) with `keepdims`, so for a
Dense kernel `(in, out)` and the default `axis=0` each output unit's incoming
weight vector is constrained. Formulas follow Keras 3, with the fuzz factor
`epsilon()` added to the norm in the denominator.
"""

import numbers

import jax.numpy as jnp

from lamina.backend import config as _config
from lamina.backend import registry as _ser


def _axis(axis, owner):
    if isinstance(axis, bool):
        raise ValueError(f"{owner}: `axis` must be an int or a tuple of ints, got axis={axis!r}.")
    if isinstance(axis, numbers.Integral):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
    ):
        return tuple(int(a) for a in axis)
    raise ValueError(f"{owner}: `axis` must be an int or a tuple of ints, got axis={axis!r}.")


def _number(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: `{name}` must be a number, got {name}={value!r}.")
    return value


def _norms(w, axis):
    w = jnp.asarray(w)
    if not jnp.issubdtype(w.dtype, jnp.inexact):
        w = w.astype(_config.floatx())
    return w, jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: `__call__(w) -> w` (identity here), `get_config`, `from_config`."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale slices whose L2 norm exceeds `max_value`: `w * clip(n, 0, max) / (eps + n)`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "max_value", "MaxNorm")
        self.axis = axis
        self._axis = _axis(axis, "MaxNorm")

    def __call__(self, w):
        w, norms = _norms(w, self._axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative entries set to 0: `maximum(w, 0)`."""

    def __call__(self, w):
        return jnp.maximum(jnp.asarray(w), 0)


class UnitNorm(Constraint):
    """Each slice divided by its L2 norm: `w / (eps + n)`."""

    def __init__(self, axis=0):
        self.axis = axis
        self._axis = _axis(axis, "UnitNorm")

    def __call__(self, w):
        w, norms = _norms(w, self._axis)
        return w / (_config.epsilon() + norms)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Pull slice norms into `[min_value, max_value]` at speed `rate`.

    `w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)`; `rate=1`
    enforces the bounds at once, smaller rates move part of the way per step.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(min_value, "min_value", "MinMaxNorm")
        self.max_value = _number(max_value, "max_value", "MinMaxNorm")
        if min_value > max_value:
            raise ValueError(
                f"MinMaxNorm: `min_value` must not exceed `max_value`, got min_value={min_value}, "
                f"max_value={max_value}."
            )
        self.rate = _number(rate, "rate", "MinMaxNorm")
        self.axis = axis
        self._axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w):
        w, norms = _norms(w, self._axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

ALL_OBJECTS_DICT = {
    "Constraint": Constraint, "constraint": Constraint,
    "MaxNorm": MaxNorm, "max_norm": MaxNorm, "maxnorm": MaxNorm,
    "NonNeg": NonNeg, "non_neg": NonNeg, "nonneg": NonNeg,
    "UnitNorm": UnitNorm, "unit_norm": UnitNorm, "unitnorm": UnitNorm,
    "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm,
}
_ser.register_builtins("constraint", ALL_OBJECTS_DICT)


def serialize(constraint):
    """Keras dict `{"module", "class_name", "config", "registered_name"}`."""
    return _ser.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """A constraint from a name or a Keras config dict."""
    return _ser.deserialize_instance(config, ALL_OBJECTS_DICT, "constraint", custom_objects)


def get(identifier):
    """Resolve a constraint: None -> None; name ("max_norm") or config dict -> instance;
    class -> instance; callable `w -> w` -> unchanged."""
    return _ser.get_instance(identifier, ALL_OBJECTS_DICT, "constraint", "max_norm")


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
