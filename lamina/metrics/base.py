"""Metric base (pure state + stateful facade), Mean, Sum and MeanMetricWrapper.

A metric is a pure triple over a pytree of arrays:
`init_state() -> state`, `update(state, y_true, y_pred, sample_weight) -> state`,
`compute(state) -> value`; the training engine runs these inside `jax.jit`.
`update_state` / `result` / `reset_state` keep a state on the object for
standalone Keras-style use. Rows with sample weight 0 are absent from every metric.
"""

import collections
import re

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.losses import squeeze_or_expand_to_same_rank
from lamina.saving import serialization

_NAME_UIDS = collections.defaultdict(int)


def to_snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name):
    """Keras-style default name: snake_case, then `_1`, `_2`, ... for later instances."""
    base = to_snake_case(class_name)
    uid = _NAME_UIDS[base]
    _NAME_UIDS[base] += 1
    return base if uid == 0 else f"{base}_{uid}"


def reset_name_counters():
    """Forget default-name counters (call from `clear_session`)."""
    _NAME_UIDS.clear()


def divide_no_nan(a, b):
    """a / b with 0 where b == 0."""
    safe = jnp.where(b == 0, 1.0, b)
    return jnp.where(b == 0, 0.0, a / safe)


class Metric:
    """Base metric.

    Subclasses implement `init_state`, `update`, `compute`. Metrics whose state size
    depends on the data (e.g. `F1Score`, `R2Score`) need `build(y_true_shape,
    y_pred_shape)` before `init_state()`; `update_state` builds on first use.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or auto_name(type(self).__name__)
        self._dtype = config.standardize_dtype(dtype)
        self._state = None

    @property
    def dtype(self):
        return self._dtype

    # -- shape-dependent state -------------------------------------------------------
    @property
    def built(self):
        return True

    def build(self, y_true_shape=None, y_pred_shape=None):
        """Fix data-dependent state shapes; a no-op for most metrics."""

    def _require_built(self):
        if not self.built:
            raise ValueError(
                f"Metric '{self.name}' ({type(self).__name__}) needs the data shapes before "
                "init_state(): call build(y_true_shape, y_pred_shape) or update_state() first."
            )

    # -- pure core ------------------------------------------------------------------
    def init_state(self):
        """A pytree of zero arrays holding this metric's accumulators."""
        raise NotImplementedError

    def update(self, state, y_true, y_pred, sample_weight=None):
        """Return the state after accumulating one batch."""
        raise NotImplementedError

    def compute(self, state):
        """The metric value from an accumulated state."""
        raise NotImplementedError

    # -- stateful facade ------------------------------------------------------------
    @property
    def state(self):
        if self._state is None and self.built:
            self._state = self.init_state()
        return self._state

    @state.setter
    def state(self, value):
        self._state = value

    @property
    def variables(self):
        """The accumulator arrays (flattened state)."""
        return jax.tree_util.tree_leaves(self.state) if self.state is not None else []

    def _build_from(self, y_true, y_pred):
        if not self.built:
            self.build(jnp.shape(y_true), jnp.shape(y_pred))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate one batch into the stored state."""
        self._build_from(y_true, y_pred)
        self._state = self.update(self.state, y_true, y_pred, sample_weight)

    def result(self):
        """The metric value over everything accumulated since the last reset."""
        if self.state is None:
            self._require_built()
        return self.compute(self.state)

    def reset_state(self):
        """Zero the accumulators."""
        self._state = self.init_state() if self.built else None

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _zeros(shape=(), dtype=None):
    return jnp.zeros(shape, dtype or config.floatx())


def reduce_to_samplewise(values, sample_weight, reduce_fn, dtype):
    """Weight values and reduce them to one value per sample (Keras's rule).

    Returns (values [b] (or scalar), weights reduced to [b] or None).
    """
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Weighted sum of values. update(state, values, sample_weight=None)."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def init_state(self):
        return {"total": _zeros((), self.dtype)}

    def update(self, state, values, sample_weight=None):
        values, _ = reduce_to_samplewise(values, sample_weight, jnp.sum, self.dtype)
        return {"total": state["total"] + jnp.sum(values)}

    def compute(self, state):
        return state["total"]

    def update_state(self, values, sample_weight=None):
        self._state = self.update(self.state, values, sample_weight)


class Mean(Metric):
    """Weighted mean: sum(values * w) / sum(w) over everything seen.

    update(state, values [b, ...], sample_weight [b] or None).
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def init_state(self):
        return {"total": _zeros((), self.dtype), "count": _zeros((), self.dtype)}

    def update(self, state, values, sample_weight=None):
        values, sample_weight = reduce_to_samplewise(values, sample_weight, jnp.mean, self.dtype)
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim >= 1 else 1
        return {
            "total": state["total"] + jnp.sum(values),
            "count": state["count"] + jnp.asarray(count, self.dtype),
        }

    def compute(self, state):
        return divide_no_nan(state["total"], state["count"])

    def update_state(self, values, sample_weight=None):
        self._state = self.update(self.state, values, sample_weight)


def _fn_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


class MeanMetricWrapper(Mean):
    """Mean of `fn(y_true, y_pred, **kwargs) -> [b, ...]` over all samples seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or to_snake_case(_fn_name(fn)), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def _values(self, y_true, y_pred, sample_weight):
        """(per-sample values, element mask or None)."""
        return self._fn(y_true, y_pred, **self._fn_kwargs), None

    def update(self, state, y_true, y_pred, sample_weight=None):
        values, elem_mask = self._values(jnp.asarray(y_true), jnp.asarray(y_pred), sample_weight)
        if elem_mask is not None:
            elem_mask = elem_mask.astype(self.dtype)
            if sample_weight is None:
                sample_weight = elem_mask
            else:
                sw = jnp.asarray(sample_weight).astype(self.dtype)
                sw = sw.reshape(sw.shape + (1,) * (elem_mask.ndim - sw.ndim))
                sample_weight = sw * elem_mask
        return Mean.update(self, state, values, sample_weight)

    def update_state(self, y_true, y_pred, sample_weight=None):
        Metric.update_state(self, y_true, y_pred, sample_weight)

    def get_config(self):
        config_ = super().get_config()
        config_["fn"] = serialization.serialize_keras_object(self._fn)
        config_.update(self._fn_kwargs)
        return config_

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        fn = config_.pop("fn")
        if isinstance(fn, (str, dict)):
            from lamina import losses

            from lamina.metrics import deserialize

            try:
                fn = deserialize(fn)
            except ValueError:
                fn = losses.deserialize(fn)
        return cls(fn, **config_)


class _KerasMeanMetric(MeanMetricWrapper):
    """A built-in mean metric: subclasses set `_fn` and `_arg_names` (config keys)."""

    _arg_names = ()

    def __init__(self, name, dtype, **kwargs):
        super().__init__(type(self)._fn, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_config(self):
        config_ = Metric.get_config(self)
        config_.update({k: self._fn_kwargs[k] for k in self._arg_names})
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)
