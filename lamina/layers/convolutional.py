"""Convolution layers: `Conv1D/2D/3D`, `Conv1D/2D/3DTranspose`, `SeparableConv1D/2D`, `DepthwiseConv1D/2D`.

All take [batch, *spatial, channels] ("channels_last", the default) or [batch, channels, *spatial]
("channels_first") and return the same layout with the layer's output channels. Weights have
Keras's shapes and order, so `set_weights(keras_layer.get_weights())` lines up:

    Conv*D            kernel [*kernel_size, in_channels // groups, filters], bias [filters]
    Conv*DTranspose   kernel [*kernel_size, filters, in_channels], bias [filters]
    DepthwiseConv*D   kernel [*kernel_size, in_channels, depth_multiplier], bias [in_channels * depth_multiplier]
    SeparableConv*D   depthwise_kernel [*kernel_size, in_channels, depth_multiplier],
                      pointwise_kernel [1, ..., 1, in_channels * depth_multiplier, filters], bias [filters]

Every layer is one convolution (`lamina.backend.window_ops.conv`: `lax.conv_general_dilated` with a
kernel gradient that stays fast inside lamina's compiled training loop), plus a matmul for the
separable pointwise step, in the input's own layout. Padding is computed here as explicit (before, after)
pairs: "valid" (none), "same" (TensorFlow's rule: output = ceil(input / stride)), and for Conv1D
"causal" (zeros before only, so step t sees steps <= t).
"""

import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.backend import window_ops
from lamina.layers import spatial
from lamina.layers.base import Layer


def _positive(owner, name, value):
    return spatial.int_tuple(owner, name, value, 1)[0]


class _Convolution(Layer):
    """What every convolution shares: window arguments, input checks, the bias and the activation.

    Subclasses set `rank` (spatial axes) and `_kernels` (the prefixes of their kernel arguments, e.g.
    "kernel" for `kernel_initializer` / `kernel_regularizer` / `kernel_constraint`), and define
    `_make_kernels(channels)`, `_out_channels(channels)`, `_convolve(inputs)` and `_head_config()`.
    The bias (when `use_bias`) is made after the kernels, as in Keras.
    """

    rank = None
    _kernels = ("kernel",)
    _paddings = ("valid", "same")
    _strides_with_dilation = False  # whether strides > 1 may be combined with dilation_rate > 1

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, bias_initializer="zeros", bias_regularizer=None, bias_constraint=None,
                 activity_regularizer=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.kernel_size = spatial.int_tuple(owner, "kernel_size", kernel_size, self.rank)
        self.strides = spatial.int_tuple(owner, "strides", strides, self.rank)
        self.padding = spatial.padding_arg(owner, padding, self._paddings)
        self.data_format = spatial.data_format_arg(owner, data_format)
        self.dilation_rate = spatial.int_tuple(owner, "dilation_rate", dilation_rate, self.rank)
        if not self._strides_with_dilation and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: `strides` > 1 cannot be combined with `dilation_rate` > 1 (as in Keras); got "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._weight_args("bias", bias_initializer, bias_regularizer, bias_constraint)
        self.input_spec = spatial.input_spec(self.rank, self.data_format)

    def _input_channels(self, input_shape):
        channels = input_shape[spatial.channel_axis(self.data_format)]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known channel count to make its kernel: inputs "
                f"are {spatial.layout(self.rank, self.data_format)}, got shape {tuple(input_shape)}."
            )
        return int(channels)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._check_fits(input_shape)
        self._make_kernels(channels)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self._out_channels(channels),), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = spatial.input_spec(self.rank, self.data_format, channels)

    def _check_fits(self, input_shape):
        spatial.check_window_fits(self, input_shape, self.data_format, self.kernel_size, self.dilation_rate,
                                  self.padding, "kernel")

    def _pads(self, input_shape):
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        return [spatial.window_pads(n, k, s, d, self.padding)
                for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate)]

    def call(self, inputs):
        self._check_fits(inputs.shape)
        return self.activation(self.pre_activation(inputs))

    def compute_output_shape(self, input_shape):
        """The output shape, with unknown (None) sizes kept unknown."""
        self._check_fits(input_shape)
        sizes = spatial.spatial_shape(input_shape, self.data_format)
        out = [self._output_size(n, i) for i, n in enumerate(sizes)]
        channels = self._out_channels(self._input_channels(input_shape))
        return spatial.with_spatial(tuple(input_shape), self.data_format, out, channels)

    def _output_size(self, size, axis):
        return spatial.window_output_size(size, self.kernel_size[axis], self.strides[axis], self.dilation_rate[axis],
                                          self.padding)

    def pre_activation(self, inputs):
        """The convolution plus bias, before the activation."""
        outputs = self._convolve(inputs)
        if self.bias is not None:
            shape = [1] * outputs.ndim
            shape[spatial.channel_axis(self.data_format)] = -1
            outputs = outputs + jnp.reshape(self.bias.value, shape)
        return outputs

    def _weight_args(self, prefix, initializer, regularizer, constraint):
        """Set `{prefix}_initializer`, `{prefix}_regularizer` and `{prefix}_constraint`."""
        setattr(self, f"{prefix}_initializer", initializers.get(initializer))
        setattr(self, f"{prefix}_regularizer", regularizers.get(regularizer))
        setattr(self, f"{prefix}_constraint", constraints.get(constraint))

    def _window_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    def get_config(self):
        """Keras's keys and order: the layer's own head, activation, then initializers, regularizers and
        constraints of each kernel and the bias."""
        weights = self._kernels + ("bias",)
        return {
            **super().get_config(), **self._head_config(),
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            **{f"{w}_initializer": initializers.serialize(getattr(self, f"{w}_initializer")) for w in weights},
            **{f"{w}_regularizer": regularizers.serialize(getattr(self, f"{w}_regularizer")) for w in weights},
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            **{f"{w}_constraint": constraints.serialize(getattr(self, f"{w}_constraint")) for w in weights},
        }


