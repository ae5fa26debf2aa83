"""Cross-entropy, KL divergence, Poisson and hinge metrics (means of the loss functions)."""

from lamina import losses
from lamina.losses import functions as loss_functions
from lamina.metrics.base import _KerasMeanMetric


class KLDivergence(_KerasMeanMetric):
    """Mean Kullback-Leibler divergence between y_true and y_pred."""

    _fn = staticmethod(losses.kl_divergence)

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name, dtype)


class Poisson(_KerasMeanMetric):
    """Mean Poisson loss, y_pred - y_true * log(y_pred)."""

    _fn = staticmethod(losses.poisson)

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name, dtype)


class BinaryCrossentropy(_KerasMeanMetric):
    """Mean binary cross-entropy."""

    _fn = staticmethod(losses.binary_crossentropy)
    _arg_names = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_KerasMeanMetric):
    """Mean categorical cross-entropy (one-hot labels)."""

    _fn = staticmethod(losses.categorical_crossentropy)
    _arg_names = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1
    ):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_KerasMeanMetric):
    """Mean sparse categorical cross-entropy; `ignore_class` entries are left out."""

    _fn = staticmethod(losses.sparse_categorical_crossentropy)
    _arg_names = ("from_logits", "ignore_class", "axis")

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None, axis=-1
    ):
        super().__init__(name, dtype, from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def _values(self, y_true, y_pred, sample_weight):
        return loss_functions.sparse_categorical_crossentropy_with_mask(y_true, y_pred, **self._fn_kwargs)


def _valid_rows(sample_weight):
    return None if sample_weight is None else (sample_weight != 0)


class Hinge(_KerasMeanMetric):
    """Mean hinge loss; 0/1 labels are converted to -1/1."""

    _fn = staticmethod(losses.hinge)

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred, sample_weight):
        # Rows with weight 0 (padding) do not take part in the 0/1 label check.
        return loss_functions.hinge_with_valid_rows(y_true, y_pred, valid=_valid_rows(sample_weight)), None


class SquaredHinge(_KerasMeanMetric):
    """Mean squared hinge loss; 0/1 labels are converted to -1/1."""

    _fn = staticmethod(losses.squared_hinge)

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name, dtype)

    def _values(self, y_true, y_pred, sample_weight):
        return loss_functions.hinge_with_valid_rows(y_true, y_pred, valid=_valid_rows(sample_weight), squared=True), None


class CategoricalHinge(_KerasMeanMetric):
    """Mean categorical hinge loss (one-hot labels)."""

    _fn = staticmethod(losses.categorical_hinge)

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name, dtype)
