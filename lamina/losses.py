"""Keras-named losses: per-sample functions and reducing `Loss` objects.

Every function takes `y_true`, `y_pred` arrays of shape `[batch, ..., d]` and
returns per-sample values of shape `[batch, ...]` (the last axis reduced), as
Keras 3 does. The math is pure `jax.numpy`, so a loss can run inside `jax.jit`
and `lax.scan`. `Loss.__call__` adds sample weights, an optional row mask (for
padded batches) and the reduction to a scalar.
"""

import copy
import inspect
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config
from lamina.saving import serialization

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# --------------------------------------------------------------------------- helpers


def _as_float(x, dtype=None):
    x = jnp.asarray(x)
    if dtype is not None:
        return x.astype(dtype)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(config.floatx())
    return x


def _pair(y_true, y_pred):
    """y_pred as a float array and y_true cast to its dtype."""
    y_pred = _as_float(y_pred)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Make ranks equal when they differ by one trailing unit axis (Keras rule)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _aligned(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _l2_normalize(x, axis):
    """x / max(||x||, eps) computed as x * min(rsqrt(sum x^2), 1/eps), as Keras does."""
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv, 1.0 / config.epsilon())


def _smooth_categorical(y_true, label_smoothing):
    if label_smoothing:
        n = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    return y_true


def _smooth_binary(y_true, label_smoothing):
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be an int, got axis={axis!r} of type {type(axis).__name__}")


def _warn_single_unit(name, y_pred):
    if y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {name}, expected y_pred.shape to be (batch_size, num_classes) with "
            f"num_classes > 1, got y_pred.shape={tuple(y_pred.shape)}. Use 'binary_crossentropy' "
            "for two classes with one sigmoid unit.",
            SyntaxWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- regression


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis. [b, ..., d] -> [b, ...]."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis. [b, ..., d] -> [b, ...]."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), config.epsilon()))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    eps = config.epsilon()
    first = jnp.log(jnp.maximum(y_pred, eps) + 1.0)
    second = jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(first - second), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over `axis` (-1 = same direction)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for |error| <= delta, linear beyond; mean over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    quad = 0.5 * jnp.square(error)
    lin = delta * abs_error - 0.5 * jnp.square(delta)
    return jnp.mean(jnp.where(abs_error <= delta, quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed without overflow."""
    y_true, y_pred = _aligned(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - jnp.log(2.0).astype(x.dtype), axis=-1)


# --------------------------------------------------------------------------- probabilistic


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    y_true, y_pred = _aligned(y_true, y_pred)
    eps = config.epsilon()
    y_true = jnp.clip(y_true, eps, 1.0)
    y_pred = jnp.clip(y_pred, eps, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps)) over the last axis."""
    y_true, y_pred = _aligned(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + config.epsilon()), axis=-1)


def _elementwise_bce(y_true, y_pred, from_logits):
    if from_logits:
        return -y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    eps = config.epsilon()
    p = jnp.clip(y_pred, eps, 1.0 - eps)
    return -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean binary cross-entropy over `axis`. Probabilities are clipped to [eps, 1 - eps];
    with `from_logits=True` it is computed from logits with log-sigmoid (stable)."""
    y_true, y_pred = _aligned(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return jnp.mean(_elementwise_bce(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """(1 - p_t)^gamma * BCE (optionally weighted by alpha / 1 - alpha), mean over `axis`."""
    y_true, y_pred = _aligned(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    bce = _elementwise_bce(y_true, y_pred, from_logits)
    p = jax.nn.sigmoid(y_pred) if from_logits else y_pred
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    focal = jnp.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def _log_probs(y_pred, from_logits, axis):
    """Log-probabilities and probabilities along `axis` (Keras normalises and clips probs)."""
    if from_logits:
        log_p = jax.nn.log_softmax(y_pred, axis=axis)
        return log_p, jnp.exp(log_p)
    eps = config.epsilon()
    p = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    p = jnp.clip(p, eps, 1.0 - eps)
    return jnp.log(p), p


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(p)) over `axis`; y_true one-hot (or soft) of the same shape as y_pred."""
    _check_axis(axis)
    y_true, y_pred = _pair(y_true, y_pred)
    _warn_single_unit("categorical_crossentropy", y_pred)
    if y_true.shape != y_pred.shape:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_crossentropy: y_true and y_pred must have the same shape, got "
            f"y_true.shape={tuple(y_true.shape)} and y_pred.shape={tuple(y_pred.shape)}. "
            "If y_true holds class indices, use sparse_categorical_crossentropy or "
            "lamina.utils.to_categorical."
        )
    y_true = _smooth_categorical(y_true, label_smoothing)
    log_p, _ = _log_probs(y_pred, from_logits, axis)
    return -jnp.sum(y_true * log_p, axis=axis)


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """sum(alpha * (1 - p)^gamma * -y_true * log(p)) over `axis`."""
    _check_axis(axis)
    y_true, y_pred = _pair(y_true, y_pred)
    _warn_single_unit("categorical_focal_crossentropy", y_pred)
    y_true = _smooth_categorical(y_true, label_smoothing)
    log_p, p = _log_probs(y_pred, from_logits, axis)
    focal = alpha * jnp.power(1.0 - p, gamma) * (-y_true * log_p)
    return jnp.sum(focal, axis=axis)


