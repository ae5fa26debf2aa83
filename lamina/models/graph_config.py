"""Functional graphs to and from Keras 3's config format.

Each layer entry carries `inbound_nodes`: for every call of the layer inside
the model, its arguments with tensors written as
`{"class_name": "__keras_tensor__", "config": {"shape", "dtype",
"keras_history": [layer_name, node_index, tensor_index]}}`.
"""

import jax

from lamina.layers import symbolic
from lamina.layers.input_layer import InputLayer


def _model_nodes(model):
    """{layer id: [nodes of that layer inside this model, in the order the calls were made]}.

    Like Keras, a node's index is its position among the layer's calls that belong to this model.
    """
    inside = {id(t.node) for t in model._flat_inputs} | {id(node) for node in model._nodes}
    return {id(layer): [n for n in layer._inbound_nodes if id(n) in inside] for layer in model.layers}


def functional_config(model):
    from lamina.saving.serialization import serialize_keras_object

    by_layer = _model_nodes(model)

    def history(tensor):
        nodes = by_layer[id(tensor.node.layer)]
        return [tensor.node.layer.name, nodes.index(tensor.node), tensor.index]

    def encode(x):
        if symbolic.is_symbolic(x):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype, "keras_history": history(x)}}
        return x

    layers = []
    for layer in model.layers:
        entry = serialize_keras_object(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = []
        if not isinstance(layer, InputLayer):
            for node in by_layer.get(id(layer), []):
                args, kwargs = jax.tree_util.tree_map(encode, (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
                entry["inbound_nodes"].append({"args": list(args), "kwargs": kwargs})
        layers.append(entry)

    def ends(struct):
        flat = [history(t) for t in symbolic.symbolic_leaves(struct)]
        if isinstance(struct, dict):
            return dict(zip(struct, flat))
        return flat if isinstance(struct, list) else flat[0]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": ends(model._inputs_struct), "output_layers": ends(model._outputs_struct)}


def _is_tensor_ref(x):
    return isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"


def functional_from_config(config, custom_objects=None):
    from lamina.layers import deserialize
    from lamina.models.functional import Functional

    created = {}
    produced = {}  # layer name -> list of node outputs
    pending = []
    for entry in config["layers"]:
        layer = deserialize(entry, custom_objects=custom_objects)
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
                lambda x: resolve(x) if _is_tensor_ref(x) else x, (node.get("args", []), node.get("kwargs", {})),
                is_leaf=_is_tensor_ref,
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

    return Functional(ends(config["input_layers"]), ends(config["output_layers"]), name=config.get("name"),
                      trainable=config.get("trainable", True))
