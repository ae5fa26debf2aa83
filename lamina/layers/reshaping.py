"""Reshaping layers: `Flatten`, `Reshape`, `Permute`, `RepeatVector`."""

import math
import numbers

import jax.numpy as jnp

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
