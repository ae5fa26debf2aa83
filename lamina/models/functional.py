"""Functional models: a graph of layer calls from `Input`s to outputs."""

import jax

from lamina.layers import symbolic
from lamina.layers.base import _fmt, current_training, unique_name
from lamina.layers.input_layer import InputLayer
from lamina.models.model import Model


def _trace_nodes(outputs):
    """Nodes reachable backwards from `outputs`, parents before children.

    Also returns {layer id: index of the layer's first visit} of the same
    depth-first walk (pre-order), which breaks ties in `_keras_layer_order`.
    """
    order, seen, first_visit = [], set(), {}

    def visit(node):
        if id(node) in seen:
            return
        seen.add(id(node))
        first_visit.setdefault(id(node.layer), len(first_visit))
        for parent in node.parent_nodes:
            visit(parent)
        order.append(node)

    for tensor in outputs:
        if tensor.node is None:
            raise ValueError(f"Output {tensor} was not produced by a layer; build outputs by calling layers on Inputs.")
        visit(tensor.node)
    return order, first_visit


def _keras_layer_order(nodes, first_visit, input_layers):
    """The graph's layers in Keras's order: deepest first (depth = layer calls between a
    layer and the outputs, a shared layer taking its deepest call), ties by first visit.

    Keras lists `model.layers` and therefore `get_weights()` in this order, so
    `set_weights(keras_model.get_weights())` lines up.
    """
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers = {id(node.layer): node.layer for node in nodes}
    for layer in input_layers:  # inputs no output depends on
        layers.setdefault(id(layer), layer)
        layer_depth.setdefault(id(layer), 0)
        first_visit.setdefault(id(layer), -1)
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)], first_visit[id(layer)]))


def _unpack_singleton(x):
    """Like Keras, `Model(x, [y])` returns `y`'s value, not a one-element list."""
    return x[0] if isinstance(x, list) and len(x) == 1 else x


class Functional(Model):
    """A model defined by `Model(inputs, outputs)`.

    Args:
        inputs: an `Input` tensor, or a list / dict of them.
        outputs: a symbolic tensor, or a list / dict of them.
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name or unique_name("functional"), trainable=trainable, **kwargs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = symbolic.symbolic_leaves(inputs)
        self._flat_outputs = symbolic.symbolic_leaves(outputs)
        self._check_graph_ends(inputs, outputs)
        nodes, first_visit = _trace_nodes(self._flat_outputs)
        given = {id(t) for t in self._flat_inputs}
        for node in nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs) not in given:
                raise ValueError(
                    f"Graph disconnected: the outputs depend on Input '{node.layer.name}', which is not among "
                    f"the model's inputs ({', '.join(t.name or '?' for t in self._flat_inputs)}). Pass it in `inputs`."
                )
        self._nodes = [n for n in nodes if not isinstance(n.layer, InputLayer)]
        input_layers = [t.node.layer for t in self._flat_inputs]
        self._layers = _keras_layer_order(nodes, first_visit, input_layers)
        self._batch_input_shape = self._flat_inputs[0].shape if len(self._flat_inputs) == 1 else None
        self._output_shapes = _unpack_singleton(
            jax.tree_util.tree_map(lambda t: t.shape, outputs, is_leaf=symbolic.is_symbolic))
        self.built = True

    def _check_graph_ends(self, inputs, outputs):
        for t in symbolic.symbolic_leaves(inputs) or [inputs]:
            if not symbolic.is_symbolic(t) or t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must be tensors returned by `keras.Input(...)`; got {t!r}."
                )
        if not self._flat_outputs:
            raise ValueError(f"Model outputs must be symbolic tensors from layer calls; got {outputs!r}.")

    def _sublayers(self):
        return list(self._layers)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._flat_inputs)

    @property
    def outputs(self):
        return list(self._flat_outputs)

    @property
    def input_shape(self):
        """The input shape(s) with the batch axis (one tuple for a single input)."""
        return _unpack_singleton([t.shape for t in self._flat_inputs])

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._flat_inputs]

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t.node.layer.name for t in self._flat_outputs]

    def build(self, input_shape):
        self.built = True

    def _match_inputs(self, inputs):
        """Map the call's inputs onto the model's Input tensors, checking count and shapes."""
        expected = self._flat_inputs
        names = [t.node.layer.name for t in expected]
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                keys = list(self._inputs_struct)
            else:
                keys = names
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' expects inputs named {keys}, but the dict given lacks {missing} "
                    f"(it has {list(inputs)})."
                )
            flat = [inputs[k] for k in keys]
        else:
            flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            if len(expected) == 1 and isinstance(inputs, (list, tuple)) and len(inputs) != 1:
                flat = [inputs]
        if len(flat) != len(expected):
            raise ValueError(
                f"Model '{self.name}' expects {len(expected)} input(s) ({', '.join(names)}), but it was "
                f"called with {len(flat)}."
            )
        for tensor, value, name in zip(expected, flat, names):
            shape = tuple(getattr(value, "shape", ()))
            want = tensor.shape
            ok = len(shape) == len(want) and all(w is None or w == s for w, s in zip(want[1:], shape[1:]))
            if not ok:
                raise ValueError(
                    f"Input '{name}' of model '{self.name}' expects shape {_fmt(want)}, but received an "
                    f"array of shape {_fmt(shape)}."
                )
        return flat

    def call(self, inputs, training=None):
        flat = self._match_inputs(inputs)
        values = {id(t): x for t, x in zip(self._flat_inputs, flat)}
        fetch = lambda t: values[id(t)] if symbolic.is_symbolic(t) else t  # noqa: E731
        mode = current_training()  # this call's flag; None when the caller gave none
        for node in self._nodes:
            args, kwargs = jax.tree_util.tree_map(fetch, (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
            if mode is not None and "training" in kwargs:
                # Like Keras: the model's flag overrides one recorded in the graph (Keras configs
                # store `training: False` on Dropout calls, which must still drop out in `fit`).
                kwargs = {**kwargs, "training": mode}
            out = node.layer(*args, **kwargs)
            out_leaves = jax.tree_util.tree_leaves(out)
            for tensor, value in zip(symbolic.symbolic_leaves(node.outputs), out_leaves):
                values[id(tensor)] = value
        return _unpack_singleton(jax.tree_util.tree_map(fetch, self._outputs_struct, is_leaf=symbolic.is_symbolic))

    # ----- config ---------------------------------------------------------------------

    def get_config(self):
        from lamina.models.graph_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.models.graph_config import functional_from_config

        return functional_from_config(config, custom_objects)
