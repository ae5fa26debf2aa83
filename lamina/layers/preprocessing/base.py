"""What the image preprocessing layers share: the image layout, rank checks, Keras's factor arguments, the
`training` default and the random draws.

Images are (batch, height, width, channels) or one image (height, width, channels) with
`data_format="channels_last"` (the default, from `image_data_format()`), and (batch, channels, height, width)
/ (channels, height, width) with `"channels_first"`. A single image is treated as a batch of one, so it
draws what Keras draws for it.

As in Keras 3, `call`'s `training` defaults to True: a direct call `layer(images)` (or an eager
`model(images)`) augments; `fit` runs the layers in training mode and `predict` / `evaluate` in inference
mode, where the random layers are identities.
"""

import numbers


from lamina import random as _random
from lamina.backend.random import SeedGenerator
from lamina.layers.base import InputSpec, Layer
from lamina.layers.spatial import data_format_arg


def factor_pair(owner, name, factor, low, high, low_open=False, scalar="symmetric"):
    """Keras's `factor` argument as a sorted (lower, upper) pair, each checked to lie in [low, high].

    A number `f` gives (-|f|, |f|) with `scalar="symmetric"`, (|f|, |f|) with `scalar="both"`.
    `low_open` excludes `low` itself (RandomZoom's (-1, 1]).
    """
    bound = f"{'(' if low_open else '['}{low}, {high}]"

    def check(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{owner}: `{name}` must be a number or a pair of numbers in {bound}, got "
                             f"{name}={factor!r}.")
        if value > high or value < low or (low_open and value == low):
            raise ValueError(f"{owner}: `{name}` must lie in {bound}, got {name}={factor!r}.")
        return float(value)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{owner}: `{name}` must be a number or a pair (lower, upper), got {name}={factor!r}.")
        lower, upper = sorted(check(v) for v in factor)
        return lower, upper
    value = abs(check(factor))
    return (-value, value) if scalar == "symmetric" else (value, value)


def fill_args(owner, fill_mode, interpolation, fill_value):
    """Check Keras's `fill_mode` / `interpolation` / `fill_value` of the affine layers."""
    if fill_mode not in ("reflect", "wrap", "constant", "nearest"):
        raise ValueError(f"{owner}: `fill_mode` must be one of 'reflect', 'wrap', 'constant', 'nearest', got "
                         f"{fill_mode!r}.")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"{owner}: `interpolation` must be 'nearest' or 'bilinear', got {interpolation!r}.")
    if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real):
        raise ValueError(f"{owner}: `fill_value` must be a number, got {fill_value!r}.")


def size_arg(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive integer, got {name}={value!r}.")
    return int(value)


class ImagePreprocessingLayer(Layer):
    """Base of the image layers: `data_format`, rank 3 or 4 inputs, images cast to the layer's dtype.

    Subclasses implement `transform(images, training)` on a batch (rank 4); a single image is run as a
    batch of one.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_arg(type(self).__name__, data_format)
        layout = "(batch, height, width, channels)" if self.data_format == "channels_last" else \
            "(batch, channels, height, width)"
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4, layout=layout)

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) == 3 and shape[0] is None:  # a symbolic rank-3 batch: 2-D samples, not a single image
            example = f"({shape[1]}, {shape[2]}, 1)" if self.data_format == "channels_last" else \
                f"(1, {shape[1]}, {shape[2]})"
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects a batch of images {self.input_spec.layout}, "
                f"but received inputs of shape {shape}: a batch of 2-D samples without a channels axis. Add one, "
                f"e.g. `Input(shape={example})` with the data reshaped to match.")
        super().build(input_shape)

    def _make_generator(self, seed):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"{type(self).__name__}: `seed` must be an int or None, got seed={seed!r}.")
        self.seed = None if seed is None else int(seed)
        self.generator = SeedGenerator(self.seed)

    def uniform(self, shape, minval, maxval, dtype=None):
        """Keras's draw: `keras.random.uniform(shape, minval, maxval, seed=self.generator)`."""
        return _random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=self.generator)

    def hw_axes(self, ndim=4):
        return (ndim - 3, ndim - 2) if self.data_format == "channels_last" else (ndim - 2, ndim - 1)

    def hw(self, shape):
        h, w = self.hw_axes(len(shape))
        return shape[h], shape[w]

    def cast(self, images):
        return images.astype(self.compute_dtype) if images.dtype != self.compute_dtype else images

    def call(self, inputs, training=True):
        single = inputs.ndim == 3
        images = inputs[None] if single else inputs
        out = self.transform(images, training)
        return out[0] if single else out

    def transform(self, images, training):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