def _sparse_cce_with_mask(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Per-sample sparse CE and the valid-entry mask (None without ignore_class)."""
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    if y_true.shape != y_pred.shape[:axis % y_pred.ndim] + y_pred.shape[axis % y_pred.ndim + 1:]:
        raise ValueError(
            "sparse_categorical_crossentropy: y_true must hold one class index per sample "
            f"(shape {tuple(y_pred.shape[:-1])} for y_pred.shape={tuple(y_pred.shape)}), got "
            f"y_true.shape={tuple(jnp.shape(y_true))}. If y_true is one-hot, use "
            "categorical_crossentropy."
        )
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = jnp.where(valid, y_true, 0)
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 1.0)
    labels = y_true.astype(jnp.int32)
    log_p, _ = _log_probs(y_pred, from_logits, axis)
    one_hot = jax.nn.one_hot(labels, y_pred.shape[axis], axis=axis, dtype=log_p.dtype)
    res = -jnp.sum(one_hot * log_p, axis=axis)
    if valid is not None:
        res = jnp.where(valid, res, 0.0)
    return res, valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy with integer class labels: y_true [b, ...] (or [b, ..., 1]), y_pred [b, ..., C]."""
    return _sparse_cce_with_mask(y_true, y_pred, from_logits, ignore_class, axis)[0]


# --------------------------------------------------------------------------- hinge


def _to_signed_labels(y_true, valid=None):
    """Map {0, 1} labels to {-1, 1} when every (valid) label is 0 or 1, else leave them."""
    binary = (y_true == 0) | (y_true == 1)
    if valid is not None:
        binary = binary | ~jnp.broadcast_to(valid, binary.shape)
    return jnp.where(jnp.all(binary), 2.0 * y_true - 1.0, y_true)


def _reshape_valid(valid, y_true):
    if valid is None:
        return None
    valid = jnp.asarray(valid).astype(bool)
    return valid.reshape(valid.shape + (1,) * (y_true.ndim - valid.ndim))


def _hinge(y_true, y_pred, valid=None, squared=False):
    y_true, y_pred = _aligned(y_true, y_pred)
    y_true = _to_signed_labels(y_true, _reshape_valid(valid, y_true))
    margin = jnp.maximum(1.0 - y_true * y_pred, 0.0)
    return jnp.mean(jnp.square(margin) if squared else margin, axis=-1)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)); labels -1/1 (0/1 labels are converted)."""
    return _hinge(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)^2); labels -1/1 (0/1 labels are converted)."""
    return _hinge(y_true, y_pred, squared=True)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0); one-hot y_true."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


# --------------------------------------------------------------------------- segmentation


