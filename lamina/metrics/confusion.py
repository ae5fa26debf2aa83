"""Threshold-based metrics: TP/TN/FP/FN counts, Precision, Recall, AUC and the
"X at fixed Y" metrics. Thresholds and bucketing follow Keras 3, so values match.

Predictions are scores in [0, 1] ([b] or [b, d]); labels are 0/1 of the same shape.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config
from lamina.losses import squeeze_or_expand_to_same_rank
from lamina.metrics.base import Metric, _zeros, divide_no_nan

NEG_INF = -1e10
_KINDS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds, default):
    """A list of thresholds in [0, 1] (`default` when None)."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]; got {bad}.")
    return [float(t) for t in values]


def evenly_distributed(thresholds):
    """True for >= 3 thresholds at i / (n - 1) (they can then be bucketed in O(n + b))."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def _filter_top_k(x, k):
    """Keep the k largest scores of the last axis; set the rest to NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    keep = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * keep + NEG_INF * (1.0 - keep)


def _reverse_cumsum(x, axis):
    return jnp.flip(jnp.cumsum(jnp.flip(x, axis), axis=axis), axis)


def confusion_counts(
    y_true,
    y_pred,
    thresholds,
    kinds=_KINDS,
    evenly=False,
    top_k=None,
    class_id=None,
    sample_weight=None,
    multi_label=False,
    label_weights=None,
    dtype="float32",
):
    """Weighted TP/FP/TN/FN counts of one batch for each threshold.

    A prediction is positive when score > threshold. Returns {kind: [T] (or [T, d]
    with multi_label)} for each kind requested.
    """
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "When class_id is given, y_pred must have shape (num_samples, num_classes); "
                f"got {tuple(y_pred.shape)}."
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    weights = jnp.ones_like(y_pred)
    if sample_weight is not None:
        weights = weights * jnp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        weights = weights * jnp.broadcast_to(jnp.asarray(label_weights, dtype)[None], y_pred.shape)
    labels = y_true != 0
    n = len(thresholds)
    if evenly:
        with_eps = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        pred = jnp.clip(y_pred, 0.0, 1.0)
        if not multi_label:
            pred, labels, weights = pred.reshape(-1), labels.reshape(-1), weights.reshape(-1)
        true_w = jnp.where(labels, weights, 0.0)
        false_w = jnp.where(labels, 0.0, weights)
        bucket = jnp.ceil(pred * jnp.asarray(n - 1, dtype)) - 1
        if with_eps:
            bucket = jnp.maximum(bucket, 0)
        bucket = bucket.astype(jnp.int32)
        if multi_label:
            seg = jax.vmap(lambda d, s: jax.ops.segment_sum(d, s, num_segments=n), in_axes=(1, 1), out_axes=1)
        else:
            def seg(d, s):
                return jax.ops.segment_sum(d, s, num_segments=n)
        tp = _reverse_cumsum(seg(true_w, bucket), 0)
        fp = _reverse_cumsum(seg(false_w, bucket), 0)
        out = {"tp": tp, "fp": fp}
        out["fn"] = jnp.sum(true_w, axis=0) - tp
        out["tn"] = jnp.sum(false_w, axis=0) - fp
        return {k: out[k] for k in kinds}
    thr = jnp.asarray(np.asarray(thresholds), dtype)
    if multi_label:
        pos = y_pred[None] > thr[:, None, None]  # [T, b, d]
        lab, w = labels[None], weights[None]
    else:
        pos = y_pred.reshape(1, -1) > thr[:, None]  # [T, N]
        lab, w = labels.reshape(1, -1), weights.reshape(1, -1)
    cells = {"tp": lab & pos, "fp": ~lab & pos, "fn": lab & ~pos, "tn": ~lab & ~pos}
    return {k: jnp.sum(jnp.where(cells[k], w, 0.0), axis=1) for k in kinds}


