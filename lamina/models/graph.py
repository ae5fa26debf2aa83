"""The graph of a functional model: layer calls from `Input`s to outputs, run and written as Keras configs.

`Graph(inputs, outputs)` traces the nodes (layer calls) reachable from the outputs,
orders the layers as Keras lists them, runs the graph on arrays, and reads and writes
Keras 3's config format, where each layer entry carries `inbound_nodes`: for every call
of the layer inside the model, its arguments with tensors written as
`{"class_name": "__keras_tensor__", "config": {"shape", "dtype",
"keras_history": [layer_name, node_index, tensor_index]}}`.

A `Model` built from `inputs, outputs` (a `Functional`, or a `Model` subclass whose
`__init__` passes them on) holds one.
"""

import jax

from lamina.backend import registry
from lamina.layers import symbolic
from lamina.layers.base import _fmt, current_training, flat_masks, structure_mask
from lamina.layers.input_layer import InputLayer


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


class Graph:
    """The layer calls between `inputs` and `outputs` (an `Input` tensor, or a list / dict of them)."""

    def __init__(self, inputs, outputs, model_name):
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self.name = model_name
        self.inputs_struct = inputs
        self.outputs_struct = outputs
        self.flat_inputs = symbolic.symbolic_leaves(inputs)
        self.flat_outputs = symbolic.symbolic_leaves(outputs)
        self._check_ends(inputs, outputs)
        nodes, first_visit = _trace_nodes(self.flat_outputs)
        given = {id(t) for t in self.flat_inputs}
        for node in nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs) not in given:
                raise ValueError(
                    f"Graph disconnected: the outputs depend on Input '{node.layer.name}', which is not among "
                    f"the model's inputs ({', '.join(t.name or '?' for t in self.flat_inputs)}). Pass it in `inputs`."
                )
        self.nodes = [n for n in nodes if not isinstance(n.layer, InputLayer)]
        input_layers = [t.node.layer for t in self.flat_inputs]
        self.layers = _keras_layer_order(nodes, first_visit, input_layers)
        self.output_shapes = _unpack_singleton(
            jax.tree_util.tree_map(lambda t: t.shape, outputs, is_leaf=symbolic.is_symbolic))

    def _check_ends(self, inputs, outputs):
        for t in symbolic.symbolic_leaves(inputs) or [inputs]:
            if not symbolic.is_symbolic(t) or t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must be tensors returned by `keras.Input(...)`; got {t!r}."
                )
        if not self.flat_outputs:
            raise ValueError(f"Model outputs must be symbolic tensors from layer calls; got {outputs!r}.")

    @property
    def input_names(self):
        return [t.node.layer.name for t in self.flat_inputs]

    @property
    def output_names(self):
        if isinstance(self.outputs_struct, dict):
            return list(self.outputs_struct)
        return [t.node.layer.name for t in self.flat_outputs]

    def output_layers(self):
        """For each output, the layer that produced it when that layer is called once with one output, else None."""
        found = []
        for tensor in self.flat_outputs:
            layer = tensor.node.layer
            uses = sum(1 for n in self.nodes if n.layer is layer)
            single_output = not isinstance(tensor.node.outputs, (list, tuple, dict))
            found.append(layer if uses == 1 and single_output else None)
        return found

    def _match_inputs(self, inputs):
        """Map the call's inputs onto the model's Input tensors, checking count and shapes."""
        expected = self.flat_inputs
        names = [t.node.layer.name for t in expected]
        if isinstance(inputs, dict):
            if isinstance(self.inputs_struct, dict):
                keys = list(self.inputs_struct)
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

    def run(self, inputs, mask=None):
        """`(outputs, output masks)` for concrete `inputs`, layer call by layer call.

        Each tensor's mask travels next to its value: `mask` gives the inputs' masks (one, or a
        list in input order), a layer call receives the mask of its first argument and its outputs
        carry what the layer computes (`Layer._call_with_mask`). The masks come back in the
        outputs' structure (None where an output has none).
        """
        flat = self._match_inputs(inputs)
        values = {id(t): x for t, x in zip(self.flat_inputs, flat)}
        masks = {}
        if mask is not None:
            given = mask if isinstance(mask, (list, tuple)) and len(self.flat_inputs) > 1 else [mask]
            masks.update({id(t): m for t, m in zip(self.flat_inputs, given) if m is not None})
        fetch = lambda t: values[id(t)] if symbolic.is_symbolic(t) else t  # noqa: E731
        mode = current_training()  # this call's flag; None when the caller gave none
        for node in self.nodes:
            args, kwargs = jax.tree_util.tree_map(fetch, (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
            if mode is not None and "training" in kwargs:
                # Like Keras: the model's flag overrides one recorded in the graph (Keras configs
                # store `training: False` on Dropout calls, which must still drop out in `fit`).
                kwargs = {**kwargs, "training": mode}
            first = node.args[0] if node.args else None
            in_mask = structure_mask([masks.get(id(t)) if symbolic.is_symbolic(t) else None
                                      for t in jax.tree_util.tree_leaves(first, is_leaf=symbolic.is_symbolic)], first)
            out, out_mask = node.layer._call_with_mask(args, kwargs, in_mask)
            out_leaves = jax.tree_util.tree_leaves(out)
            tensors = symbolic.symbolic_leaves(node.outputs)
            for tensor, value, m in zip(tensors, out_leaves, flat_masks(out_mask, len(tensors))):
                values[id(tensor)] = value
                if m is not None:
                    masks[id(tensor)] = m
        outputs = _unpack_singleton(jax.tree_util.tree_map(fetch, self.outputs_struct, is_leaf=symbolic.is_symbolic))
        output_masks = _unpack_singleton(jax.tree_util.tree_map(
            lambda t: masks.get(id(t)), self.outputs_struct, is_leaf=symbolic.is_symbolic))
        return outputs, output_masks

    def nodes_by_layer(self):
        """{layer id: [nodes of that layer inside this graph, in call order]} (Keras numbers nodes so)."""
        inside = {id(t.node) for t in self.flat_inputs} | {id(node) for node in self.nodes}
        return {id(layer): [n for n in layer._inbound_nodes if id(n) in inside] for layer in self.layers}


def graph_config(model, graph):
    """Keras's functional config of `model` (which holds `graph`)."""
    by_layer = graph.nodes_by_layer()

    def history(tensor):
        nodes = by_layer[id(tensor.node.layer)]
        return [tensor.node.layer.name, nodes.index(tensor.node), tensor.index]

    def encode(x):
        if symbolic.is_symbolic(x):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype, "keras_history": history(x)}}
        return _encode_index(x)

    layers = []
    for layer in graph.layers:
        entry = registry.serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = []
        if not isinstance(layer, InputLayer):
            for node in by_layer.get(id(layer), []):
                args, kwargs = jax.tree_util.tree_map(encode, (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
                entry["inbound_nodes"].append({"args": list(args), "kwargs": kwargs})
        layers.append(entry)

    def ends(struct):
        if isinstance(struct, dict):  # by key: the flat leaves come in sorted-key order, not the dict's
            return {key: history(value) for key, value in struct.items()}
        flat = [history(t) for t in symbolic.symbolic_leaves(struct)]
        return flat if isinstance(struct, list) else flat[0]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": ends(graph.inputs_struct), "output_layers": ends(graph.outputs_struct)}


def _encode_index(x):
    """Slices and `...` in a call's arguments (`x[:, :2]`) the way Keras 3 writes them."""
    if isinstance(x, slice):
        return {"class_name": "__slice__", "config": {"start": x.start, "stop": x.stop, "step": x.step}}
    if x is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    return x


def _decode_index(x):
    """The inverse of `_encode_index` over a JSON tree; a list holding slices or `...` is an index tuple
    (JSON has no tuples; Keras's GetItem makes the same conversion)."""
    if isinstance(x, dict):
        if x.get("class_name") == "__slice__":
            config = x.get("config", {})
            return slice(config.get("start"), config.get("stop"), config.get("step"))
        if x.get("class_name") == "__ellipsis__":
            return Ellipsis
        return {k: _decode_index(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [_decode_index(v) for v in x]
        return tuple(items) if any(isinstance(v, slice) or v is Ellipsis for v in items) else type(x)(items)
    return x


def _check_references(config):
    """Every layer a config's calls and ends refer to must be among its layers (else a clear error)."""
    if not isinstance(config.get("layers"), list):
        raise ValueError("Functional config: 'layers' must be a list of layer configs.")
    names = {entry.get("name") or entry.get("config", {}).get("name") for entry in config["layers"]}

    def refs(tree):
        return [x["config"]["keras_history"][0] for x in jax.tree_util.tree_leaves(tree, is_leaf=_is_tensor_ref)
                if _is_tensor_ref(x)]

    for entry in config["layers"]:
        for name in refs(entry.get("inbound_nodes", [])):
            if name not in names:
                raise ValueError(f"Functional config: layer '{entry.get('name')}' is called on the output of layer "
                                 f"'{name}', which is not among the config's layers.")
    for key in ("input_layers", "output_layers"):
        ends = config.get(key)
        flat = jax.tree_util.tree_leaves(ends, is_leaf=lambda x: isinstance(x, list) and len(x) == 3
                                         and isinstance(x[0], str))
        for item in flat:
            name = item[0] if isinstance(item, list) else item
            if isinstance(name, str) and name not in names:
                raise ValueError(f"Functional config: its {key} name layer '{name}', which is not among its layers.")


def _is_tensor_ref(x):
    return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"


def graph_from_config(config, custom_objects=None):
    """(inputs, outputs) rebuilt from Keras's functional config: new layers, called like the saved ones."""
    _check_references(config)
    created = {}
    produced = {}  # layer name -> list of node outputs
    pending = []
    for entry in config["layers"]:
        layer = registry.deserialize_keras_object(entry, None, "layer", custom_objects)
        created[entry["name"]] = layer
        if isinstance(layer, InputLayer):
            produced[entry["name"]] = [layer.output]
        for node in entry.get("inbound_nodes", []):
            pending.append((entry["name"], node))

    def resolve(ref):
        name, node_index, tensor_index = ref["config"]["keras_history"]
        out = produced[name][node_index]
        return symbolic.symbolic_leaves(out)[tensor_index]

    def ready(node):
        refs = [x for x in jax.tree_util.tree_leaves(node, is_leaf=_is_tensor_ref) if _is_tensor_ref(x)]
        return all(len(produced.get(r["config"]["keras_history"][0], [])) > r["config"]["keras_history"][1] for r in refs)

    while pending:
        progress = False
        for item in list(pending):
            name, node = item
            # A layer's calls are rebuilt in their own order (node i before node i + 1), so that
            # `produced[name][i]` is the output of call i even when call i waits on a later layer.
            earlier = next(other for other in pending if other[0] == name)
            if earlier is not item or not ready(node):
                continue
            args, kwargs = jax.tree_util.tree_map(
                lambda x: resolve(x) if _is_tensor_ref(x) else x,
                (_decode_index(node.get("args", [])), _decode_index(node.get("kwargs", {}))), is_leaf=_is_tensor_ref,
            )
            produced.setdefault(name, []).append(created[name](*args, **kwargs))
            pending.remove(item)
            progress = True
        if not progress:
            raise ValueError(f"Cannot rebuild the functional graph: unresolved layer calls {[n for n, _ in pending]}.")

    def ends(spec):
        if isinstance(spec, dict):
            return {k: ends(v) for k, v in spec.items()}
        if spec and isinstance(spec[0], (list, tuple)):
            return [ends(s) for s in spec]
        name, node_index, tensor_index = spec
        return symbolic.symbolic_leaves(produced[name][node_index])[tensor_index]

    return ends(config["input_layers"]), ends(config["output_layers"])
