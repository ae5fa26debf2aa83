"""Keras-named losses: per-sample functions and reducing `Loss` objects.

Every function takes `y_true`, `y_pred` arrays of shape `[batch, ..., d]` and
returns per-sample values of shape `[batch, ...]` (the last axis reduced), as
Keras 3 does. The math is pure `jax.numpy`, so a loss can run inside `jax.jit`
and `lax.scan`. `Loss.__call__` adds sample weights, an optional row mask (for
padded batches) and the reduction to a scalar.
"""

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
from lamina.losses.functions import (  # with Keras's short aliases
    BCE,
    KLD,
    MAE,
    MAPE,
    MSE,
    MSLE,
    bce,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    categorical_hinge,
    cosine_similarity,
    dice,
    hinge,
    huber,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
    squeeze_or_expand_to_same_rank,
    tversky,
)
from lamina.losses.lookup import (
    ALL_OBJECTS_DICT,
    deserialize,
    get,
    is_binary_or_sparse_categorical,
    resolve,
    serialize,
)
from lamina.losses.reduction import REDUCTIONS, reduce_weighted_values
from lamina.losses.targets import validate_targets


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