class _ConfusionMetric(Metric):
    """Shared state handling: one [T] accumulator per confusion cell in `_kinds`."""

    _kinds = _KINDS

    def _setup(self, thresholds, top_k=None, class_id=None):
        self.thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self._evenly = evenly_distributed(thresholds)

    def _state_shape(self):
        return (len(self.thresholds),)

    def init_state(self):
        self._require_built()
        return {k: _zeros(self._state_shape(), self.dtype) for k in self._kinds}

    def _counts(self, y_true, y_pred, sample_weight, **kwargs):
        return confusion_counts(
            y_true,
            y_pred,
            self.thresholds,
            kinds=self._kinds,
            evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            dtype=self.dtype,
            **kwargs,
        )

    def update(self, state, y_true, y_pred, sample_weight=None):
        inc = self._counts(y_true, y_pred, sample_weight)
        return {k: state[k] + inc[k] for k in self._kinds}

    def _single(self, value):
        return value[0] if len(self.thresholds) == 1 else value


class _ConfusionMatrixConditionCount(_ConfusionMetric):
    _kind = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._kinds = (self._kind,)
        self._setup(parse_thresholds(thresholds, 0.5))

    def compute(self, state):
        return self._single(state[self._kind])

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted positive (score > threshold)."""

    _kind = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted positive (score > threshold)."""

    _kind = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted negative (score <= threshold)."""

    _kind = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted negative (score <= threshold)."""

    _kind = "fn"


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        default = 0.5 if top_k is None else NEG_INF
        self._setup(parse_thresholds(thresholds, default), top_k, class_id)

    def get_config(self):
        config_ = super().get_config()
        config_.update({"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id})
        return config_


class Precision(_PrecisionRecall):
    """TP / (TP + FP). Options: thresholds (list gives an array), top_k, class_id."""

    _direction = "up"

    _kinds = ("tp", "fp")

    def compute(self, state):
        return self._single(divide_no_nan(state["tp"], state["tp"] + state["fp"]))


class Recall(_PrecisionRecall):
    """TP / (TP + FN). Options: thresholds (list gives an array), top_k, class_id."""

    _direction = "up"

    _kinds = ("tp", "fn")

    def compute(self, state):
        return self._single(divide_no_nan(state["tp"], state["tp"] + state["fn"]))


class SensitivitySpecificityBase(_ConfusionMetric):
    """Confusion counts at `num_thresholds` even thresholds in [0, 1]."""

    _direction = "up"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError(f"`num_thresholds` must be an integer > 0, got {num_thresholds}.")
        self.value = value
        self.num_thresholds = num_thresholds
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0] + inner + [1.0]
        self._setup(thresholds, None, class_id)
        self._evenly = num_thresholds > 1

    def _rates(self, state):
        tp, fp, tn, fn = state["tp"], state["fp"], state["tn"], state["fn"]
        return {
            "recall": divide_no_nan(tp, tp + fn),
            "precision": divide_no_nan(tp, tp + fp),
            "specificity": divide_no_nan(tn, tn + fp),
        }

    def _max_under_constraint(self, constrained, dependent):
        return jnp.max(jnp.where(constrained >= self.value, dependent, 0.0), initial=0.0)

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "class_id": self.class_id}


