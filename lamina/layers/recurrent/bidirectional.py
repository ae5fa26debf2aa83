"""`Bidirectional`: a recurrent layer run forwards and backwards over the sequence, outputs merged."""

import jax
import jax.numpy as jnp

from lamina.backend import registry
from lamina.layers.base import Layer, _call_accepts, _fmt

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed(layer, prefix, **changes):
    """A new layer from `layer`'s config, named `prefix + name` (an existing prefix is not doubled)."""
    config = registry.serialize_keras_object(layer)
    name = layer.name[len(prefix):] if layer.name.startswith(prefix) else layer.name
    config["config"] = {**config["config"], "name": prefix + name, **changes}
    return registry.deserialize_keras_object(config, None, "layer")


class Bidirectional(Layer):
    """Runs `layer` (an RNN) forwards and a copy of it (or `backward_layer`) backwards, and merges.

    Input [batch, timesteps, features]. With `merge_mode` "concat" (default) the output has twice the
    units; "sum", "ave", "mul" combine elementwise; None returns `[forward, backward]`. With
    `return_sequences` the backward outputs are put back in time order first. `return_state` appends
    the forward states, then the backward ones. `initial_state` is split in halves the same way.

    Args:
        layer: the recurrent layer; the forward layer is a copy named `forward_<name>`.
        merge_mode: "concat", "sum", "ave", "mul" or None.
        weights: optional initial weights (forward then backward), set when the layer is built.
        backward_layer: the layer to run backwards (`go_backwards=True`); default a copy of `layer`
            named `backward_<name>`.

    As in Keras, the wrapped layers output zeros at masked steps when they return sequences.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: `layer` must be a Layer instance (e.g. LSTM(8)); got {layer!r}.")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional: `backward_layer` must be a Layer instance; got {backward_layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: `merge_mode` must be one of {list(_MERGE_MODES)}; got {merge_mode!r}.")
        super().__init__(**kwargs)
        self.forward_layer = _renamed(layer, "forward_")
        if backward_layer is None:
            self.backward_layer = _renamed(layer, "backward_", go_backwards=True)
        else:
            self.backward_layer = backward_layer
        self._verify_pair()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = None if weights is None else list(weights)
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _verify_pair(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                f"Bidirectional '{self.name}': the forward and backward layers must differ in `go_backwards`; both "
                f"have go_backwards={fwd.go_backwards}."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    f"Bidirectional '{self.name}': the forward and backward layers must agree on `{attr}`; got "
                    f"{getattr(fwd, attr)} (forward) and {getattr(bwd, attr)} (backward)."
                )

    def _check_inputs(self, inputs):
        shape = tuple(jax.tree_util.tree_leaves(inputs)[0].shape)
        if len(shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (Bidirectional) expects sequences shaped (batch, timesteps, features), but "
                f"received an input of shape {_fmt(shape)} (rank {len(shape)})."
            )

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_inputs(jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in sequences_shape), "float32"))
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub.build(sequences_shape)
                sub.built = True
        self.built = True
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    # ----- calling ------------------------------------------------------------------------------

    def call(self, sequences, initial_state=None, mask=None, training=None):
        kwargs = {}
        if _call_accepts(self.forward_layer, "training"):
            kwargs["training"] = training
        if _call_accepts(self.forward_layer, "mask"):
            kwargs["mask"] = mask
        forward_kwargs, backward_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_kwargs["initial_state"] = list(initial_state[:half])
            backward_kwargs["initial_state"] = list(initial_state[half:])
        y = self.forward_layer(sequences, **forward_kwargs)
        y_rev = self.backward_layer(sequences, **backward_kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output

    def compute_mask(self, inputs, mask=None):
        """The input mask on the output(s) with `return_sequences`, else None; None for the states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else [mask]
        else:
            output_mask = [None, None] if self.merge_mode is None else [None]
        if self.return_state:
            return output_mask + [None] * (len(self.forward_layer.state_size) * 2)
        return output_mask if self.merge_mode is None else output_mask[0]

    # ----- states -------------------------------------------------------------------------------

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states) + tuple(self.backward_layer.states)
        return None

    def reset_state(self):
        if not self.stateful:
            raise AttributeError(f"Bidirectional '{self.name}': reset_states() needs a stateful layer.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        self.reset_state()

    # ----- config -------------------------------------------------------------------------------

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": registry.serialize_keras_object(self.forward_layer),
                "backward_layer": registry.serialize_keras_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = registry.deserialize_keras_object(config["layer"], None, "layer", custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = registry.deserialize_keras_object(config["backward_layer"], None, "layer",
                                                                         custom_objects)
        return super().from_config.__func__(cls, config)
