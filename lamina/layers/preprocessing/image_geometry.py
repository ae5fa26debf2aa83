"""Random geometric augmentation: `RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`.

Active only in training (identity in `predict` / `evaluate`; a direct call augments, as in Keras 3), with
draws from the layer's `SeedGenerator` (`layer.generator`), so the same seed gives Keras 3's draws and the
draws advance inside the compiled loop. The warps run on `lamina.ops.image.affine_transform` with Keras's
transform matrices; shapes are unchanged and the output is in the layer's dtype (float32).
"""

import math

import jax.numpy as jnp

from lamina.layers.preprocessing.base import ImagePreprocessingLayer, factor_pair, fill_args
from lamina.ops.image import affine_transform

HORIZONTAL, VERTICAL, BOTH = "horizontal", "vertical", "horizontal_and_vertical"


class RandomFlip(ImagePreprocessingLayer):
    """Flips each image left-right and/or top-bottom with probability 1/2 in training.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (default).
        seed: int or None.
        data_format: "channels_last" or "channels_first".

    With "horizontal_and_vertical" the two flips are drawn independently, so an image comes out as
    itself, mirrored, upside down or rotated by 180 degrees, each with probability 1/4 (Keras 3 draws once
    for both axes, so its images are never only mirrored; its horizontal draw is the same as lamina's
    for the same seed). "horizontal" and "vertical" draw exactly what Keras draws.
    """

    def __init__(self, mode=BOTH, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in (HORIZONTAL, VERTICAL, BOTH):
            raise ValueError(f"RandomFlip: `mode` must be 'horizontal', 'vertical' or 'horizontal_and_vertical', "
                             f"got mode={mode!r}.")
        self.mode = mode
        self._make_generator(seed)

    def transform(self, images, training):
        images = self.cast(images)
        if not training:
            return images
        h_axis, w_axis = self.hw_axes()
        shape = (images.shape[0], 1, 1, 1)
        first = self.uniform(shape, 0.0, 1.0) <= 0.5
        if self.mode == HORIZONTAL:
            return jnp.where(first, jnp.flip(images, w_axis), images)
        if self.mode == VERTICAL:
            return jnp.where(first, jnp.flip(images, h_axis), images)
        second = self.uniform(shape, 0.0, 1.0) <= 0.5
        images = jnp.where(first, jnp.flip(images, w_axis), images)
        return jnp.where(second, jnp.flip(images, h_axis), images)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class _AffineLayer(ImagePreprocessingLayer):
    """A random affine warp per image: `matrices(images)` gives Keras's (batch, 8) transforms."""

    def __init__(self, fill_mode, interpolation, seed, fill_value, data_format, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        fill_args(type(self).__name__, fill_mode, interpolation, fill_value)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self._make_generator(seed)

    def transform(self, images, training):
        images = self.cast(images)
        if not training:
            return images
        return self.warp(images, self.matrices(images))

    def warp(self, images, matrices):
        """`images` (a batch) warped by `matrices` (batch, 8), as this layer warps them."""
        return affine_transform(images, matrices, interpolation=self.interpolation, fill_mode=self.fill_mode,
                                fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seed": self.seed}


def rotation_matrices(angles, height, width):
    """Keras's (batch, 8) transforms rotating by `angles` (radians, counter-clockwise) about the image
    center."""
    cx, cy = (width - 1) * 0.5, (height - 1) * 0.5
    cos, sin = jnp.cos(angles), jnp.sin(angles)
    zero = jnp.zeros_like(angles)
    return jnp.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, zero, zero], axis=1)


class RandomRotation(_AffineLayer):
    """Rotates each image by a random angle in training; `factor` is a fraction of a full turn.

    Args:
        factor: f in [-1, 1] draws angles in [-f, f] * 360 degrees; (lower, upper) in [lower, upper] * 360.
            Positive angles turn counter-clockwise.
        fill_mode: "reflect" (default), "wrap", "constant" (`fill_value`) or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed, fill_value, data_format: as in Keras.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        self.factor = factor_pair("RandomRotation", "factor", factor, -1.0, 1.0)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)

    def matrices(self, images):
        height, width = self.hw(images.shape)
        degrees = self.uniform((images.shape[0],), self.factor[0] * 360.0, self.factor[1] * 360.0)
        return rotation_matrices(degrees * jnp.float32(math.pi / 180.0), height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class _HeightWidthFactors(_AffineLayer):
    """The layers that take Keras's `height_factor` / `width_factor`."""

    _low_open = False

    def __init__(self, height_factor, width_factor, fill_mode, interpolation, seed, fill_value, data_format,
                 **kwargs):
        owner = type(self).__name__
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_lower, self.height_upper = factor_pair(owner, "height_factor", height_factor, -1.0, 1.0,
                                                           self._low_open)
        if width_factor is not None:
            self.width_lower, self.width_upper = factor_pair(owner, "width_factor", width_factor, -1.0, 1.0,
                                                             self._low_open)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


def zoom_matrices(width_zoom, height_zoom, height, width):
    """Keras's (batch, 8) transforms sampling a window `zoom` times the image's size about its center
    (a zoom above 1 shows more of the image, i.e. zooms out)."""
    zero = jnp.zeros_like(width_zoom)
    return jnp.stack([width_zoom, zero, (width - 1.0) / 2.0 * (1.0 - width_zoom), zero, height_zoom,
                      (height - 1.0) / 2.0 * (1.0 - height_zoom), zero, zero], axis=1)


class RandomZoom(_HeightWidthFactors):
    """Zooms each image in or out by a random factor in training.

    Args:
        height_factor: f in (-1, 1] draws a vertical zoom in [1 - f, 1 + f]; (lower, upper) in
            [1 + lower, 1 + upper]. Positive values zoom out, negative ones zoom in.
        width_factor: the same for the horizontal zoom; None (default) keeps the aspect ratio (one draw).
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    _low_open = True

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(height_factor, width_factor, fill_mode, interpolation, seed, fill_value, data_format,
                         **kwargs)

    def matrices(self, images):
        height, width = self.hw(images.shape)
        shape = (images.shape[0],)
        height_zoom = self.uniform(shape, 1.0 + self.height_lower, 1.0 + self.height_upper)
        width_zoom = height_zoom
        if self.width_factor is not None:
            width_zoom = self.uniform(shape, 1.0 + self.width_lower, 1.0 + self.width_upper)
        return zoom_matrices(width_zoom, height_zoom, height, width)


def translation_matrices(dx, dy):
    """Keras's (batch, 8) transforms moving images by `dx` pixels right and `dy` pixels down."""
    one, zero = jnp.ones_like(dx), jnp.zeros_like(dx)
    return jnp.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)


class RandomTranslation(_HeightWidthFactors):
    """Shifts each image by a random fraction of its height and width in training.

    Args:
        height_factor: f in [-1, 1] shifts by up to f * height pixels up or down; (lower, upper) by
            [lower, upper] * height (positive: down).
        width_factor: the same for width (positive: right); required, as in Keras.
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        if width_factor is None:
            raise ValueError("RandomTranslation: `width_factor` must be a number or a pair of numbers in [-1, 1] "
                             "(use 0.0 for no horizontal shift), got None.")
        super().__init__(height_factor, width_factor, fill_mode, interpolation, seed, fill_value, data_format,
                         **kwargs)

    def matrices(self, images):
        height, width = self.hw(images.shape)
        shape = (images.shape[0],)
        dy = self.uniform(shape, self.height_lower, self.height_upper) * height
        dx = self.uniform(shape, self.width_lower, self.width_upper) * width
        return translation_matrices(dx, dy)