def _check_unit(arg, value):
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{arg}` must be in the range [0, 1], got {arg}={value}.")


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """Best recall among thresholds whose specificity >= `specificity`."""

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("specificity", specificity)
        self.specificity = specificity
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def compute(self, state):
        r = self._rates(state)
        return self._max_under_constraint(r["specificity"], r["recall"])

    def get_config(self):
        return {**super().get_config(), "specificity": self.specificity}


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """Best specificity among thresholds whose recall >= `sensitivity`."""

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("sensitivity", sensitivity)
        self.sensitivity = sensitivity
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def compute(self, state):
        r = self._rates(state)
        return self._max_under_constraint(r["recall"], r["specificity"])

    def get_config(self):
        return {**super().get_config(), "sensitivity": self.sensitivity}


class PrecisionAtRecall(SensitivitySpecificityBase):
    """Best precision among thresholds whose recall >= `recall`."""

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("recall", recall)
        self.recall = recall
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def compute(self, state):
        r = self._rates(state)
        return self._max_under_constraint(r["recall"], r["precision"])

    def get_config(self):
        return {**super().get_config(), "recall": self.recall}


class RecallAtPrecision(SensitivitySpecificityBase):
    """Best recall among thresholds whose precision >= `precision`."""

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("precision", precision)
        self.precision = precision
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def compute(self, state):
        r = self._rates(state)
        return self._max_under_constraint(r["precision"], r["recall"])

    def get_config(self):
        return {**super().get_config(), "precision": self.precision}


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(_ConfusionMetric):
    """Area under the ROC or PR curve, from confusion counts at `num_thresholds` thresholds.

    Args:
        num_thresholds: number of thresholds (>1): -eps, 1/(n-1), ..., 1+eps.
        curve: "ROC", "PR" or "PRGAIN".
        summation_method: "interpolation" (trapezoid; PR uses Davis & Goadrich),
            "minoring" or "majoring".
        thresholds: explicit thresholds in [0, 1] (overrides num_thresholds).
        multi_label: one curve per label column ([b, d] inputs), averaged with `label_weights`.
        from_logits: apply a sigmoid to y_pred first.
    """

    _direction = "up"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        super().__init__(name=name, dtype=dtype)
        if str(curve).lower() not in _CURVES:
            raise ValueError(f"Invalid `curve`: expected one of ['ROC', 'PR', 'PRGAIN'], got {curve!r}.")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(
                f"Invalid `summation_method`: expected one of {list(_SUMMATIONS)}, got {summation_method!r}."
            )
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self._init_from_thresholds = thresholds is not None
        eps = config.epsilon()
        if thresholds is not None:
            inner = sorted(parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            evenly = evenly_distributed(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"`num_thresholds` must be an integer > 1, got {num_thresholds}.")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        self._setup([0.0 - eps] + inner + [1.0 + eps])
        self._evenly = evenly
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else jnp.asarray(label_weights, self.dtype)
        self._from_logits = from_logits
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self._num_labels = num_labels if multi_label else None

    @property
    def built(self):
        return not self.multi_label or self._num_labels is not None

    def build(self, y_true_shape=None, y_pred_shape=None):
        if self.multi_label and self._num_labels is None:
            if y_pred_shape is None or len(y_pred_shape) != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`; got shape "
                    f"{None if y_pred_shape is None else tuple(y_pred_shape)}."
                )
            self._num_labels = int(y_pred_shape[1])

    def _state_shape(self):
        if self.multi_label:
            return (self.num_thresholds, self._num_labels)
        return (self.num_thresholds,)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred = jnp.asarray(y_pred)
        if self._from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        inc = self._counts(
            y_true,
            y_pred,
            sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )
        return {k: state[k] + inc[k] for k in self._kinds}

    def _by_label(self, terms):
        if not self.multi_label:
            return jnp.sum(terms)
        by_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        return divide_no_nan(jnp.sum(by_label * self.label_weights), jnp.sum(self.label_weights))

    def _interpolate_pr_auc(self, state):
        tp, fp, fn = state["tp"], state["fp"], state["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where(
            (p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:])
        )
        terms = divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)), jnp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(terms)

    def compute(self, state):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(state)
        tp, fp, tn, fn = state["tp"], state["fp"], state["tn"], state["fn"]
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = jnp.where(tp == 0, 0.0, 1.0 - scale * divide_no_nan(fn, tp))
            precision_gain = jnp.where(tp == 0, 1.0, 1.0 - scale * divide_no_nan(fp, tp))
            x, y = jnp.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def get_config(self):
        label_weights = None if self.label_weights is None else np.asarray(self.label_weights).tolist()
        config_ = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config_["thresholds"] = self.thresholds[1:-1]
        return config_
