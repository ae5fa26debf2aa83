"""Metric base (pure core + Keras's stateful and stateless API), Mean, Sum and MeanMetricWrapper.

A metric's state is its `variables` (Keras 3). lamina's built-in metrics are written as
a pure triple over a dict of arrays, `init_state() -> state`, `update(state, y_true,
y_pred, sample_weight) -> state`, `compute(state) -> value`, which the training engine
compiles into its loop; the Keras API is derived from it:

* stateful: `update_state(...)`, `result()`, `reset_state()` act on `variables`;
* stateless: `stateless_update_state(metric_variables, ...) -> metric_variables`,
  `stateless_result(metric_variables)`, `stateless_reset_state()`, on lists of arrays
  in `variables` order.

A metric written the Keras way (`add_variable` in `__init__`, `update_state` assigning
the variables, `result` reading them) works too: its pure core is derived from
`update_state` by running it in a `StatelessScope`. Rows with sample weight 0 are
absent from every built-in metric.
"""

import jax.numpy as jnp
import numpy as np

from lamina.backend import config, naming, tracking
from lamina.backend import registry as serialization
from lamina.backend.scope import StatelessScope
from lamina.backend.variables import Variable
from lamina.losses import squeeze_or_expand_to_same_rank

to_snake_case = naming.to_snake_case


def divide_no_nan(a, b):
    """a / b with 0 where b == 0."""
    safe = jnp.where(b == 0, 1.0, b)
    return jnp.where(b == 0, 0.0, a / safe)


def _overrides(obj, name):
    return getattr(type(obj), name) is not getattr(Metric, name)