class BaseConv(_Convolution):
    """N-D convolution (cross-correlation) with `filters` outputs: the base of Conv1D/2D/3D.

    `groups` splits the input channels into that many groups, each convolved with `filters // groups`
    filters; the kernel is [*kernel_size, in_channels // groups, filters].
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.filters = _positive(owner, "filters", filters)
        self.groups = _positive(owner, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(f"{owner}: `filters` ({self.filters}) must be divisible by `groups` ({self.groups}).")
        self._weight_args("kernel", kernel_initializer, kernel_regularizer, kernel_constraint)

    def _make_kernels(self, channels):
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): the input's {channels} channels must be divisible by "
                f"groups={self.groups}."
            )
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def _out_channels(self, channels):
        return self.filters

    def _convolve(self, inputs):
        return window_ops.conv(inputs, self.kernel.value, self.strides, self._pads(inputs.shape), (1,) * self.rank,
                               self.dilation_rate, window_ops.dimension_numbers(self.rank, self.data_format), self.groups)

    def _head_config(self):
        return {"filters": self.filters, **self._window_config(), "groups": self.groups}


class Conv1D(BaseConv):
    """1-D convolution: [batch, steps, channels] -> [batch, new_steps, filters].

    padding: "valid", "same" or "causal" (left-padded, for temporal models: output t sees inputs <= t).
    """

    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(BaseConv):
    """2-D convolution: [batch, rows, cols, channels] -> [batch, new_rows, new_cols, filters]."""

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution: [batch, dim1, dim2, dim3, channels] -> [batch, new_dim1, new_dim2, new_dim3, filters]."""

    rank = 3


