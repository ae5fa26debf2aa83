"""Activation layers: `ReLU`, `LeakyReLU`, `PReLU`, `ELU`, `Softmax`. All keep the input shape."""

import numbers

import jax
import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.base import InputSpec, Layer, _fmt


def _non_negative(owner, arg, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(f"{owner}: `{arg}` must be a non-negative number, got {arg}={value!r}.")
    return float(value)


class ReLU(Layer):
    """`x` where `x >= threshold` (capped at `max_value`), else `negative_slope * (x - threshold)`."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        self.supports_masking = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """`x` for `x >= 0`, `negative_slope * x` otherwise (`alpha=` is the Keras 2 spelling)."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        if alpha is not None:
            negative_slope = alpha
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        self.supports_masking = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with a learned slope: `max(x, 0) - alpha * max(-x, 0)`.

    `alpha` has the input's non-batch shape, with size 1 on `shared_axes`
    (1-indexed axes, e.g. shared_axes=[1, 2] for one slope per image channel).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    f"PReLU: `shared_axes` must be positive ints (1-indexed; the batch axis 0 is excluded), "
                    f"got shared_axes={shared_axes!r}."
                )
            self.shared_axes = [int(a) for a in axes]
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if a >= rank:
                raise ValueError(
                    f"Layer '{self.name}' (PReLU): shared_axes={self.shared_axes} is out of range for inputs of "
                    f"shape {_fmt(input_shape)}."
                )
            shape[a - 1] = 1
        if None in shape:
            raise ValueError(
                f"Layer '{self.name}' (PReLU) needs known sizes on the non-shared axes; got inputs of shape "
                f"{_fmt(input_shape)}. Share the unknown axes with `shared_axes`."
            )
        self.alpha = self.add_weight(shape=shape, initializer=self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, rank) if i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=rank, axes=axes)
        self.built = True

    def call(self, inputs):
        return jax.nn.relu(inputs) - self.alpha.value * jax.nn.relu(-inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU: `alpha` must be a number, got alpha={alpha!r}.")
        self.alpha = float(alpha)
        self.supports_masking = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over `axis` (int or tuple). Positions where `mask` is False get probability 0."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"Softmax: `axis` must be an int or a tuple of ints, got axis={axis!r}.")
            axis = tuple(int(a) for a in axis)
        elif isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Softmax: `axis` must be an int or a tuple of ints, got axis={axis!r}.")
        else:
            axis = int(axis)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(
                m != 1 and m != i for m, i in zip(mask.shape[::-1], inputs.shape[::-1])
            ):
                raise ValueError(
                    f"Layer '{self.name}' (Softmax): `mask` of shape {_fmt(mask.shape)} does not broadcast to "
                    f"the inputs of shape {_fmt(inputs.shape)}."
                )
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            inputs = jnp.where(mask, inputs, -1e9 if inputs.dtype != jnp.float16 else -3e4)
        out = jax.nn.softmax(inputs, axis=self.axis)
        if mask is not None:
            out = jnp.where(mask, out, 0.0)
        return out

    def get_config(self):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return {**super().get_config(), "axis": axis}
