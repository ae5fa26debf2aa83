"""The Keras-named loss classes (`MeanSquaredError`, `BinaryCrossentropy`, ...)."""

import jax.numpy as jnp

from lamina.losses.base import _KerasLoss, _make_simple
from lamina.losses.functions import (
    _check_axis,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    categorical_hinge,
    cosine_similarity,
    dice,
    hinge,
    hinge_with_valid_rows,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
    squared_hinge,
    tversky,
)
from lamina.losses.reduction import _expand_to_rank

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
        return hinge_with_valid_rows(y_true, y_pred, valid=mask, squared=self._squared), None


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
        return sparse_categorical_crossentropy_with_mask(y_true, y_pred, **self._fn_kwargs)


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
