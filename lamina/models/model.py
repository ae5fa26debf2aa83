"""`Model`: a layer with training, inspection and a pure `stateless_call`.

`Model(inputs=..., outputs=...)` builds a functional model; subclassing
`Model` and defining `call` gives a subclassed model.
"""

import jax

from lamina.backend.variables import StatelessScope
from lamina.layers.base import Layer
from lamina.training.trainer import Trainer


class Model(Trainer, Layer):
    """Base of Sequential, functional and subclassed models.

    Subclass it the Keras way: create layers in `__init__`, compute in
    `call(self, inputs, training=None)`; inputs may be arrays, tuples,
    lists or dicts and outputs any such structure.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and ("inputs" in kwargs or "outputs" in kwargs or len(args) >= 2):
            from lamina.models.functional import Functional

            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        Layer.__init__(self, *args, **kwargs)
        Trainer.__init__(self)

    def call(self, inputs, training=None):
        raise NotImplementedError(
            f"Model '{self.name}' has no `call` method. Subclasses of Model define "
            "`call(self, inputs, training=None)`, or build a model with "
            "`Model(inputs=..., outputs=...)` or `Sequential([...])`."
        )

    # ----- the pure core ------------------------------------------------------------

    def _state_variables(self):
        """(trainable, non_trainable) variables, from one pass over each list."""
        trainable = self.trainable_variables
        uids = {v.uid for v in trainable}
        return trainable, [v for v in self.weights if v.uid not in uids]

    def get_state(self):
        """The model's weights as a pytree: {"trainable": [...], "non_trainable": [...]}."""
        trainable, non_trainable = self._state_variables()
        return {"trainable": [v.value for v in trainable], "non_trainable": [v.value for v in non_trainable]}

    def set_state(self, state):
        """Write a pytree from `get_state`/`stateless_call` back into the model's variables."""
        trainable, non_trainable = self._state_variables()
        for variables, key in ((trainable, "trainable"), (non_trainable, "non_trainable")):
            values = state[key]
            if len(values) != len(variables):
                raise ValueError(
                    f"Model '{self.name}': state['{key}'] has {len(values)} arrays but the model has "
                    f"{len(variables)} {key} variables."
                )
            for var, value in zip(variables, values):
                var.assign(value)

    def stateless_call(self, state, inputs, training=False, rng=None, batch_mask=None, return_losses=False):
        """Run the model as a pure function of `state` (from `get_state`).

        Returns `(outputs, new_state)`, where `new_state` carries updated
        non-trainable values (e.g. BatchNormalization statistics in training);
        with `return_losses=True`, `(outputs, new_state, losses)` where losses
        is the list of added losses and weight regularization penalties.
        `rng` (a PRNG key) drives dropout and noise layers; `jax.jit`,
        `jax.grad` and `jax.vmap` accept this function.
        """
        if not self.built:
            raise ValueError(
                f"Model '{self.name}' is not built, so it has no state yet. Call it on a batch of data "
                "or call `build(input_shape)` first."
            )
        trainable, non_trainable = self._state_variables()
        variables = list(trainable) + list(non_trainable)
        values = list(state["trainable"]) + list(state["non_trainable"])
        with StatelessScope(variables, values, rng=rng, batch_mask=batch_mask) as scope:
            outputs = self(inputs, training=training)
            losses = list(scope.losses)
            if return_losses:
                losses += [v.regularizer(scope.value_of(v)) for v in variables if v.regularizer is not None]
        new_state = {"trainable": list(state["trainable"]), "non_trainable": [scope.value_of(v) for v in non_trainable]}
        if return_losses:
            return outputs, new_state, losses
        return outputs, new_state

    # ----- inspection -------------------------------------------------------------------

    def build(self, input_shape):
        """Build the weights for inputs of `input_shape` (batch axis included, may be None)."""
        from lamina.layers import symbolic

        def is_shape(s):
            return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)

        def make(s):
            return symbolic.KerasTensor((None,) + tuple(s)[1:], self.dtype)

        spec = jax.tree_util.tree_map(make, input_shape, is_leaf=is_shape)
        self.built = True  # sublayers build during the trace; this call must not recurse into build()
        try:
            out = symbolic.compute_output_spec(self.__call__, (spec,), {})
        except Exception:
            self.built = False
            raise
        self._output_shapes = jax.tree_util.tree_map(lambda t: t.shape, out, is_leaf=symbolic.is_symbolic)

    def get_layer(self, name=None, index=None):
        """A layer by `name` or by `index` in `model.layers`."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give exactly one of `name` or `index`.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        names = ", ".join(layer.name for layer in layers)
        raise ValueError(f"get_layer: no layer named '{name}'. The layers are: {names}.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print the Layer (type) / Output Shape / Param # table with totals."""
        from lamina.utils.summary_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    def to_json(self, **kwargs):
        """The model's architecture as a Keras-style JSON string."""
        import json

        from lamina.saving.serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_config(self):
        if type(self).__init__ is not Model.__init__:
            raise NotImplementedError(
                f"Model '{self.name}' ({type(self).__name__}) is subclassed: define `get_config` (and "
                "`from_config` if needed) returning its constructor arguments to serialize or clone it."
            )
        return {"name": self.name, "trainable": self.trainable}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

