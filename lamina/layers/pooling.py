"""Pooling layers: `MaxPooling1D/2D/3D`, `AveragePooling1D/2D/3D`, `GlobalMaxPooling1D/2D/3D`,
`GlobalAveragePooling1D/2D/3D`.

Window pooling maps [batch, *spatial, channels] (or channels_first) to the same layout with each
spatial size n becoming floor((n - pool) / stride) + 1 ("valid") or ceil(n / stride) ("same");
`strides` defaults to `pool_size`. With "same", padded positions never win a max and are not
counted in an average (Keras's semantics). Global pooling reduces all spatial axes:
[batch, *spatial, channels] -> [batch, channels], or [batch, 1, ..., 1, channels] with `keepdims`.
"""

import jax.numpy as jnp

from lamina.backend import window_ops
from lamina.layers import spatial
from lamina.layers.base import Layer


class BasePooling(Layer):
    """A max or average over sliding windows of `pool_size`, moved by `strides`, on each channel."""

    rank = None
    pool_mode = None  # "max" or "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = spatial.int_tuple(owner, "pool_size", pool_size, self.rank)
        self.strides = spatial.int_tuple(owner, "strides", pool_size if strides is None else strides, self.rank)
        self.padding = spatial.padding_arg(owner, padding)
        self.data_format = spatial.data_format_arg(owner, data_format)
        self.input_spec = spatial.input_spec(self.rank, self.data_format)

    def _window(self, sizes):
        """Full-rank window dims, strides and (before, after) pads for spatial `sizes`."""
        first = 2 if self.data_format == "channels_first" else 1
        dims, strides, pads = [1] * (self.rank + 2), [1] * (self.rank + 2), [(0, 0)] * (self.rank + 2)
        for i, (n, k, s) in enumerate(zip(sizes, self.pool_size, self.strides)):
            dims[first + i], strides[first + i] = k, s
            pads[first + i] = spatial.window_pads(n, k, s, 1, self.padding)
        return dims, strides, pads

    def _check_fits(self, input_shape):
        spatial.check_window_fits(self, input_shape, self.data_format, self.pool_size, (1,) * self.rank,
                                  self.padding, "pool")

    def compute_output_shape(self, input_shape):
        """The output shape, with unknown (None) sizes kept unknown."""
        self._check_fits(input_shape)
        sizes = [spatial.window_output_size(n, k, s, 1, self.padding) for n, k, s in
                 zip(spatial.spatial_shape(input_shape, self.data_format), self.pool_size, self.strides)]
        return spatial.with_spatial(tuple(input_shape), self.data_format, sizes)

    def call(self, inputs):
        self._check_fits(inputs.shape)
        window = self._window(spatial.spatial_shape(inputs.shape, self.data_format))
        pool = window_ops.max_pool if self.pool_mode == "max" else window_ops.avg_pool
        return pool(inputs, *window)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(BasePooling):
    """Max over windows of steps: [batch, steps, channels] -> [batch, new_steps, channels]."""

    rank, pool_mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over 2-D windows: [batch, rows, cols, channels] -> [batch, new_rows, new_cols, channels]."""

    rank, pool_mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    """Max over 3-D windows: [batch, d1, d2, d3, channels] -> [batch, new_d1, new_d2, new_d3, channels]."""

    rank, pool_mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of steps: [batch, steps, channels] -> [batch, new_steps, channels]."""

    rank, pool_mode = 1, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over 2-D windows: [batch, rows, cols, channels] -> [batch, new_rows, new_cols, channels]."""

    rank, pool_mode = 2, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(BasePooling):
    """Mean over 3-D windows: [batch, d1, d2, d3, channels] -> [batch, new_d1, new_d2, new_d3, channels]."""

    rank, pool_mode = 3, "average"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class BaseGlobalPooling(Layer):
    """A max or mean over all spatial axes: [batch, *spatial, channels] -> [batch, channels]
    ([batch, 1, ..., 1, channels] with `keepdims`; channels_first keeps channels on axis 1)."""

    rank = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = spatial.data_format_arg(type(self).__name__, data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = spatial.input_spec(self.rank, self.data_format)

    def _axes(self):
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        return jnp.max(inputs, axis=self._axes(), keepdims=self.keepdims)


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        return jnp.mean(inputs, axis=self._axes(), keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalMax):
    """Max over steps: [batch, steps, channels] -> [batch, channels]."""

    rank = 1


class GlobalMaxPooling2D(_GlobalMax):
    """Max over rows and cols: [batch, rows, cols, channels] -> [batch, channels]."""

    rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """Max over the three spatial axes: [batch, d1, d2, d3, channels] -> [batch, channels]."""

    rank = 3


class GlobalAveragePooling1D(_GlobalAverage):
    """Mean over steps: [batch, steps, channels] -> [batch, channels].

    With a `mask` [batch, steps] (from `Embedding(mask_zero=True)` or `Masking`), the mean is over the
    unmasked steps only, so padding does not change the answer; the output carries no mask.
    """

    rank = 1

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps = self._axes()[0]
        keep = jnp.expand_dims(jnp.asarray(mask, bool), 2 if self.data_format == "channels_last" else 1)
        total = jnp.sum(jnp.where(keep, inputs, 0), axis=steps, keepdims=self.keepdims)
        return total / jnp.sum(keep.astype(inputs.dtype), axis=steps, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalAverage):
    """Mean over rows and cols: [batch, rows, cols, channels] -> [batch, channels]."""

    rank = 2


class GlobalAveragePooling3D(_GlobalAverage):
    """Mean over the three spatial axes: [batch, d1, d2, d3, channels] -> [batch, channels]."""

    rank = 3


# Keras's other public names for the same classes.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
