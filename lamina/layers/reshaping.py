"""Reshaping layers: `Flatten`, `Reshape`, `Permute`, `RepeatVector`, and the spatial ones:
`UpSampling1D/2D/3D`, `ZeroPadding1D/2D/3D`, `Cropping1D/2D/3D`."""

import math
import numbers

import jax
import jax.numpy as jnp

from lamina.layers import spatial
from lamina.layers.base import InputSpec, Layer, _fmt


class Flatten(Layer):
    """[batch, d1, d2, ...] -> [batch, d1*d2*...]."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        data_format = data_format or "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"Flatten: `data_format` must be 'channels_last' or 'channels_first', got {data_format!r}."
            )
        self.data_format = data_format

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return jnp.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


def _reshape_target(layer, in_shape, target):
    """`target` with its -1 resolved for one example of `in_shape` (None dims unknown -> None)."""
    where = f"Layer '{layer.name}' (Reshape)"
    known = math.prod(d for d in target if d != -1)
    if any(d is None for d in in_shape):
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(in_shape)
    if -1 in target:
        if known == 0 or size % known:
            raise ValueError(
                f"{where}: cannot reshape inputs of shape {_fmt((None,) + tuple(in_shape))} ({size} values per "
                f"example) to target_shape={tuple(target)}: {size} is not divisible by {known}."
            )
        return tuple(size // known if d == -1 else d for d in target)
    if known != size:
        raise ValueError(
            f"{where}: cannot reshape inputs of shape {_fmt((None,) + tuple(in_shape))} ({size} values per "
            f"example) to target_shape={tuple(target)} ({known} values). The sizes must match; use -1 for one "
            "dimension to infer it."
        )
    return tuple(target)


class Reshape(Layer):
    """[batch, *in_shape] -> [batch, *target_shape]; one entry of `target_shape` may be -1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        try:
            target_shape = tuple(target_shape)
        except TypeError:
            raise TypeError(f"Reshape: `target_shape` must be a tuple of ints, got {target_shape!r}.") from None
        for d in target_shape:
            if isinstance(d, bool) or not isinstance(d, numbers.Integral) or (d <= 0 and d != -1):
                raise ValueError(
                    f"Reshape: every entry of `target_shape` must be a positive int or -1, got "
                    f"target_shape={target_shape}."
                )
        if target_shape.count(-1) > 1:
            raise ValueError(
                f"Reshape: at most one entry of `target_shape` may be -1 (inferred), got target_shape={target_shape}."
            )
        self.target_shape = tuple(int(d) for d in target_shape)

    def build(self, input_shape):
        _reshape_target(self, tuple(input_shape)[1:], self.target_shape)
        self.built = True

    def call(self, inputs):
        target = _reshape_target(self, inputs.shape[1:], self.target_shape)
        return jnp.reshape(inputs, (inputs.shape[0],) + target)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorders the non-batch axes: `dims` is a permutation of 1..n (1-indexed, batch axis excluded).

    [batch, d1, ..., dn] -> [batch, d_dims[0], ..., d_dims[n-1]].
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise TypeError(f"Permute: `dims` must be a tuple of ints such as (2, 1), got {dims!r}.") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"Permute: `dims` must be a permutation of 1..{len(dims)} (axis 0, the batch, is excluded), "
                f"got dims={dims}."
            )
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return jnp.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """[batch, features] -> [batch, n, features] (the input repeated `n` times)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"RepeatVector: `n` must be an int, got {n!r} of type {type(n).__name__}.")
        if n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive integer, got n={n}.")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return jnp.broadcast_to(inputs[:, None, :], (inputs.shape[0], self.n, inputs.shape[1]))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


# ----- spatial resizing: UpSampling, ZeroPadding, Cropping ----------------------------------------------


class _SpatialResize(Layer):
    """A shape layer over the `rank` spatial axes of [batch, *spatial, channels] (or channels_first)."""

    rank = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = spatial.data_format_arg(type(self).__name__, data_format)
        self.input_spec = spatial.input_spec(self.rank, self.data_format)

    def _spatial_axes(self):
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _UpSampling(_SpatialResize):
    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = spatial.int_tuple(type(self).__name__, "size", size, self.rank)

    def call(self, inputs):
        for axis, factor in zip(self._spatial_axes(), self.size):
            inputs = jnp.repeat(inputs, factor, axis=axis)
        return inputs

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling1D(_UpSampling):
    """Repeats each step `size` times: [batch, steps, features] -> [batch, steps * size, features]."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"UpSampling1D: `size` must be an int, got {size!r} of type {type(size).__name__}.")
        if "data_format" in kwargs:
            raise TypeError("UpSampling1D takes no `data_format` argument: its input is always (batch, steps, "
                            "channels).")
        super().__init__(size, "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return {**config, "size": self.size[0]}


_RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


class UpSampling2D(_UpSampling):
    """Scales rows and cols by `size`: [batch, rows, cols, channels] -> [batch, rows * size[0], cols * size[1],
    channels]. interpolation: "nearest" (each pixel repeated) or "bilinear", "bicubic", "lanczos3",
    "lanczos5" (`jax.image.resize`, half-pixel centers, as Keras on JAX)."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        method = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if method not in _RESIZE_METHODS:
            raise ValueError(
                f"UpSampling2D: `interpolation` must be one of {', '.join(map(repr, _RESIZE_METHODS))}, got "
                f"interpolation={interpolation!r}."
            )
        self.interpolation = method

    def call(self, inputs):
        if self.interpolation == "nearest":
            return super().call(inputs)
        shape = list(inputs.shape)
        for axis, factor in zip(self._spatial_axes(), self.size):
            shape[axis] *= factor
        return jax.image.resize(inputs, shape, method=self.interpolation, antialias=False)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeats along the three spatial axes: [batch, d1, d2, d3, channels] -> [batch, d1 * size[0],
    d2 * size[1], d3 * size[2], channels]."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


def _amounts(owner, name, value, rank):
    """Keras's padding/cropping argument -> `rank` (before, after) pairs; for rank 1, the pair itself."""
    if rank == 1:
        return (spatial.int_tuple(owner, name, value, 2, allow_zero=True),)
    return spatial.pair_tuple(owner, name, value, rank)


class _ZeroPadding(_SpatialResize):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.pairs = _amounts(type(self).__name__, "padding", padding, self.rank)
        self.padding = self.pairs[0] if self.rank == 1 else self.pairs

    def call(self, inputs):
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(self._spatial_axes(), self.pairs):
            widths[axis] = pair
        return jnp.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


class ZeroPadding1D(_ZeroPadding):
    """Adds zero steps at the start and end: [batch, steps, features] -> [batch, before + steps + after,
    features]; `padding` is an int or (before, after)."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Adds zero rows and cols: [batch, rows, cols, channels] -> [batch, top + rows + bottom, left + cols + right,
    channels]; `padding` is an int, (rows, cols) symmetric, or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Adds zeros around the three spatial axes: [batch, d1, d2, d3, channels] -> padded; `padding` is an int,
    three symmetric ints, or three (before, after) pairs."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_SpatialResize):
    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.pairs = _amounts(type(self).__name__, "cropping", cropping, self.rank)
        self.cropping = self.pairs[0] if self.rank == 1 else self.pairs

    def build(self, input_shape):
        self._check_sizes(input_shape)

    def _check_sizes(self, shape):
        sizes = spatial.spatial_shape(shape, self.data_format)
        if any(n is not None and sum(pair) >= n for n, pair in zip(sizes, self.pairs)):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): cropping={self.cropping} leaves nothing of inputs of "
                f"shape {_fmt(shape)}, i.e. {spatial.layout(self.rank, self.data_format)}: each spatial size must "
                f"exceed its total cropping, got sizes {sizes}."
            )

    def compute_output_shape(self, input_shape):
        """The output shape, with unknown (None) sizes kept unknown."""
        self._check_sizes(input_shape)
        sizes = [None if n is None else n - sum(pair)
                 for n, pair in zip(spatial.spatial_shape(input_shape, self.data_format), self.pairs)]
        return spatial.with_spatial(tuple(input_shape), self.data_format, sizes)

    def call(self, inputs):
        self._check_sizes(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._spatial_axes(), self.pairs):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping1D(_Cropping):
    """Removes steps at the start and end: [batch, steps, features] -> [batch, steps - before - after,
    features]; `cropping` is an int or (before, after)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        if "data_format" in kwargs:
            raise TypeError("Cropping1D takes no `data_format` argument: its input is always (batch, steps, channels).")
        super().__init__(cropping, "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(_Cropping):
    """Removes rows and cols at the edges: [batch, rows, cols, channels] -> [batch, rows - top - bottom,
    cols - left - right, channels]; `cropping` is an int, (rows, cols) symmetric, or ((top, bottom),
    (left, right))."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes entries at the edges of the three spatial axes: [batch, d1, d2, d3, channels] -> cropped;
    `cropping` is an int, three symmetric ints, or three (before, after) pairs."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
