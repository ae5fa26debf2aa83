"""`Sequential`: a plain stack of layers, one input and one output."""

from lamina.layers import symbolic
from lamina.backend import registry
from lamina.layers.base import Layer, report_output_mask
from lamina.layers.input_layer import InputLayer
from lamina.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    The model is built as soon as its input shape is known: from an `Input` /
    `InputLayer` first entry or an `input_shape=` / `input_dim=` argument on
    the first layer; otherwise on the first call or `fit` (deferred build).
    Each `add` on a built model checks the new layer against the previous
    output right away, so shape mistakes surface at the line that makes them.
    """

    _untracked = Model._untracked | {"_stack", "_input_layer", "_outputs_by_depth"}

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._input_layer = None
        self._outputs_by_depth = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (or an `Input` tensor as the first entry)."""
        if symbolic.is_symbolic(layer) and layer.node is not None and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer instance, got {layer!r} ({type(layer).__name__}).")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError("Sequential: an InputLayer / Input can only be the first entry of the model.")
            self._set_input(layer)
            return
        if not self._stack and self._input_layer is None and layer._batch_input_shape is not None:
            self._set_input(InputLayer(batch_shape=layer._batch_input_shape))
        self._stack.append(layer)
        self._reset_engine()  # compiled and NumPy programs of the old layer stack
        if self._input_layer is not None:
            self._outputs_by_depth.append(layer(self._outputs_by_depth[-1]))
            self._output_shapes = self._outputs_by_depth[-1].shape

    def _set_input(self, input_layer):
        self._input_layer = input_layer
        self._outputs_by_depth = [input_layer.output]
        self._batch_input_shape = input_layer.batch_shape
        self.built = True

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise ValueError("Sequential.pop: the model has no layers to remove.")
        layer = self._stack.pop()
        self._reset_engine()
        if self._input_layer is not None:
            self._outputs_by_depth.pop()
            self._output_shapes = self._outputs_by_depth[-1].shape
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _tracked_children(self):
        return [("layers", self.layers)] + super()._tracked_children()

    def _output_layers(self, count):
        return [self._stack[-1]] if self._stack else [None]

    @property
    def inputs(self):
        return [self._input_layer.output] if self._input_layer is not None else None

    @property
    def outputs(self):
        return [self._outputs_by_depth[-1]] if self._input_layer is not None else None

    @property
    def input_shape(self):
        return self._batch_input_shape

    def build(self, input_shape=None):
        if self._input_layer is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': build() needs an input_shape, e.g. (None, 8).")
        stack, self._stack = self._stack, []
        self._set_input(InputLayer(batch_shape=(None,) + tuple(input_shape)[1:]))
        for layer in stack:
            self.add(layer)

    def call(self, inputs, training=None, mask=None):
        """Each layer's outputs, and their mask, feed the next layer."""
        x = inputs
        for layer in self._stack:
            x, mask = layer._call_with_mask((x,), {}, mask)
        report_output_mask(mask)
        return x

    def get_config(self):
        layers = [registry.serialize_keras_object(layer) for layer in self._stack]
        if self._input_layer is not None:
            layers.insert(0, registry.serialize_keras_object(self._input_layer))
        return {"name": self.name, "trainable": self.trainable, "layers": layers}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = [registry.deserialize_keras_object(c, None, "layer", custom_objects) for c in config["layers"]]
        return cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
