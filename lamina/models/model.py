"""`Model`: a layer with Keras's training API (`Trainer`), built three ways.

* `Model(inputs=..., outputs=...)` builds a functional model (a `Functional`);
* a subclass of `Model` that defines `call(self, inputs, training=None)`;
* a subclass of `Model` whose `__init__` passes `inputs, outputs` on to
  `super().__init__` (a functional model with custom methods, such as a custom
  `train_step`): it holds the same graph a `Functional` does.
"""

import jax

from lamina.layers import symbolic
from lamina.layers.base import Layer, report_output_mask
from lamina.models import graph as graph_lib
from lamina.training.trainer import Trainer


def _functional_arguments(args, kwargs):
    return "inputs" in kwargs or "outputs" in kwargs or (
        len(args) >= 2 and symbolic.any_symbolic(args[:2]))


class Model(Trainer, Layer):
    """Base of Sequential, functional and subclassed models.

    Subclass it the Keras way: create layers in `__init__`, compute in
    `call(self, inputs, training=None)`; inputs may be arrays, tuples,
    lists or dicts and outputs any such structure.
    """

    _untracked = Layer._untracked | Trainer._untracked_by_trainer | {"_graph"}
    #: The class `Model(inputs, outputs)` makes (set by `lamina.models.functional`).
    _functional_class = None

    def __new__(cls, *args, **kwargs):
        if cls is Model and Model._functional_class is not None and _functional_arguments(args, kwargs):
            return object.__new__(Model._functional_class)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        self._graph = None
        if _functional_arguments(args, kwargs):
            inputs = kwargs.pop("inputs", None)
            outputs = kwargs.pop("outputs", None)
            args = list(args)
            if inputs is None:
                inputs = args.pop(0)
            if outputs is None:
                outputs = args.pop(0)
            if args:
                raise TypeError(f"{type(self).__name__}: unexpected positional arguments after inputs and outputs.")
            Layer.__init__(self, **kwargs)
            Trainer.__init__(self)
            self._graph = graph_lib.Graph(inputs, outputs, self.name)
            flat = self._graph.flat_inputs
            self._batch_input_shape = flat[0].shape if len(flat) == 1 else None
            self._output_shapes = self._graph.output_shapes
            self.built = True
            return
        Layer.__init__(self, *args, **kwargs)
        Trainer.__init__(self)

    def call(self, inputs, training=None, mask=None):
        if self._graph is not None:
            outputs, masks = self._graph.run(inputs, mask)
            report_output_mask(masks)
            return outputs
        raise NotImplementedError(
            f"Model '{self.name}' has no `call` method. Subclasses of Model define "
            "`call(self, inputs, training=None)`, or build a model with "
            "`Model(inputs=..., outputs=...)` or `Sequential([...])`."
        )

    # ----- the graph of a functional model ---------------------------------------------------

    def _tracked_children(self):
        if self._graph is None:
            return super()._tracked_children()
        return [("layers", self._graph.layers)] + super()._tracked_children()

    @property
    def layers(self):
        return list(self._graph.layers) if self._graph is not None else self._layers

    @property
    def inputs(self):
        return list(self._graph.flat_inputs) if self._graph is not None else None

    @property
    def outputs(self):
        return list(self._graph.flat_outputs) if self._graph is not None else None

    @property
    def input_shape(self):
        """The input shape(s) with the batch axis (one tuple for a single input)."""
        if self._graph is None:
            return self._batch_input_shape
        shapes = [t.shape for t in self._graph.flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_names(self):
        return self._graph.input_names if self._graph is not None else None

    @property
    def output_names(self):
        return self._graph.output_names if self._graph is not None else None

    def _output_layers(self, count):
        """For each of the `count` outputs, the layer that produced it when knowable (else None)."""
        if self._graph is not None:
            return self._graph.output_layers()
        return [None] * count

    # ----- inspection -------------------------------------------------------------------

    def build(self, input_shape):
        """Build the weights for inputs of `input_shape` (batch axis included, may be None)."""
        if self._graph is not None:
            self.built = True
            return

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
        from lamina.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    def to_json(self, **kwargs):
        """The model's architecture as a Keras-style JSON string."""
        import json

        from lamina.backend.registry import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    # ----- files ----------------------------------------------------------------------------

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model to `filepath`: `.keras` (Keras 3's format) or `.h5` (legacy); see
        `lamina.saving.save_model`. The write is atomic; `overwrite=False` refuses to replace a file."""
        from lamina import saving

        saving.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and optimizer state) to a `.weights.h5` file in Keras 3's layout."""
        from lamina import saving

        saving.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a `.weights.h5`, `.keras` or legacy `.h5` file, matched by structure; the first
        layer that does not fit is named with both shapes and nothing is changed (see `lamina.saving.load_weights`)."""
        from lamina import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def get_build_config(self):
        """`{"input_shape": ...}` for a model built from an input shape (Sequential and subclassed models)."""
        found = super().get_build_config()
        if found is None and self._graph is None and self.built and self._batch_input_shape is not None:
            found = {"input_shape": list(self._batch_input_shape)}
        if found is None:
            return None

        def any_batch(shape):  # the batch size the model was first called with is not part of the model
            if isinstance(shape, dict):
                return {k: any_batch(v) for k, v in shape.items()}
            if shape and all(d is None or isinstance(d, int) for d in shape):
                return [None] + [None if d is None else int(d) for d in shape[1:]]
            return [any_batch(s) for s in shape] if isinstance(shape, list) else shape

        return {"input_shape": any_batch(found["input_shape"])}

    def get_config(self):
        if self._graph is not None and _takes_inputs_outputs(type(self)):
            return graph_lib.graph_config(self, self._graph)
        overridden = type(self).get_config is not Model.get_config  # a subclass's get_config calling super()
        if type(self).__init__ is not Model.__init__ and not overridden:
            raise NotImplementedError(
                f"Model '{self.name}' ({type(self).__name__}) is subclassed: define `get_config` (and "
                "`from_config` if needed) returning its constructor arguments to serialize or clone it."
            )
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            inputs, outputs = graph_lib.graph_from_config(config, custom_objects)
            return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _takes_inputs_outputs(cls):
    """Whether `cls(inputs, outputs, name=..., trainable=...)` rebuilds it (a plain functional subclass)."""
    import inspect

    if cls.__init__ is Model.__init__:
        return True
    try:
        params = list(inspect.signature(cls.__init__).parameters)[1:]
    except (TypeError, ValueError):
        return False
    return params[:2] == ["inputs", "outputs"]
