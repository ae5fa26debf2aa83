"""`TimeDistributed`: one layer applied to every time step of a sequence."""

import jax
import jax.numpy as jnp

from lamina.backend import registry
from lamina.layers.base import Layer, _fmt


class TimeDistributed(Layer):
    """Applies `layer` to every step: [batch, timesteps, ...] -> [batch, timesteps, ...layer's output].

    A layer without state that changes when called (Dense, Conv2D, ...) runs once on all steps
    folded into the batch (one large call, the same numbers). A layer with such state (Dropout draws
    from its seed, BatchNormalization keeps statistics) is called step by step, as Keras does, so its
    draws and statistics are Keras's. A mask [batch, timesteps] is passed to the layer per step when
    it takes one, and passes on unchanged.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a Layer instance (e.g. Dense(8)); got {layer!r}.")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _check_shape(self, shape):
        if len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs of rank >= 3, shaped (batch, timesteps, ...), "
                f"but received an input of shape {_fmt(shape)} (rank {len(shape)})."
            )

    def _check_inputs(self, inputs):
        self._check_shape(tuple(inputs.shape))

    def build(self, input_shape):
        self._check_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer.build((input_shape[0],) + tuple(input_shape[2:]))
            self.layer.built = True
        self.built = True

    def _stateless_inner(self):
        """Whether calling the layer changes none of its variables (no statistics, no seeds)."""
        return not any(l._own_non_trainable or l._own_state_variables() for l in self.layer._flatten_layers())

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim < 2 or tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"Layer '{self.name}' (TimeDistributed): `mask` must start with the inputs' (batch, timesteps) "
                    f"= {_fmt((batch, steps))}, but has shape {_fmt(mask.shape)}."
                )
        kwargs = {"training": training}
        if self._stateless_inner():
            folded = inputs.reshape((batch * steps,) + inputs.shape[2:])
            fold_mask = None if mask is None else mask.reshape((batch * steps,) + mask.shape[2:])
            outputs, _ = self.layer._call_with_mask((folded,), {**kwargs, "mask": fold_mask})
            return jax.tree_util.tree_map(lambda o: o.reshape((batch, steps) + o.shape[1:]), outputs)
        per_step = []
        for t in range(steps):
            step_mask = None if mask is None else mask[:, t]
            per_step.append(self.layer._call_with_mask((inputs[:, t],), {**kwargs, "mask": step_mask})[0])
        return jax.tree_util.tree_map(lambda *outs: jnp.stack(outs, axis=1), *per_step)

    def get_config(self):
        return {**super().get_config(), "layer": registry.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = registry.deserialize_keras_object(config["layer"], None, "layer", custom_objects)
        return super().from_config.__func__(cls, config)
