"""Layers in Keras spelling, and their (de)serialization."""

from lamina.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.layers.base import InputSpec, Layer
from lamina.layers.core import Activation, Dense, Identity
from lamina.layers.embedding import Embedding
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                   average, concatenate, dot, maximum, minimum, multiply, subtract)
from lamina.layers.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
from lamina.layers.regularization import (ActivityRegularization, Dropout, GaussianDropout, GaussianNoise,
                                          SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape


def _all_layer_classes():
    from lamina.models import Functional, Model, Sequential

    table, stack = {}, [Layer]
    while stack:
        cls = stack.pop()
        table.setdefault(cls.__name__, cls)
        stack.extend(cls.__subclasses__())
    table.update({"Functional": Functional, "Model": Model, "Sequential": Sequential})
    return table


def serialize(layer):
    """A layer as Keras's config dict."""
    from lamina.saving.serialization import serialize_keras_object

    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer from Keras's config dict (built-in and user-defined Layer subclasses are known)."""
    from lamina.saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, _all_layer_classes(), "layer", custom_objects)