def dice(y_true, y_pred, axis=None):
    """1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps), sums over `axis`
    (None: the whole batch, giving a scalar)."""
    y_true, y_pred = _pair(y_true, y_pred)
    inter = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * inter / (total + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha * FP + beta * FN + eps) with soft counts summed over `axis`.

    FP = sum((1 - y_pred) * y_true), FN = sum(y_pred * (1 - y_true)), as Keras defines them."""
    y_true, y_pred = _pair(y_true, y_pred)
    tp = jnp.sum(y_true * y_pred, axis=axis)
    fp = jnp.sum((1.0 - y_pred) * y_true, axis=axis)
    fn = jnp.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - tp / (tp + fp * alpha + fn * beta + config.epsilon())


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p_y^q) / q for integer labels y_true [b] and probabilities y_pred [b, C]."""
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[-1], dtype=y_pred.dtype)
    p = jnp.sum(y_pred * one_hot, axis=-1)
    return (1.0 - jnp.power(p, q)) / q


# Keras aliases.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy


# --------------------------------------------------------------------------- reduction


def _expand_to_rank(x, ndim):
    return x.reshape(x.shape + (1,) * (ndim - x.ndim)) if x.ndim < ndim else x


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", elem_mask=None):
    """Weight and reduce per-sample loss values.

    Args:
        values: [b, ...] per-sample losses.
        sample_weight: None or weights broadcastable to `values` ([b], [b, 1], [b, ...]).
        mask: None or [b] 0/1 valid-row mask; invalid rows count neither in the sum nor in
            the "batch size" denominator.
        reduction: "sum_over_batch_size" / "mean" (sum / number of valid entries), "sum",
            "mean_with_sample_weight" (sum / sum of weights), "none" / None (no reduction).
        elem_mask: None or a boolean mask of `values`' shape (e.g. `ignore_class` entries).
    """
    values = jnp.asarray(values)
    if values.shape == (0,) or (values.ndim == 0 and sample_weight is None):
        return values
    weight = None
    if sample_weight is not None:
        weight = jnp.asarray(sample_weight).astype(values.dtype)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        weight = _expand_to_rank(weight, values.ndim)
    valid = None
    if mask is not None:
        valid = _expand_to_rank(jnp.asarray(mask).astype(values.dtype), values.ndim)
    if elem_mask is not None:
        em = jnp.asarray(elem_mask).astype(values.dtype).reshape(values.shape)
        valid = em if valid is None else valid * em
    weighted = values
    if weight is not None:
        weighted = weighted * weight
    if valid is not None:
        weighted = weighted * valid
    # A scalar loss (e.g. Dice over the whole batch) times [b] weights becomes [b] values.
    if reduction in (None, "none") or weighted.ndim == 0:
        return weighted
    total = jnp.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = jnp.sum(weight if valid is None else weight * valid)
    elif valid is not None:
        divisor = jnp.sum(jnp.broadcast_to(valid, weighted.shape))
    else:
        divisor = jnp.asarray(weighted.size, values.dtype)
    return jnp.where(divisor == 0, 0.0, total / jnp.where(divisor == 0, 1.0, divisor)).astype(values.dtype)


def _standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid `reduction`: expected one of {list(REDUCTIONS)}, got reduction={reduction!r}."
        )
    return reduction


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# --------------------------------------------------------------------------- Loss objects


