"""Loss lookup by name, Keras config or function; Keras's "crossentropy" resolution by shape."""

import inspect

from lamina.losses.base import Loss, LossFunctionWrapper
from lamina.losses.classes import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    CategoricalHinge,
    CosineSimilarity,
    Dice,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    Tversky,
)
from lamina.losses.functions import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    dice,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
    tversky,
)
from lamina.backend import registry as serialization

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
serialization.register_builtins("loss", ALL_OBJECTS_DICT)


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
