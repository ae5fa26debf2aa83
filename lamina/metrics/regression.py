"""Regression metrics: MSE, MAE, MAPE, MSLE, RMSE, log-cosh, cosine similarity, R^2."""

import warnings

import jax
import jax.numpy as jnp

from lamina import losses
from lamina.losses import squeeze_or_expand_to_same_rank
from lamina.metrics.base import Mean, Metric, _KerasMeanMetric, _zeros


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis` (1 = same direction)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class MeanSquaredError(_KerasMeanMetric):
    """Mean of (y_true - y_pred)^2."""

    _fn = staticmethod(losses.mean_squared_error)

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name, dtype)


class MeanAbsoluteError(_KerasMeanMetric):
    """Mean of |y_true - y_pred|."""

    _fn = staticmethod(losses.mean_absolute_error)

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name, dtype)


class MeanAbsolutePercentageError(_KerasMeanMetric):
    """Mean of 100 * |y_true - y_pred| / |y_true|."""

    _fn = staticmethod(losses.mean_absolute_percentage_error)

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name, dtype)


class MeanSquaredLogarithmicError(_KerasMeanMetric):
    """Mean of (log(1 + y_true) - log(1 + y_pred))^2."""

    _fn = staticmethod(losses.mean_squared_logarithmic_error)

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name, dtype)


class LogCoshError(_KerasMeanMetric):
    """Mean of log(cosh(y_pred - y_true))."""

    _fn = staticmethod(losses.log_cosh)

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name, dtype)


class CosineSimilarity(_KerasMeanMetric):
    """Mean cosine similarity between y_true and y_pred along `axis`."""

    _direction = "up"

    _fn = staticmethod(cosine_similarity)

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name, dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """sqrt of the mean of (y_true - y_pred)^2 over all entries seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return Mean.update(self, state, jnp.square(y_pred - y_true), sample_weight)

    def compute(self, state):
        return jnp.sqrt(Mean.compute(self, state))

    def update_state(self, y_true, y_pred, sample_weight=None):
        Metric.update_state(self, y_true, y_pred, sample_weight)


class R2Score(Metric):
    """Coefficient of determination per output column, aggregated by `class_aggregation`.

    Inputs [b, d]. class_aggregation: "uniform_average" (mean over columns),
    "variance_weighted_average", or None (per-column array). `num_regressors` > 0
    gives the adjusted R^2.
    """

    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                f"Invalid `class_aggregation`: expected one of {valid}, got {class_aggregation!r}."
            )
        if num_regressors < 0:
            raise ValueError(f"Invalid `num_regressors`: expected >= 0, got {num_regressors}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._num_outputs = None

    @property
    def built(self):
        return self._num_outputs is not None

    def build(self, y_true_shape=None, y_pred_shape=None):
        y_true_shape, y_pred_shape = _aligned_shapes(y_true_shape, y_pred_shape)
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2 or y_pred_shape[-1] is None:
            raise ValueError(
                "R2Score expects 2D inputs of shape (batch_size, output_dim); got "
                f"y_true.shape={tuple(y_true_shape)}, y_pred.shape={tuple(y_pred_shape)}."
            )
        self._num_outputs = int(y_pred_shape[-1])

    def init_state(self):
        self._require_built()
        d = (self._num_outputs,)
        return {
            "sum": _zeros(d, self.dtype),
            "squared_sum": _zeros(d, self.dtype),
            "residual": _zeros(d, self.dtype),
            "count": _zeros(d, self.dtype),
            "num_samples": _zeros((), self.dtype),
        }

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if sample_weight is None:
            w = jnp.ones_like(y_true)
        else:
            w = jnp.asarray(sample_weight).astype(self.dtype)
            if w.ndim == 1:
                w = w[:, None]
            w = jnp.broadcast_to(w, y_true.shape)
        wy = y_true * w
        return {
            "sum": state["sum"] + jnp.sum(wy, axis=0),
            "squared_sum": state["squared_sum"] + jnp.sum(y_true * wy, axis=0),
            "residual": state["residual"] + jnp.sum(jnp.square(y_true - y_pred) * w, axis=0),
            "count": state["count"] + jnp.sum(w, axis=0),
            # Entries of rows with weight 0 (padding) are not samples.
            "num_samples": state["num_samples"] + jnp.sum(w != 0).astype(self.dtype),
        }

    def compute(self, state):
        mean = state["sum"] / state["count"]
        total = state["squared_sum"] - state["sum"] * mean
        raw = 1.0 - state["residual"] / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        n = state["num_samples"]
        p = float(self.num_regressors)
        if not isinstance(n, jax.core.Tracer):
            if p > float(n) - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. "
                    "Falling back to standard R2 score.",
                    stacklevel=2,
                )
            elif p == float(n) - 1:
                warnings.warn(
                    "Division by zero in adjusted R2 score. Falling back to standard R2 score.",
                    stacklevel=2,
                )
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / jnp.where(n - p - 1.0 > 0, n - p - 1.0, 1.0)
        return jnp.where(p < n - 1.0, adjusted, score)

    def get_config(self):
        config_ = super().get_config()
        config_.update({"class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors})
        return config_


def _aligned_shapes(y_true_shape, y_pred_shape):
    """Shapes after the Keras rank alignment ([b] vs [b, 1] -> both [b, 1])."""
    t, p = tuple(y_true_shape), tuple(y_pred_shape)
    if len(t) == len(p) + 1 and t[-1] == 1:
        p = p + (1,) if len(p) == 1 else p
        t = t if len(p) == len(t) else t[:-1]
    elif len(p) == len(t) + 1 and p[-1] == 1:
        t = t + (1,) if len(t) == 1 else t
        p = p if len(p) == len(t) else p[:-1]
    return t, p