class Loss:
    """Base loss: `call(y_true, y_pred) -> [b, ...]`, `__call__` weights and reduces.

    Attributes:
        logits_activation: "sigmoid" / "softmax" when the loss is the cross-entropy matching
            that output activation (the engine may then feed logits to `with_logits()`).
    """

    logits_activation = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        self._dtype = config.standardize_dtype(dtype)

    @property
    def dtype(self):
        return self._dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def _values(self, y_true, y_pred, mask=None):
        """(per-sample values, element mask or None); `mask` is the [b] valid-row mask."""
        return self.call(y_true, y_pred), None

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """Scalar loss (or per-sample values with reduction "none").

        Args:
            y_true, y_pred: arrays [b, ...].
            sample_weight: optional weights [b] (or broadcastable to the per-sample values).
            mask: optional [b] 0/1 valid rows (padding); masked rows are fully excluded.
        """
        y_true = jnp.asarray(y_true).astype(self._dtype)
        y_pred = jnp.asarray(y_pred).astype(self._dtype)
        values, elem_mask = self._values(y_true, y_pred, mask)
        return reduce_weighted_values(
            values.astype(self._dtype), sample_weight, mask, self.reduction, elem_mask
        )

    @property
    def from_logits(self):
        return getattr(self, "_from_logits", False)

    @from_logits.setter
    def from_logits(self, value):
        if "from_logits" not in getattr(self, "_fn_kwargs", {}):
            raise AttributeError(f"{type(self).__name__} has no `from_logits` argument.")
        self._fn_kwargs["from_logits"] = bool(value)
        self._from_logits = bool(value)

    def with_logits(self):
        """A copy of this loss that takes logits (pre-sigmoid/softmax outputs)."""
        if self.logits_activation is None:
            raise ValueError(f"Loss '{self.name}' ({type(self).__name__}) has no logits form.")
        if self.from_logits:
            raise ValueError(f"Loss '{self.name}' already has from_logits=True.")
        new = copy.copy(self)
        new._fn_kwargs = dict(getattr(self, "_fn_kwargs", {}))
        new._fn_kwargs["from_logits"] = True
        new._from_logits = True
        return new

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """Wrap `fn(y_true, y_pred, **kwargs) -> [b, ...]` as a Loss (ranks aligned first)."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: `fn` must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if hasattr(y_true, "ndim") and hasattr(y_pred, "ndim"):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config_ = super().get_config()
        config_["fn"] = serialization.serialize_keras_object(self.fn)
        config_.update(self._fn_kwargs)
        return config_

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        fn = config_.pop("fn")
        if isinstance(fn, (str, dict)):
            fn = deserialize(fn)
        return cls(fn, **config_)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _KerasLoss(LossFunctionWrapper):
    """A built-in loss: its config is the base config plus the constructor arguments."""

    _fn = None
    _arg_names = ()

    def __init__(self, reduction, name, dtype, **kwargs):
        super().__init__(type(self)._fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for key, value in kwargs.items():
            setattr(self, "_from_logits" if key == "from_logits" else key, value)

    def get_config(self):
        config_ = Loss.get_config(self)
        config_.update({k: self._fn_kwargs[k] for k in self._arg_names})
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def _make_simple(class_name, fn, default_name, doc):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        _KerasLoss.__init__(self, reduction, name, dtype)

    return type(class_name, (_KerasLoss,), {"__init__": __init__, "_fn": staticmethod(fn), "__doc__": doc})


MeanSquaredError = _make_simple(
    "MeanSquaredError", mean_squared_error, "mean_squared_error", "Mean of squared errors."
)
MeanAbsoluteError = _make_simple(
    "MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", "Mean of absolute errors."
)
MeanAbsolutePercentageError = _make_simple(
    "MeanAbsolutePercentageError",
    mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    "100 * mean(|error| / |y_true|).",
)
MeanSquaredLogarithmicError = _make_simple(
    "MeanSquaredLogarithmicError",
    mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error",
    "Mean squared error of log(1 + y).",
)
LogCosh = _make_simple("LogCosh", log_cosh, "log_cosh", "Mean of log(cosh(error)).")
KLDivergence = _make_simple("KLDivergence", kl_divergence, "kl_divergence", "Kullback-Leibler divergence.")
Poisson = _make_simple("Poisson", poisson, "poisson", "Poisson negative log-likelihood (up to a constant).")
CategoricalHinge = _make_simple(
    "CategoricalHinge", categorical_hinge, "categorical_hinge", "Hinge loss on one-hot labels."
)
for _cls in (
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    LogCosh,
    KLDivergence,
    Poisson,
    CategoricalHinge,
):
    _cls.__module__ = __name__


class _HingeBase(_KerasLoss):
    _squared = False

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        _KerasLoss.__init__(self, reduction, name, dtype)

    def _values(self, y_true, y_pred, mask=None):
        # The 0/1 -> -1/1 label check looks at valid rows only (padding must not change it).
        return _hinge(y_true, y_pred, valid=mask, squared=self._squared), None


class Hinge(_HingeBase):
    """mean(max(1 - y_true * y_pred, 0)); labels -1/1 (0/1 are converted)."""

    _fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class SquaredHinge(_HingeBase):
    """mean(max(1 - y_true * y_pred, 0)^2); labels -1/1 (0/1 are converted)."""

    _fn = staticmethod(squared_hinge)
    _squared = True

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class CosineSimilarity(_KerasLoss):
    """Negative cosine similarity along `axis` (-1 when the vectors point the same way)."""

    _fn = staticmethod(cosine_similarity)
    _arg_names = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


class Huber(_KerasLoss):
    """Huber loss: quadratic below `delta`, linear above."""

    _fn = staticmethod(huber)
    _arg_names = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(reduction, name, dtype, delta=delta)


class BinaryCrossentropy(_KerasLoss):
    """Binary cross-entropy; y_pred probabilities (or logits with from_logits=True)."""

    _fn = staticmethod(binary_crossentropy)
    _arg_names = ("from_logits", "label_smoothing", "axis")
    logits_activation = "sigmoid"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
        dtype=None,
    ):
        super().__init__(
            reduction, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )


class BinaryFocalCrossentropy(_KerasLoss):
    """Focal binary cross-entropy: (1 - p_t)^gamma * BCE, optional alpha class balancing."""

    _fn = staticmethod(binary_focal_crossentropy)
    _arg_names = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")
    logits_activation = "sigmoid"

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            reduction,
            name,
            dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class CategoricalCrossentropy(_KerasLoss):
    """Cross-entropy for one-hot (or soft) labels; softmax probabilities or logits."""

    _fn = staticmethod(categorical_crossentropy)
    _arg_names = ("from_logits", "label_smoothing", "axis")
    logits_activation = "softmax"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
        dtype=None,
    ):
        _check_axis(axis)
        super().__init__(
            reduction, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )


class CategoricalFocalCrossentropy(_KerasLoss):
    """Focal categorical cross-entropy: alpha * (1 - p)^gamma * CE."""

    _fn = staticmethod(categorical_focal_crossentropy)
    _arg_names = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")
    logits_activation = "softmax"

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        _check_axis(axis)
        super().__init__(
            reduction,
            name,
            dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class SparseCategoricalCrossentropy(_KerasLoss):
    """Cross-entropy with integer labels; `ignore_class` entries are excluded from the mean."""

    _fn = staticmethod(sparse_categorical_crossentropy)
    _arg_names = ("from_logits", "ignore_class")
    logits_activation = "softmax"

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name="sparse_categorical_crossentropy",
        dtype=None,
    ):
        super().__init__(
            reduction, name, dtype, from_logits=from_logits, ignore_class=ignore_class, axis=axis
        )

    def _values(self, y_true, y_pred, mask=None):
        return _sparse_cce_with_mask(y_true, y_pred, **self._fn_kwargs)


class _MaskRowsLoss(_KerasLoss):
    """Losses that sum over the batch: padded rows are zeroed in y_true and y_pred."""

    def _values(self, y_true, y_pred, mask=None):
        if mask is not None:
            m = _expand_to_rank(jnp.asarray(mask).astype(y_pred.dtype), y_pred.ndim)
            y_true, y_pred = y_true * m, y_pred * m
        return self.call(y_true, y_pred), None


class Dice(_MaskRowsLoss):
    """Dice loss, 1 - 2|A.B| / (|A| + |B|); `axis=None` sums over the whole batch."""

    _fn = staticmethod(dice)
    _arg_names = ("axis",)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


class Tversky(_MaskRowsLoss):
    """Tversky loss with FP weight `alpha` and FN weight `beta` (Dice when both are 0.5)."""

    _fn = staticmethod(tversky)
    _arg_names = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, beta=beta, axis=axis)


class CategoricalGeneralizedCrossEntropy(_KerasLoss):
    """Generalized cross-entropy (1 - p^q) / q, robust to noisy labels; 0 < q < 1."""

    _fn = staticmethod(categorical_generalized_cross_entropy)
    _arg_names = ("q",)

    def __init__(
        self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy", dtype=None
    ):
        if not 0 < q < 1:
            raise ValueError(f"`q` must be in the interval (0, 1), got q={q}.")
        super().__init__(reduction, name, dtype, q=q)


# --------------------------------------------------------------------------- lookup

_CLASSES = (
    Loss,
    LossFunctionWrapper,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCosh,
    Huber,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    Dice,
    Tversky,
    CategoricalGeneralizedCrossEntropy,
)

# Function -> the Loss class computing the same values with default arguments.
_FUNCTION_CLASS = {
    kl_divergence: KLDivergence,
    poisson: Poisson,
    binary_crossentropy: BinaryCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    cosine_similarity: CosineSimilarity,
    log_cosh: LogCosh,
    huber: Huber,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    dice: Dice,
    tversky: Tversky,
}

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({fn.__name__: fn for fn in _FUNCTION_CLASS})
ALL_OBJECTS_DICT.update(
    {
        "bce": binary_crossentropy,
        "BCE": binary_crossentropy,
        "kld": kl_divergence,
        "KLD": kl_divergence,
        "kullback_leibler_divergence": kl_divergence,
        "mae": mean_absolute_error,
        "MAE": mean_absolute_error,
        "mse": mean_squared_error,
        "MSE": mean_squared_error,
        "mape": mean_absolute_percentage_error,
        "MAPE": mean_absolute_percentage_error,
        "msle": mean_squared_logarithmic_error,
        "MSLE": mean_squared_logarithmic_error,
        "logcosh": log_cosh,
        "huber_loss": huber,
    }
)


def serialize(loss):
    """Keras config dict of a Loss (or the name of a loss function)."""
    return serialization.serialize_keras_object(loss)


def deserialize(name, custom_objects=None):
    """A Loss class instance or loss function from a name or a Keras config dict."""
    return serialization.deserialize_keras_object(name, ALL_OBJECTS_DICT, "loss", custom_objects)


def _from_function(fn, name=None):
    cls = _FUNCTION_CLASS.get(fn)
    if cls is not None:
        return cls(name=name or fn.__name__)
    return LossFunctionWrapper(fn, name=name or getattr(fn, "__name__", None))


def get(identifier):
    """A Loss instance from a name, Keras config dict, Loss, Loss class or function.

    Keras loss functions become their Loss class (so logit fusion applies); other
    callables are wrapped in `LossFunctionWrapper`. None gives None.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in ("crossentropy", "ce"):
            raise ValueError(
                f"Loss '{identifier}' depends on the target and output shapes; use "
                "lamina.losses.resolve(identifier, y_true_shape, y_pred_shape)."
            )
        obj = serialization.lookup("loss", identifier, ALL_OBJECTS_DICT)
        if inspect.isclass(obj):
            return obj()
        return _from_function(obj, name=identifier)
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        return obj if isinstance(obj, Loss) else _from_function(obj)
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return _from_function(identifier)
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Expected a loss name, a Keras "
        "config dict, a Loss instance or a function fn(y_true, y_pred)."
    )


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    """(is_binary, is_sparse) by Keras 3's shape rule: binary when the output has one unit,
    sparse when y_true has lower rank, or y_true's last axis is 1 while y_pred's is > 1."""
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
    return is_binary, is_sparse


