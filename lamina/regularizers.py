"""Weight regularizers: penalties `w -> scalar` added to the training loss.

Formulas follow Keras 3 exactly (no factor 1/2 on L2):
`L1: l1 * sum(|w|)`, `L2: l2 * sum(w**2)`, `L1L2: both`.
"""

import math

import jax.numpy as jnp
import numpy as np

from lamina.backend import config as _config
from lamina.backend import registry as _ser


def _factor(value, name, owner):
    """`value` as a float after checking it is a finite, non-negative number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"{owner}: `{name}` must be a non-negative number, got {name}={value!r} "
            f"({type(value).__name__})."
        )
    value = float(value)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"{owner}: `{name}` must be a finite non-negative number, got {name}={value}.")
    return value


def _as_float_array(x):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(_config.floatx())
    return x


class Regularizer:
    """Base class: `__call__(w) -> scalar` penalty, `get_config()`, `from_config()`."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config() to be saved.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """`l1 * sum(|w|) + l2 * sum(w**2)`; both default to 0 (None also means 0)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1", "L1L2")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2", "L1L2")

    def __call__(self, x):
        x = _as_float_array(x)
        total = jnp.zeros((), x.dtype)
        if self.l1:
            total = total + jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2:
            total = total + jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))
        return total

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(|w|)` (default l1=0.01)."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1", "L1")

    def __call__(self, x):
        x = _as_float_array(x)
        return jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(w**2)` (default l2=0.01; no factor 1/2)."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x):
        x = _as_float_array(x)
        return jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (mode="rows") or columns ("columns") of a 2-D weight.

    The vectors are L2-normalized; the penalty is
    `factor * 0.5 * sum(|off-diagonal dot products|) / (n * (n - 1) / 2)`
    for `n` vectors.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor", "OrthogonalRegularizer")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: `mode` must be 'rows' or 'columns', got mode={mode!r}.")
        self.mode = mode

    def __call__(self, x):
        x = _as_float_array(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer: the weight must have rank 2, got shape {tuple(x.shape)}.")
        vectors = x if self.mode == "rows" else x.T
        sq = jnp.sum(jnp.square(vectors), axis=1, keepdims=True)
        inv_norm = jnp.minimum(1.0 / jnp.sqrt(sq), 1.0 / _config.epsilon())
        unit = vectors * inv_norm
        n = unit.shape[0]
        gram = unit @ unit.T
        off_diagonal = gram * (1.0 - jnp.eye(n, dtype=x.dtype))
        pairs = n * (n - 1.0) / 2.0
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = {
    "Regularizer": Regularizer, "regularizer": Regularizer,
    "L1": L1, "l1": L1, "L2": L2, "l2": L2,
    "L1L2": L1L2, "l1l2": L1L2, "l1_l2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer, "orthogonal_regularizer": OrthogonalRegularizer,
}
_ser.register_builtins("regularizer", ALL_OBJECTS_DICT)


def serialize(regularizer):
    """Keras dict `{"module", "class_name", "config", "registered_name"}`."""
    return _ser.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """A regularizer from a name or a Keras config dict."""
    return _ser.deserialize_instance(config, ALL_OBJECTS_DICT, "regularizer", custom_objects)


def get(identifier):
    """Resolve a regularizer: None -> None; name ("l2") or config dict -> instance with
    defaults; class -> instance; callable `w -> scalar` -> unchanged."""
    return _ser.get_instance(identifier, ALL_OBJECTS_DICT, "regularizer", "l2")


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
