"""F-beta and F1 scores over the whole epoch (counts accumulated, then combined)."""

import jax.numpy as jnp

from lamina.backend import config
from lamina.metrics.base import Metric, _zeros

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """F-beta score for multi-class / multi-label [b, C] inputs.

    Args:
        average: None (per-class array), "micro", "macro" or "weighted".
        beta: weight of recall (float > 0).
        threshold: y_pred > threshold is positive; None marks each row's maximum.
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(f"Invalid `average`: expected one of {_AVERAGES}, got average={average!r}.")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta`: expected a Python float, got {beta!r} ({type(beta).__name__}).")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta`: must be > 0, got {beta}.")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    f"Invalid `threshold`: expected a Python float, got {threshold!r} ({type(threshold).__name__})."
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold`: must satisfy 0 < threshold <= 1, got {threshold}.")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._num_classes = None

    @property
    def built(self):
        return self._num_classes is not None

    def build(self, y_true_shape=None, y_pred_shape=None):
        if y_pred_shape is None or y_true_shape is None or len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs of shape (batch_size, num_classes); got "
                f"y_true.shape={y_true_shape}, y_pred.shape={y_pred_shape}."
            )
        self._num_classes = int(y_pred_shape[-1])

    def init_state(self):
        self._require_built()
        shape = () if self.average == "micro" else (self._num_classes,)
        return {k: _zeros(shape, self.dtype) for k in ("tp", "fp", "fn", "weights")}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        if self.threshold is None:
            row_max = jnp.max(y_pred, axis=-1, keepdims=True)
            pred = (y_pred >= row_max) & (jnp.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.astype(self.dtype)
        w = None if sample_weight is None else jnp.asarray(sample_weight).astype(self.dtype)

        def wsum(v):
            if w is not None:
                v = v * w.reshape(w.shape[:1] + (1,) * (v.ndim - 1)) if w.ndim == 1 else v * w
            return jnp.sum(v, axis=self.axis)

        return {
            "tp": state["tp"] + wsum(pred * y_true),
            "fp": state["fp"] + wsum(pred * (1 - y_true)),
            "fn": state["fn"] + wsum((1 - pred) * y_true),
            "weights": state["weights"] + wsum(y_true),
        }

    def compute(self, state):
        eps = config.epsilon()
        tp, fp, fn = state["tp"], state["fp"], state["fn"]
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta**2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + eps)
        if self.average == "weighted":
            weights = state["weights"] / (jnp.sum(state["weights"]) + eps)
            return jnp.sum(score * weights)
        if self.average is not None:
            return jnp.mean(score)
        return score

    def get_config(self):
        config_ = super().get_config()
        config_.update({"average": self.average, "beta": self.beta, "threshold": self.threshold})
        return config_


class F1Score(FBetaScore):
    """F1 score: harmonic mean of precision and recall (FBetaScore with beta=1)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config_ = super().get_config()
        del config_["beta"]
        return config_
