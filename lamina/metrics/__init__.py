"""Keras-named metrics: epoch accumulators with a pure core (see `lamina.metrics.base`).

Also the Keras metric functions (`binary_accuracy`, `mean_squared_error`, ...),
`get` / `serialize` / `deserialize`, and `resolve_accuracy`, which applies Keras 3's
choice for `metrics=["accuracy"]` given the target and output shapes.
"""

import inspect

from lamina import losses as _losses
from lamina.losses import targets as loss_targets
from lamina.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, to_snake_case
from lamina.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from lamina.metrics.f_score import F1Score, FBetaScore
from lamina.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from lamina.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)
from lamina.backend import registry as _serialization

# Metric functions with Keras names (per-sample values).
binary_crossentropy = _losses.binary_crossentropy
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
categorical_hinge = _losses.categorical_hinge
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
huber = _losses.huber
kl_divergence = kld = KLD = _losses.kl_divergence
log_cosh = logcosh = _losses.log_cosh
poisson = _losses.poisson
mean_absolute_error = mae = MAE = _losses.mean_absolute_error
mean_absolute_percentage_error = mape = MAPE = _losses.mean_absolute_percentage_error
mean_squared_error = mse = MSE = _losses.mean_squared_error
mean_squared_logarithmic_error = msle = MSLE = _losses.mean_squared_logarithmic_error

_CLASSES = (
    Metric,
    Mean,
    Sum,
    MeanMetricWrapper,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCoshError,
    R2Score,
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score,
    FBetaScore,
)

# Serialized configs name the public module, as Keras's do ("keras.metrics").
for _cls in _CLASSES:
    _cls.__module__ = __name__

ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})
ALL_OBJECTS_DICT.update(
    {
        "bce": BinaryCrossentropy,
        "BCE": BinaryCrossentropy,
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "msle": MeanSquaredLogarithmicError,
        "MSLE": MeanSquaredLogarithmicError,
        "rmse": RootMeanSquaredError,
        "kld": KLDivergence,
        "KLD": KLDivergence,
        "log_cosh": LogCoshError,
        "logcosh": LogCoshError,
    }
)

_FUNCTIONS = {
    fn.__name__: fn
    for fn in (
        binary_accuracy,
        categorical_accuracy,
        sparse_categorical_accuracy,
        top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy,
        binary_focal_crossentropy,
        categorical_focal_crossentropy,
        huber,
    )
}


_serialization.register_builtins("metric", {**_FUNCTIONS, **ALL_OBJECTS_DICT})


def serialize(metric):
    """Keras config dict of a Metric (or the name of a metric function)."""
    return _serialization.serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """A Metric (or metric function) from a name or a Keras config dict."""
    table = {**_FUNCTIONS, **ALL_OBJECTS_DICT}
    return _serialization.deserialize_keras_object(config, table, "metric", custom_objects)


def _wrap(obj, name=None):
    if isinstance(obj, Metric):
        return obj
    if inspect.isclass(obj) and issubclass(obj, Metric):
        return obj() if name is None else obj(name=name)
    if callable(obj):
        return MeanMetricWrapper(obj, name=name or getattr(obj, "__name__", None))
    raise ValueError(
        f"Could not interpret metric identifier: {obj!r}. Expected a metric name, a Keras config "
        "dict, a Metric instance or a function fn(y_true, y_pred)."
    )


def get(identifier):
    """A Metric instance from a name ("mse", "AUC", "precision", ...), config dict, Metric,
    Metric class or function (wrapped in MeanMetricWrapper). None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        table = {**_FUNCTIONS, **ALL_OBJECTS_DICT}
        return _wrap(_serialization.lookup("metric", identifier, table))
    if isinstance(identifier, dict):
        return _wrap(deserialize(identifier))
    return _wrap(identifier)


def _shape_kind(y_true_shape, y_pred_shape, loss):
    if y_true_shape is not None and y_pred_shape is not None:
        is_binary, is_sparse = _losses.is_binary_or_sparse_categorical(tuple(y_true_shape), tuple(y_pred_shape))
        return "binary" if is_binary else "sparse" if is_sparse else "categorical"
    kind = loss_targets.loss_kind(loss) if loss is not None else None
    if kind is None:
        raise ValueError(
            "resolve_accuracy needs y_true_shape and y_pred_shape (or a cross-entropy loss) to "
            "choose between binary, categorical and sparse categorical accuracy."
        )
    return kind


def resolve_accuracy(identifier, loss=None, y_true_shape=None, y_pred_shape=None):
    """The Metric for one compile() metric entry, named as Keras logs it.

    "accuracy"/"acc" follow Keras 3's shape rule: BinaryAccuracy when the output has one
    unit; SparseCategoricalAccuracy when y_true has lower rank than y_pred, or a last axis
    of 1 while y_pred's is > 1; else CategoricalAccuracy. "crossentropy"/"ce" choose the
    matching cross-entropy metric the same way. The metric keeps the user's string as
    its name. (Keras decides by shapes alone; `loss` is only used when shapes are None.)
    Other identifiers go through `get` (strings keep their spelling as the name).
    """
    if identifier is None:
        raise ValueError("Expected a metric, got None.")
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            kind = _shape_kind(y_true_shape, y_pred_shape, loss)
            cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy}.get(kind, CategoricalAccuracy)
            return cls(name=identifier)
        if key in ("crossentropy", "ce"):
            kind = _shape_kind(y_true_shape, y_pred_shape, loss)
            cls = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy}.get(
                kind, CategoricalCrossentropy
            )
            return cls(name=identifier)
        metric = get(identifier)
        metric.name = identifier
        return metric
    return get(identifier)


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("inspect",)]


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
