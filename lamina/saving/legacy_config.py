"""Configs written by Keras 2 (tf.keras), turned into the Keras 3 form lamina's classes read.

Keras 3 configs pass through unchanged. What changes:

* functional `inbound_nodes` as lists `[[layer, node, tensor, kwargs], ...]` become
  `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` references;
* an `InputLayer`'s `batch_input_shape` becomes `batch_shape`; a one-element `axis` list an int;
* a `Lambda`'s `function` stored as `[code, defaults, closure]` becomes Keras 3's
  `{"class_name": "__lambda__", ...}` (still refused in safe mode), a named function
  `{"class_name": "function", ...}`;
* the `training_config` of a `.h5` file becomes `compile` arguments: the optimizer's
  `Custom>Adam` is `Adam` and Keras-2-only keys are dropped, losses' `reduction="auto"`
  is `"sum_over_batch_size"`, per-output metric lists of a one-output model are flattened and
  metric names tf.keras prefixed with their output's name ("main_mae") lose the prefix,
  and `steps_per_execution=1` (Keras's default, written into every file) becomes lamina's "auto".
"""

from lamina.backend import registry

_LAMBDA_KEYS = ("function_type", "module", "output_shape_type", "output_shape_module")
_OPTIMIZER_KEYS_KERAS2 = ("is_legacy_optimizer", "jit_compile")


def _tensor_ref(entry):
    if not isinstance(entry, (list, tuple)) or len(entry) not in (3, 4) or not isinstance(entry[0], str):
        raise ValueError(f"invalid inbound node entry {entry!r} (expected [layer_name, node_index, tensor_index]).")
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": None, "keras_history": list(entry[:3])}}


def _node(node):
    if isinstance(node, dict):
        return node
    if not isinstance(node, (list, tuple)):
        raise ValueError(f"invalid inbound node {node!r}.")
    refs = [_tensor_ref(entry) for entry in node]
    kwargs = {}
    for entry in node:
        if len(entry) == 4 and isinstance(entry[3], dict):
            kwargs = dict(entry[3])
    return {"args": [refs[0] if len(refs) == 1 else refs], "kwargs": kwargs}


def _function(value, kind, module):
    if isinstance(value, (list, tuple)):
        if kind == "lambda" or kind is None:
            code, defaults, closure = (list(value) + [None, None, None])[:3]
            return {"class_name": "__lambda__", "config": {"code": code, "defaults": defaults, "closure": closure}}
    if isinstance(value, str) and kind == "function":
        return {"class_name": "function", "config": value, "module": module, "registered_name": None}
    return value


def _layer(entry):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return entry
    entry = dict(entry)
    config = dict(entry["config"])
    class_name = entry.get("class_name")
    if class_name == "InputLayer" and "batch_input_shape" in config:
        config.setdefault("batch_shape", config.pop("batch_input_shape"))
    if isinstance(config.get("axis"), list) and len(config["axis"]) == 1:
        config["axis"] = int(config["axis"][0])
    if class_name == "Lambda":
        config["function"] = _function(config.get("function"), config.get("function_type"), config.get("module"))
        if config.get("output_shape") is not None:
            config["output_shape"] = _function(config["output_shape"], config.get("output_shape_type"),
                                               config.get("output_shape_module"))
        for key in _LAMBDA_KEYS:
            config.pop(key, None)
    if isinstance(config.get("layers"), list):  # a nested Sequential or functional model
        config = convert_model_config({"class_name": class_name, "config": config})["config"]
    entry["config"] = config
    if isinstance(entry.get("inbound_nodes"), list):
        entry["inbound_nodes"] = [_node(n) for n in entry["inbound_nodes"]]
    return entry


def convert_model_config(config):
    """A model config ({"class_name", "config"}) in Keras 3's form (Keras 3 configs come back unchanged)."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        return config
    inner = dict(config["config"])
    if isinstance(inner.get("layers"), list):
        inner["layers"] = [_layer(layer) for layer in inner["layers"]]
    return {**config, "config": inner}


# ----- training configs -------------------------------------------------------------------------


def _optimizer(config):
    if not isinstance(config, dict):
        return config
    class_name = config.get("class_name")
    if isinstance(class_name, str) and class_name.startswith("Custom>"):
        bare = class_name.split(">", 1)[1]
        if bare.lower() in registry.builtins("optimizer"):
            class_name = bare
    inner = dict(config.get("config") or {})
    for key in _OPTIMIZER_KEYS_KERAS2:
        inner.pop(key, None)
    if inner.get("decay") in (0, 0.0):
        inner.pop("decay")
    if "lr" in inner and "learning_rate" not in inner:
        inner["learning_rate"] = inner.pop("lr")
    return {"class_name": class_name, "config": inner}


def _loss(spec):
    if isinstance(spec, list):
        return [_loss(s) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _loss(v) for k, v in spec.items()}
    if isinstance(spec, dict) and isinstance(spec.get("config"), dict):
        inner = dict(spec["config"])
        if inner.get("reduction") == "auto":
            inner["reduction"] = "sum_over_batch_size"
        if spec.get("class_name") != "LossFunctionWrapper":
            inner.pop("fn", None)
        return {**spec, "config": inner}
    return spec


def _unprefixed(metric, output):
    """tf.keras 2 saved a metric of output "main" as "main_mae"; compiled again it must be "mae"."""
    if isinstance(metric, dict) and isinstance(metric.get("config"), dict):
        name = metric["config"].get("name")
        if isinstance(name, str) and name.startswith(f"{output}_"):
            return {**metric, "config": {**metric["config"], "name": name[len(output) + 1:]}}
    return metric


def _metrics(spec, output_names):
    if not isinstance(spec, list) or len(spec) != len(output_names) or not all(isinstance(s, list) for s in spec):
        return spec
    if len(output_names) == 1:
        return spec[0]  # tf.keras 2 writes one list per output
    return [[_unprefixed(m, output) for m in metrics] for metrics, output in zip(spec, output_names)]


def compile_config_from_training_config(training_config, output_names):
    """`compile` keyword arguments from a `.h5` file's `training_config` (Keras 2 or 3), for a model with
    these outputs."""
    if not isinstance(training_config, dict):
        raise ValueError(f"training_config should be a dict, got {type(training_config).__name__}.")
    config = {
        "optimizer": _optimizer(training_config.get("optimizer_config")),
        "loss": _loss(training_config.get("loss")),
        "metrics": _metrics(training_config.get("metrics"), output_names),
        "weighted_metrics": _metrics(training_config.get("weighted_metrics"), output_names),
        "loss_weights": training_config.get("loss_weights"),
    }
    for key in ("run_eagerly", "jit_compile", "steps_per_execution"):
        if key in training_config:
            config[key] = training_config[key]
    return normalize_compile_config(config)


def normalize_compile_config(config):
    """A compile config from a file, as lamina compiles it (see the module docstring)."""
    config = dict(config)
    if config.get("steps_per_execution") == 1:
        config.pop("steps_per_execution")
    if isinstance(config.get("optimizer"), dict):
        config["optimizer"] = _optimizer(config["optimizer"])
    return config
