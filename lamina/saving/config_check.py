"""The shape of a Sequential / functional model config, checked before any layer is made.

A config from a file is JSON anyone can edit; a wrong type deep inside it would otherwise surface as
"'int' object is not subscriptable" from the graph builder. `check_model_config` walks the
structure (nested models too) and raises `ValueError` naming the layer and the field that is wrong:
layer entries are objects with a string `class_name` and an object `config`; a functional model's
layers have unique string names and `inbound_nodes` lists; every tensor reference
(`keras_history`, `input_layers`, `output_layers`) is `[layer name, node index, tensor index]`
naming a layer of the same model.
"""


def _is_ref(value):
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in value[1:]))


def _check_refs(spec, names, where):
    """`input_layers` / `output_layers`: a reference, or a list / dict of them."""
    if _is_ref(spec):
        if spec[0] not in names:
            raise ValueError(f"{where} names layer '{spec[0]}', which the model does not have.")
        return
    if isinstance(spec, dict) and spec:
        for key, value in spec.items():
            _check_refs(value, names, f"{where}['{key}']")
        return
    if isinstance(spec, list) and spec:
        for i, value in enumerate(spec):
            _check_refs(value, names, f"{where}[{i}]")
        return
    raise ValueError(f"{where} should be [layer name, node index, tensor index] (or a list / dict of them), "
                     f"got {spec!r:.80}.")


def _tensor_refs(value):
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            yield value
            return
        for item in value.values():
            yield from _tensor_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tensor_refs(item)


def _check_node(node, names, where):
    if isinstance(node, list):  # Keras 2: [[layer, node, tensor(, kwargs)], ...]
        for entry in node:
            if not (isinstance(entry, list) and len(entry) in (3, 4) and _is_ref(entry[:3])
                    and (len(entry) == 3 or isinstance(entry[3], dict))):
                raise ValueError(f"{where}: entry {entry!r:.80} should be [layer name, node index, tensor index, "
                                 "kwargs].")
            if entry[0] not in names:
                raise ValueError(f"{where} takes its input from layer '{entry[0]}', which the model does not have.")
        return
    if not isinstance(node, dict) or not isinstance(node.get("args", []), list) \
            or not isinstance(node.get("kwargs", {}), dict):
        raise ValueError(f"{where} should be {{'args': [...], 'kwargs': {{...}}}}, got {node!r:.80}.")
    for ref in _tensor_refs(node):
        history = ref.get("config", {}).get("keras_history") if isinstance(ref.get("config"), dict) else None
        if not _is_ref(history):
            raise ValueError(f"{where}: a tensor's keras_history should be [layer name, node index, tensor "
                             f"index], got {history!r:.80}.")
        if history[0] not in names:
            raise ValueError(f"{where} takes its input from layer '{history[0]}', which the model does not have.")


def check_model_config(config, where="the model config"):
    """Raise `ValueError` if `config` ({"class_name", "config"}) is not shaped like a Keras model config."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str) \
            or not isinstance(config.get("config"), dict):
        raise ValueError(f"{where} should be an object with a string 'class_name' and an object 'config'.")
    inner = config["config"]
    if "layers" not in inner:
        return  # a subclassed model: its config is its own business
    layers = inner["layers"]
    if not isinstance(layers, list):
        raise ValueError(f"{where}: 'layers' should be a list, got {type(layers).__name__}.")
    functional = "input_layers" in inner or "output_layers" in inner
    names = set()
    for i, entry in enumerate(layers):
        label = f"{where}: layer #{i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str) \
                or not isinstance(entry.get("config"), dict):
            raise ValueError(f"{label} should be an object with a string 'class_name' and an object 'config'.")
        if functional:
            name = entry.get("name")
            if not isinstance(name, str):
                raise ValueError(f"{label} ({entry['class_name']}) has no string 'name'.")
            if name in names:
                raise ValueError(f"{label}: two layers are named '{name}'.")
            names.add(name)
            label = f"{where}: layer '{name}'"
            if not isinstance(entry.get("inbound_nodes", []), list):
                raise ValueError(f"{label}: 'inbound_nodes' should be a list.")
        if "layers" in entry["config"]:
            check_model_config(entry, f"{label} (a nested model)")
    if functional:
        for entry in layers:
            name = entry["name"]
            for j, node in enumerate(entry.get("inbound_nodes", [])):
                _check_node(node, names, f"{where}: layer '{name}', call {j}")
        for key in ("input_layers", "output_layers"):
            _check_refs(inner.get(key), names, f"{where}: '{key}'")
