"""Layers in Keras spelling, and their (de)serialization."""

from lamina.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.layers.base import InputSpec, Layer
from lamina.layers.core import Activation, Dense, Identity
from lamina.layers.embedding import Embedding
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                   average, concatenate, dot, maximum, minimum, multiply, subtract)
from lamina.layers.op_layer import OpLayer
from lamina.layers.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
from lamina.layers.regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout, GaussianNoise,
                                          SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape


from lamina.backend import registry as _registry

_table = {name: obj for name, obj in dict(globals()).items() if isinstance(obj, type) and issubclass(obj, Layer)}
_registry.register_builtins("layer", _table)


def serialize(layer):
    """A layer as Keras's config dict."""
    return _registry.serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """A layer (or model) from Keras's config dict: lamina's own classes, and user classes that are
    registered (`register_keras_serializable`), in `custom_objects` or in a `custom_object_scope`."""
    return _registry.deserialize_keras_object(config, None, "layer", custom_objects)


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
