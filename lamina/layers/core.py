"""Core layers: `Dense`, `Activation`, `Identity` and `Masking`."""

import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.backend import products
from lamina.layers.base import InputSpec, Layer


def _positive_int(layer, arg, value):
    if isinstance(value, bool) or not isinstance(value, (int,)) or value <= 0:
        try:
            ok = int(value) == value and value > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{layer}: `{arg}` must be a positive integer, got {value!r}.")
    return int(value)


class Dense(Layer):
    """`output = activation(inputs @ kernel + bias)`: [batch, ..., d_in] -> [batch, ..., units]."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = _positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer '{self.name}' (Dense) needs a known last input dimension, got {input_shape}.")
        self.kernel = self.add_weight(shape=(input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        return self.activation(self.pre_activation(inputs))

    def pre_activation(self, inputs):
        """`inputs @ kernel + bias` without the activation (the logits)."""
        out = products.matmul(inputs, self.kernel.value)
        if self.bias is not None:
            out = out + self.bias.value
        return out

    def compute_output_shape(self, input_shape):
        """[batch, ..., d_in] -> [batch, ..., units] (as in Keras, the symbolic call reads it, untraced)."""
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


class Activation(Layer):
    """Applies an activation function by name or callable; shape unchanged."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def pre_activation(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its inputs unchanged (any structure of arrays); a placeholder in a model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs


class Masking(Layer):
    """Marks the time steps whose features all equal `mask_value` as padding.

    [batch, timesteps, features] -> the same, with masked steps set to 0 (as Keras 3 does); the output
    carries the mask `any(inputs != mask_value, axis=-1)` [batch, timesteps], which recurrent layers,
    `GlobalAveragePooling1D`, losses and metrics then skip.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            try:
                mask_value = float(mask_value)
            except (TypeError, ValueError):
                raise ValueError(f"Masking: `mask_value` must be a number, got {mask_value!r}.") from None
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return jnp.where(keep, inputs, jnp.zeros((), inputs.dtype))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
