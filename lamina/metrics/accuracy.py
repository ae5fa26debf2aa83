"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k."""

import jax.numpy as jnp

from lamina.backend import config
from lamina.losses import squeeze_or_expand_to_same_rank
from lamina.metrics.base import _KerasMeanMetric


def _float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(config.floatx())


def accuracy(y_true, y_pred):
    """1.0 where y_true == y_pred exactly. [b, ...] -> [b, ...]."""
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return (y_true == y_pred).astype(config.floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) equals y_true. [b, d] -> [b, d]."""
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == pred).astype(config.floatx())


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred). [b, C] -> [b]."""
    return (jnp.argmax(y_true, axis=-1) == jnp.argmax(y_pred, axis=-1)).astype(config.floatx())


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where y_true (class index, [b] or [b, 1]) == argmax(y_pred). -> [b]."""
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    pred = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = (y_true == pred).astype(config.floatx())
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    """True where the target's score ranks within the top k (ties count in its favour)."""
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where argmax(y_true) is among the k highest scores of y_pred. [b, C] -> [b]."""
    y_pred = _float(y_pred)
    targets = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(jnp.int32)
    return _in_top_k(targets, y_pred, k).astype(config.floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the class index y_true is among the top k of y_pred. -> y_true's shape.

    With `from_sorted_ids=True`, y_pred holds class ids sorted by score ([b, >=k]).
    """
    y_pred = _float(y_pred)
    y_true = jnp.asarray(y_true)
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        y_true = y_true.reshape(-1)
    if from_sorted_ids:
        hits = jnp.any(y_true.astype(y_pred.dtype)[:, None] == y_pred[:, :k], axis=1)
    else:
        hits = _in_top_k(y_true.astype(jnp.int32), y_pred, k)
    return hits.astype(config.floatx()).reshape(shape)


class Accuracy(_KerasMeanMetric):
    """How often predictions equal labels exactly."""

    _direction = "up"

    _fn = staticmethod(accuracy)

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name, dtype)


class BinaryAccuracy(_KerasMeanMetric):
    """How often (y_pred > threshold) matches binary labels."""

    _direction = "up"

    _fn = staticmethod(binary_accuracy)
    _arg_names = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name, dtype, threshold=threshold)


class CategoricalAccuracy(_KerasMeanMetric):
    """How often argmax(y_pred) matches argmax of one-hot labels."""

    _direction = "up"

    _fn = staticmethod(categorical_accuracy)

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(_KerasMeanMetric):
    """How often argmax(y_pred) matches integer labels."""

    _direction = "up"

    _fn = staticmethod(sparse_categorical_accuracy)

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class TopKCategoricalAccuracy(_KerasMeanMetric):
    """How often the one-hot target is in the top `k` predictions."""

    _direction = "up"

    _fn = staticmethod(top_k_categorical_accuracy)
    _arg_names = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name, dtype, k=k)


class SparseTopKCategoricalAccuracy(_KerasMeanMetric):
    """How often the integer target is in the top `k` predictions."""

    _direction = "up"

    _fn = staticmethod(sparse_top_k_categorical_accuracy)
    _arg_names = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(name, dtype, k=k, from_sorted_ids=from_sorted_ids)

    def get_config(self):
        config_ = super().get_config()
        if self.from_sorted_ids:
            config_["from_sorted_ids"] = True
        return config_
