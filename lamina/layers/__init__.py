"""Layers in Keras spelling, and their (de)serialization."""

from lamina.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from lamina.layers.base import InputSpec, Layer
from lamina.layers.convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                                         Convolution1D, Convolution1DTranspose, Convolution2D, Convolution2DTranspose,
                                         Convolution3D, Convolution3DTranspose, DepthwiseConv1D, DepthwiseConv2D,
                                         SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                                         SeparableConvolution2D)
from lamina.layers.core import Activation, Dense, Identity, Masking
from lamina.layers.embedding import Embedding
from lamina.layers.input_layer import Input, InputLayer
from lamina.layers.lambda_layer import Lambda
from lamina.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                                   average, concatenate, dot, maximum, minimum, multiply, subtract)
from lamina.layers.op_layer import OpLayer
from lamina.layers.normalization import BatchNormalization, LayerNormalization, Normalization, Rescaling
from lamina.layers.pooling import (AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D,
                                   AvgPool3D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
                                   GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D,
                                   GlobalMaxPool3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
                                   MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D, MaxPooling3D)
from lamina.layers.regularization import (ActivityRegularization, AlphaDropout, Dropout, GaussianDropout,
                                          GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from lamina.layers.recurrent import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell,
                                     StackedRNNCells, TimeDistributed)
from lamina.layers.preprocessing import (CenterCrop, RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
                                         RandomRotation, RandomTranslation, RandomZoom, Resizing)
from lamina.layers.reshaping import (Cropping1D, Cropping2D, Cropping3D, Flatten, Permute, RepeatVector, Reshape,
                                     UpSampling1D, UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D,
                                     ZeroPadding3D)


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