class Metric(tracking.Trackable):
    """Base metric.

    Built-in metrics implement `init_state`, `update`, `compute` (pure, on a dict of arrays);
    Keras-style subclasses implement `update_state` / `result` over `add_variable` variables.
    Metrics whose state size depends on the data (e.g. `F1Score`, `R2Score`) need
    `build(y_true_shape, y_pred_shape)` first; `update_state` builds on first use.
    """

    _tracking_kind = "metric"
    _untracked = frozenset({"_variables", "_added"})
    #: "up" or "down": which way is better, for monitor callbacks in mode="auto" (None: unknown), as in Keras.
    _direction = None

    def __init__(self, name=None, dtype=None):
        self.name = name or naming.auto_name(type(self).__name__)
        self._dtype = config.standardize_dtype(dtype)
        self._variables = None  # derived from init_state() on first use
        self._added = []  # created by add_variable (Keras-style metrics)

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

    # -- variables -------------------------------------------------------------------
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """Create a state variable (Keras-style metrics call this in `__init__`)."""
        variable = Variable(initializer, shape=tuple(shape), dtype=dtype or self._dtype, trainable=False,
                            aggregation=aggregation, name=name or f"variable_{len(self._added)}")
        variable.path = f"{self.name}/{variable.name}"
        variable._initial = variable._value
        self._added.append(variable)
        return variable

    add_weight = add_variable

    @property
    def variables(self):
        """The state variables (Keras order); [] until a shape-dependent metric is built."""
        if self._added or not _overrides(self, "init_state"):
            return list(self._added)
        if self._variables is None:
            if not self.built:
                return []
            state = self.init_state()
            self._state_keys = list(state) if isinstance(state, dict) else None
            self._variables = []
            for key, value in zip(self._state_keys or range(len(state)), _values(state)):
                variable = Variable(value, trainable=False, name=str(key))
                variable.path = f"{self.name}/{key}"
                self._variables.append(variable)
        return list(self._variables)

    def _tracked_variables(self):
        return self.variables

    def _state_values(self, state):
        """The pure core's state -> a list of arrays in `variables` order."""
        return _values(state)

    def _to_state(self, values):
        """A list of arrays in `variables` order -> the pure core's state."""
        keys = getattr(self, "_state_keys", None)
        return dict(zip(keys, values)) if keys is not None else list(values)

    # -- pure core ------------------------------------------------------------------
    def init_state(self):
        """A fresh state (a dict of zero arrays for built-ins; Keras-style metrics: the initial values)."""
        return [v._initial for v in self._added]

    def update(self, state, *args, **kwargs):
        """Return the state after accumulating one batch."""
        if not _overrides(self, "update_state"):
            raise NotImplementedError(f"{type(self).__name__} must implement `update_state` (or `update`).")
        return self._in_scope(state, lambda: type(self).update_state(self, *args, **kwargs))[1]

    def compute(self, state):
        """The metric value from a state."""
        if not _overrides(self, "result"):
            raise NotImplementedError(f"{type(self).__name__} must implement `result` (or `compute`).")
        return self._in_scope(state, lambda: type(self).result(self))[0]

    def _in_scope(self, state, fn):
        variables = self.variables
        with StatelessScope(list(zip(variables, self._state_values(state)))) as scope:
            out = fn()
        new = [scope.get_current_value(v) for v in variables]
        return out, [v._value if n is None else n for v, n in zip(variables, new)]

    # -- stateless API (Keras 3) -----------------------------------------------------
    def _check_count(self, metric_variables):
        if len(metric_variables) != len(self.variables):
            raise ValueError(
                f"Metric '{self.name}': `metric_variables` must hold one value per entry of "
                f"`metric.variables` ({len(self.variables)}); received {len(metric_variables)}."
            )

    def stateless_update_state(self, metric_variables, *args, **kwargs):
        """New values of `variables` after one batch, from their current values (pure)."""
        self._check_count(metric_variables)
        return self._state_values(self.update(self._to_state(list(metric_variables)), *args, **kwargs))

    def stateless_result(self, metric_variables):
        self._check_count(metric_variables)
        return self.compute(self._to_state(list(metric_variables)))

    def stateless_reset_state(self):
        return self._state_values(self.init_state())

    # -- stateful API (Keras 3) --------------------------------------------------------
    def _current(self):
        return self._to_state([v.value for v in self.variables])

    def _assign(self, state):
        for variable, value in zip(self.variables, self._state_values(state)):
            variable.assign(value)

    def _build_from(self, y_true, y_pred):
        if not self.built:
            self.build(jnp.shape(y_true), jnp.shape(y_pred))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate one batch into the variables."""
        self._build_from(y_true, y_pred)
        self._assign(self.update(self._current(), y_true, y_pred, sample_weight))

    def result(self):
        """The metric value over everything accumulated since the last reset."""
        self._require_built()
        return self.compute(self._current())

    def reset_state(self):
        """Back to the initial values."""
        if self.built:
            self._assign(self.init_state())

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


def _values(state):
    """A state (dict in insertion order, or list) -> list of arrays."""
    return list(state.values()) if isinstance(state, dict) else list(state)


def _zeros(shape=(), dtype=None):
    """Zeros made by NumPy: a fresh state costs no device program (metrics are reset every epoch)."""
    return np.zeros(shape, jnp.dtype(dtype or config.floatx()))


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
        self._assign(self.update(self._current(), values, sample_weight))


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
        self._assign(self.update(self._current(), values, sample_weight))


def _fn_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


class MeanMetricWrapper(Mean):
    """Mean of `fn(y_true, y_pred, **kwargs) -> [b, ...]` over all samples seen."""

    _direction = "down"

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

    def _exact_config(self):
        """The config plus the function's arguments Keras's config may leave out (for program keys)."""
        return {**self.get_config(), "fn_kwargs": dict(self._fn_kwargs)}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        fn = config_.pop("fn")
        if isinstance(fn, (str, dict)):
            try:
                found = serialization.deserialize_keras_object(fn, None, "metric")
            except ValueError:
                found = None
            if isinstance(found, type) and callable(getattr(found, "_fn", None)):
                found = found._fn  # "binary_accuracy" names a function and its Metric class: take the function
            if found is None or isinstance(found, type):  # "mean_squared_error" names a Metric class too
                found = serialization.deserialize_keras_object(fn, None, "loss")
            fn = found
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
