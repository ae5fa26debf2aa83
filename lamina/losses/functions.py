"""Per-sample loss functions: `fn(y_true [b, ..., d], y_pred [b, ..., d]) -> [b, ...]`, pure jax.numpy.

Keras 3 names and numerics; regression, probabilistic, hinge and segmentation losses, and the
shape helpers they share with the metrics.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config


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


def sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
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
    return sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits, ignore_class, axis)[0]


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


def hinge_with_valid_rows(y_true, y_pred, valid=None, squared=False):
    y_true, y_pred = _aligned(y_true, y_pred)
    y_true = _to_signed_labels(y_true, _reshape_valid(valid, y_true))
    margin = jnp.maximum(1.0 - y_true * y_pred, 0.0)
    return jnp.mean(jnp.square(margin) if squared else margin, axis=-1)


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)); labels -1/1 (0/1 labels are converted)."""
    return hinge_with_valid_rows(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)^2); labels -1/1 (0/1 labels are converted)."""
    return hinge_with_valid_rows(y_true, y_pred, squared=True)


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