def resolve(identifier, y_true_shape, y_pred_shape):
    """`get`, plus Keras's "crossentropy"/"ce" choice of binary / sparse / categorical CE."""
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = is_binary_or_sparse_categorical(tuple(y_true_shape), tuple(y_pred_shape))
        if is_binary:
            return BinaryCrossentropy(name=identifier)
        if is_sparse:
            return SparseCategoricalCrossentropy(name=identifier)
        return CategoricalCrossentropy(name=identifier)
    return get(identifier)


# --------------------------------------------------------------------------- target checks


def _loss_kind(loss):
    if isinstance(loss, str):
        try:
            loss = get(loss)
        except ValueError:
            return None
    elif not isinstance(loss, Loss) and callable(loss):
        loss = _from_function(loss)
    if isinstance(loss, (CategoricalCrossentropy, CategoricalFocalCrossentropy)):
        return "categorical"
    if isinstance(loss, SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, (BinaryCrossentropy, BinaryFocalCrossentropy)):
        return "binary"
    return None


def _first_bad(mask):
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx) if len(idx) > 1 else int(idx[0])


def validate_targets(loss, y_true, y_pred_shape):
    """Check labels against the loss before training (host side, NumPy).

    Args:
        loss: loss name, function or Loss.
        y_true: all targets (array-like) for this output.
        y_pred_shape: the model output shape, e.g. (None, C).

    Raises ValueError for class indices given to categorical_crossentropy, sparse labels
    outside [0, C) (or not integers), and binary labels outside [0, 1]. Returns the list of
    warning messages it issued (also sent through `warnings.warn`).
    """
    kind = _loss_kind(loss)
    if kind is None:
        return []
    y = np.asarray(y_true)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"Targets must be numeric arrays, got dtype {y.dtype}.")
    n_units = y_pred_shape[-1] if len(y_pred_shape) else None
    name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", kind))
    issued = []
    if kind == "categorical":
        looks_sparse = y.ndim == len(y_pred_shape) - 1 or (y.ndim == len(y_pred_shape) and y.shape[-1] == 1)
        if n_units is not None and n_units > 1 and looks_sparse:
            raise ValueError(
                f"Loss '{name}' expects one-hot targets of shape (n, {n_units}), but y has shape "
                f"{y.shape}: it looks like class indices. Use loss='sparse_categorical_crossentropy', "
                f"or convert y with lamina.utils.to_categorical(y, {n_units})."
            )
        if n_units is not None and y.ndim and y.shape[-1] != n_units:
            raise ValueError(
                f"Loss '{name}': targets have {y.shape[-1]} columns but the model outputs "
                f"{n_units} units (y.shape={y.shape}, output shape={tuple(y_pred_shape)})."
            )
        if y.size and y.ndim and n_units and n_units > 1:
            sums = y.reshape(-1, y.shape[-1]).astype(np.float64).sum(-1)
            if not np.allclose(sums, 1.0, atol=1e-3):
                row = int(np.argmax(np.abs(sums - 1.0) > 1e-3))
                msg = (
                    f"Loss '{name}': target rows should sum to 1 (one-hot or probabilities); row "
                    f"{row} sums to {sums[row]:g}. For several labels per sample use "
                    "binary_crossentropy with sigmoid outputs."
                )
                warnings.warn(msg, stacklevel=2)
                issued.append(msg)
    elif kind == "sparse":
        if y.ndim == len(y_pred_shape) and y.shape[-1] == n_units and n_units and n_units > 1:
            raise ValueError(
                f"Loss '{name}' expects one class index per sample, but y has shape {y.shape} "
                f"matching the output ({n_units} units): it looks one-hot. Use "
                "loss='categorical_crossentropy'."
            )
        yf = y.astype(np.float64)
        bad = yf != np.round(yf)
        if bad.any():
            at = _first_bad(bad)
            raise ValueError(
                f"Loss '{name}' expects integer class indices; got {y[at].item()!r} at index {at}."
            )
        ignore = getattr(loss, "ignore_class", None)
        if n_units is not None:
            bad = (yf < 0) | (yf >= n_units)
            if ignore is not None:
                bad &= yf != ignore
            if bad.any():
                at = _first_bad(bad)
                raise ValueError(
                    f"Loss '{name}': label {y[at].item()!r} at index {at} is outside [0, {n_units}) for a "
                    f"model with {n_units} output units. Labels must be 0..{n_units - 1}."
                )
    elif kind == "binary":
        bad = (y < 0) | (y > 1)
        if bad.any():
            at = _first_bad(bad)
            hint = ""
            if np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y)):
                hint = (
                    " For more than two classes use sparse_categorical_crossentropy with a softmax "
                    "output of one unit per class."
                )
            raise ValueError(
                f"Loss '{name}' expects targets in [0, 1]; got {y[at].item()!r} at index {at}.{hint}"
            )
    return issued
