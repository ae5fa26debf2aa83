"""Layers that change the image size: `Resizing`, `CenterCrop`, `RandomCrop` (on `lamina.ops.image.resize`).

Output shape: (batch, height, width, channels) with the layer's `height` and `width` (channels_first:
(batch, channels, height, width)); a single image gives a single image.
"""

import jax
import jax.numpy as jnp

from lamina.layers.preprocessing.base import ImagePreprocessingLayer, size_arg
from lamina.ops.image import resize
from lamina.ops.image.geometry import RESIZE_INTERPOLATIONS


class _SizedLayer(ImagePreprocessingLayer):
    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        owner = type(self).__name__
        self.height, self.width = size_arg(owner, "height", height), size_arg(owner, "width", width)

    def smart_resize(self, images):
        """Keras's `smart_resize`: the largest centered window of the target's aspect ratio, resized
        (bilinear) to (height, width)."""
        return resize(images, (self.height, self.width), crop_to_aspect_ratio=True, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        h_axis, w_axis = self.hw_axes(len(shape))
        shape[h_axis], shape[w_axis] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class Resizing(_SizedLayer):
    """Resizes images to (height, width), in training and inference.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default), "nearest", "bicubic", "lanczos3" or "lanczos5".
        crop_to_aspect_ratio: first crop the largest centered window of the target's aspect ratio.
        pad_to_aspect_ratio: first pad (centered, with `fill_value`) to the target's aspect ratio.
        fill_mode: "constant" (the only mode, as in Keras on JAX).
        fill_value: the padding value.
        antialias: filter when downsampling.
        data_format: as in Keras.

    Integer images stay integers (rounded and saturated), as in Keras.
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(f"Resizing: `interpolation` must be one of {list(RESIZE_INTERPOLATIONS)}, got "
                             f"{interpolation!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: give only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`.")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: `fill_mode`={fill_mode!r} is not supported; padding fills with "
                             "`fill_value` ('constant', as in Keras on JAX).")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), bool(antialias)

    def transform(self, images, training):
        return resize(images, (self.height, self.width), interpolation=self.interpolation, antialias=self.antialias,
                      crop_to_aspect_ratio=self.crop_to_aspect_ratio, pad_to_aspect_ratio=self.pad_to_aspect_ratio,
                      fill_mode=self.fill_mode, fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio, "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                "fill_mode": self.fill_mode, "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_SizedLayer):
    """The central (height, width) window of each image, in training and inference; an image smaller than
    that in either dimension is resized as by Keras's `smart_resize` instead."""

    def transform(self, images, training):
        images = self.cast(images)
        height, width = self.hw(images.shape)
        if height < self.height or width < self.width:
            return self.smart_resize(images)
        return _crop(images, self.hw_axes(), (height - self.height) // 2, (width - self.width) // 2,
                     self.height, self.width)


def _crop(images, axes, top, left, height, width):
    images = jax.lax.dynamic_slice_in_dim(images, top, height, axis=axes[0])
    return jax.lax.dynamic_slice_in_dim(images, left, width, axis=axes[1])


class RandomCrop(_SizedLayer):
    """A random (height, width) window of the batch in training; in inference the largest centered window
    of that aspect ratio, resized to (height, width) (Keras's `smart_resize`).

    Args:
        height, width: the output size.
        seed, data_format: as in Keras.

    In training one window position is drawn per batch (as in Keras, with Keras's draws for the same seed);
    an image smaller than (height, width) is resized as in inference. Keras 3 documents this inference
    behaviour but returns the uncropped images from `predict` (a shape other than the layer's output
    shape), and crops only at the center when one side already equals the target; lamina does neither.
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        self._make_generator(seed)

    def transform(self, images, training):
        images = self.cast(images)
        height, width = self.hw(images.shape)
        if not training or height < self.height or width < self.width:
            if (height, width) == (self.height, self.width):
                return images
            return self.smart_resize(images)
        top = self.uniform((), 0.0, float(height - self.height + 1)).astype(jnp.int32)
        left = self.uniform((), 0.0, float(width - self.width + 1)).astype(jnp.int32)
        return _crop(images, self.hw_axes(), top, left, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