def _transpose_pads(kernel, stride, dilation, padding, output_padding):
    """(before, after) zeros around the stride-dilated input for Keras's transposed-convolution output size.

    valid: (in - 1) * stride + span + output_padding, with output_padding defaulting to max(span, stride) - span;
    same:  in * stride, or (in - 1) * stride + span % 2 + output_padding when it is given.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    total = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, span - 1)
    return before, total - before


class BaseConvTranspose(BaseConv):
    """N-D transposed convolution (the gradient of a convolution with respect to its input): the base of
    Conv1D/2D/3DTranspose. Kernel [*kernel_size, filters, in_channels]; no `groups`.

    `output_padding` (each entry < the stride) adds that many rows/cols at the end of each axis.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        if "groups" in kwargs:
            raise TypeError(f"{type(self).__name__} takes no `groups` argument (Keras's transposed convolutions "
                            "have none); use Conv*D for grouped convolutions.")
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        owner = type(self).__name__
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = spatial.int_tuple(owner, "output_padding", output_padding, self.rank,
                                                    allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{owner}: every entry of `output_padding` must be smaller than the matching stride; got "
                    f"output_padding={self.output_padding}, strides={self.strides}."
                )

    def _check_fits(self, input_shape):
        pass  # a transposed convolution grows its input: any kernel fits

    def _make_kernels(self, channels):
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")

    def _pads(self, input_shape):
        padding = self.output_padding or (None,) * self.rank
        return [_transpose_pads(k, s, d, self.padding, p)
                for k, s, d, p in zip(self.kernel_size, self.strides, self.dilation_rate, padding)]

    def _output_size(self, size, axis):
        if size is None:
            return None
        before, after = self._pads(None)[axis]
        span = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
        return (size - 1) * self.strides[axis] + 1 + before + after - span + 1

    def _convolve(self, inputs):
        # A convolution of the stride-dilated input with the spatially flipped kernel, in and out swapped.
        kernel = jnp.swapaxes(jnp.flip(self.kernel.value, axis=tuple(range(self.rank))), -1, -2)
        return window_ops.conv(inputs, kernel, (1,) * self.rank, self._pads(inputs.shape), self.strides,
                               self.dilation_rate, window_ops.dimension_numbers(self.rank, self.data_format))

    def _head_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "output_padding": self.output_padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution: [batch, steps, channels] -> [batch, new_steps, filters]."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution: [batch, rows, cols, channels] -> [batch, new_rows, new_cols, filters]."""

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution: [batch, d1, d2, d3, channels] -> [batch, new_d1, new_d2, new_d3, filters]."""

    rank = 3


class BaseDepthwiseConv(_Convolution):
    """Depthwise convolution: each input channel convolved on its own with `depth_multiplier` filters.

    Output channel c * depth_multiplier + m is channel c's m-th filter (Keras's order).
    """

    _strides_with_dilation = True
    _kernels = ("depthwise",)

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, bias_constraint, activity_regularizer, **kwargs)
        self.depth_multiplier = _positive(type(self).__name__, "depth_multiplier", depth_multiplier)
        self._weight_args("depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def _make_kernels(self, channels):
        self.kernel = self._depthwise_weight(channels, "kernel")

    def _depthwise_weight(self, channels, name):
        return self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                               initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                               constraint=self.depthwise_constraint, name=name)

    def _out_channels(self, channels):
        return channels * self.depth_multiplier

    def _depthwise(self, inputs, kernel):
        channels, multiplier = kernel.shape[-2:]
        kernel = jnp.reshape(kernel, self.kernel_size + (1, channels * multiplier))
        return window_ops.conv(inputs, kernel, self.strides, self._pads(inputs.shape), (1,) * self.rank,
                               self.dilation_rate, window_ops.dimension_numbers(self.rank, self.data_format), channels)

    def _convolve(self, inputs):
        return self._depthwise(inputs, self.kernel.value)

    def _head_config(self):
        return {"depth_multiplier": self.depth_multiplier, **self._window_config()}


class DepthwiseConv1D(BaseDepthwiseConv):
    """Depthwise 1-D convolution: [batch, steps, channels] -> [batch, new_steps, channels * depth_multiplier]."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """Depthwise 2-D convolution: [batch, rows, cols, channels] -> [batch, new_rows, new_cols,
    channels * depth_multiplier]."""

    rank = 2


class BaseSeparableConv(BaseDepthwiseConv):
    """Depthwise convolution followed by a pointwise (1x1) convolution to `filters` channels."""

    _kernels = ("depthwise", "pointwise")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.filters = _positive(type(self).__name__, "filters", filters)
        self._weight_args("pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def _make_kernels(self, channels):
        self.depthwise_kernel = self._depthwise_weight(channels, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")

    def _out_channels(self, channels):
        return self.filters

    def _convolve(self, inputs):
        hidden = self._depthwise(inputs, self.depthwise_kernel.value)
        pointwise = jnp.reshape(self.pointwise_kernel.value, (-1, self.filters))
        if self.data_format == "channels_first":
            return jnp.moveaxis(jnp.moveaxis(hidden, 1, -1) @ pointwise, -1, 1)
        return hidden @ pointwise

    def _head_config(self):
        return {"depth_multiplier": self.depth_multiplier, "filters": self.filters, **self._window_config()}


class SeparableConv1D(BaseSeparableConv):
    """Separable 1-D convolution: [batch, steps, channels] -> [batch, new_steps, filters]."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """Separable 2-D convolution: [batch, rows, cols, channels] -> [batch, new_rows, new_cols, filters]."""

    rank = 2


# Keras's other public names for the same classes.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (Conv1DTranspose, Conv2DTranspose,
                                                                          Conv3DTranspose)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
