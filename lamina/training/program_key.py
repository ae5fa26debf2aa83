"""The name of a model's compiled program, computed without tracing it.

A program (a training chunk, an evaluation pass) is determined by lamina's own
code, the model's architecture and compile settings, the names its outputs carry,
the shapes of its arguments, and a few global settings. When every object the model
reaches is lamina's (or JAX's, NumPy's, optax's), all of that is written down here and
hashed. The key is sound both ways:

* everything that changes the computation is in it: configs taken inside
  `registry.exact_names()` (functions and classes by module and qualified name, checked
  to lead back to the object), arrays by dtype, shape and the sha256 of their bytes,
  tuples told from lists; built-in classes put every constructor argument in their
  config (`tests/test_training_program_key.py` walks them all); anything that cannot be
  written down exactly (a lambda, a closure, an object without a config) gives no key;
* nothing that does not is in it: the names of layers, models, losses, metrics and
  optimizers are left out (layers are referred to by their position in the config),
  so identical models built one after another share their programs. The names that a
  program does return are kept: the logs' keys (metric names, with the output names
  of a multi-output model) and the keys of dict outputs.

A model holding user code (a custom layer, loss or activation, a subclassed model, a
Lambda of a user function) gets no key, because editing that code would not change
the key; its programs are then traced and keyed by their lowered module
(`lamina.backend.programs`).
"""

import functools
import hashlib
import types

import jax
import numpy as np

from lamina.backend import programs, registry

#: JAX settings that change what a traced program computes.
_JAX_SETTINGS = ("jax_enable_x64", "jax_default_matmul_precision", "jax_threefry_partitionable",
                 "jax_default_prng_impl", "jax_numpy_dtype_promotion", "jax_softmax_custom_jvp", "jax_debug_nans")

#: Modules whose objects a program may depend on without making the key unsafe.
_TRUSTED = ("lamina", "jax", "jaxlib", "numpy", "optax", "ml_dtypes", "builtins")


def program_key(model, name, signature):
    """Hex key of `model`'s program `name` for arguments of `signature`, or None if it holds user code."""
    try:
        description = model_description(model)
    except Exception:  # not describable exactly (NotExact), or a config that fails: traced instead
        return None
    if description is None:
        return None
    return programs.key_for(description, name, signature)


def model_description(model):
    """The JSON-able description of `model` and its compile settings that its program keys hash, or None."""
    if not _only_trusted_code(model):
        return None
    from lamina.backend import config

    with registry.exact_names():
        model_config = {"class": registry.exact_name(type(model)), "config": model.get_config()}
        compile_config = _described_items({k: v for k, v in (model._compile_config or {}).items() if k != "optimizer"})
        optimizer = registry.serialize_keras_object(model.optimizer) if model.optimizer is not None else None
    if optimizer is not None and isinstance(optimizer["config"].get("learning_rate"), float):
        optimizer["config"]["learning_rate"] = "state"  # a float rate is an input of the program
    description = {
        "model": anonymous(model_config),
        "compile": anonymous(compile_config),
        "optimizer": anonymous(optimizer),
        "returns": _returned_names(model),
        "steps": "keras" if model._engine.keras_steps else "lamina",
        "trainable": [layer.trainable for layer in model._flatten_layers()],
        "settings": [config.floatx(), config.epsilon(), config.image_data_format()]
        + [str(getattr(jax.config, name, None)) for name in _JAX_SETTINGS],
    }
    return exact(description)


def _described_items(value):
    """Compile arguments (within `exact_names`) with their losses, metrics and functions in config form."""
    if isinstance(value, dict):
        return {k: _described_items(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_described_items(v) for v in value)
    if callable(value) and not isinstance(value, type):
        return registry.serialize_keras_object(value)
    return value


def _returned_names(model):
    """The names a program returns: its logs' keys, and the output names of a multi-output model."""
    setup = getattr(model._engine, "setup", None)
    if setup is None:
        return None
    logs = []
    for metric in setup.metrics:
        if metric is setup.compile_metrics:
            logs.append([entry[0] for entry in metric.entries or []])
        else:
            logs.append(metric.name)
    return {"logs": logs, "outputs": list(setup.names) if len(setup.names) > 1 else None}


# ----- names out -----------------------------------------------------------------------------------


def anonymous(config):
    """`config` without the names of the objects in it; functional graphs refer to layers by position.

    A "name" is dropped from an object's config (a dict with "class" and "config") and from
    the top level; a functional config's `inbound_nodes`, `input_layers` and
    `output_layers` name layers, which become ["layer", position] (an unknown name raises
    `NotExact`). Any other "name" (say in a Lambda's `arguments`) is kept.
    """
    return _anonymous(config, is_config=True)


def _anonymous(node, is_config=False):
    if isinstance(node, (list, tuple)):
        return type(node)(_anonymous(item) for item in node)
    if not isinstance(node, dict):
        return node
    if is_config and _is_functional(node):
        return _functional(node)
    is_object = "class" in node and "config" in node
    return {k: _anonymous(v, is_config=is_object and k == "config") for k, v in node.items()
            if not (k == "name" and (is_config or is_object) and isinstance(v, str))}


def _is_functional(config):
    return isinstance(config.get("layers"), list) and "input_layers" in config and "output_layers" in config


def _functional(config):
    names = [entry.get("name") if isinstance(entry, dict) else None for entry in config["layers"]]
    if len(set(names)) != len(names) or not all(isinstance(n, str) for n in names):
        raise registry.NotExact("functional config with missing or repeated layer names")
    position = {name: i for i, name in enumerate(names)}

    def ref(history):
        if not (isinstance(history, (list, tuple)) and len(history) == 3 and history[0] in position):
            raise registry.NotExact(f"functional config refers to an unknown layer: {history!r}")
        return ["layer", position[history[0]], history[1], history[2]]

    def tensors(node):  # inbound_nodes: keras tensors anywhere in args / kwargs
        if isinstance(node, dict):
            if node.get("class_name") == "__keras_tensor__":
                inner = dict(node["config"])
                inner["keras_history"] = ref(inner["keras_history"])
                return {"class_name": "__keras_tensor__", "config": inner}
            return {k: tensors(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(tensors(item) for item in node)
        return node

    def ends(spec):
        if isinstance(spec, dict):
            return {k: ends(v) for k, v in spec.items()}
        if spec and isinstance(spec[0], (list, tuple)):
            return [ends(s) for s in spec]
        return ref(spec)

    layers = []
    for entry in config["layers"]:
        entry = dict(entry)
        inbound = entry.pop("inbound_nodes", [])
        entry = _anonymous(entry)
        entry["inbound_nodes"] = tensors(inbound)
        layers.append(entry)
    rest = {k: _anonymous(v) for k, v in config.items()
            if k not in ("name", "layers", "input_layers", "output_layers")}
    return {**rest, "layers": layers, "input_layers": ends(config["input_layers"]),
            "output_layers": ends(config["output_layers"])}


# ----- exact values ----------------------------------------------------------------------------------


def exact(value):
    """`value` as JSON that tells apart everything Python does: scalars stay, every other value becomes
    a tagged list (["list", ...], ["tuple", ...], ["dict", [[key, value], ...]], ["array", dtype, shape,
    sha256], ...). Raises `NotExact` for anything else (never `repr`, which abbreviates arrays)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) in (int, float):
        return value
    if isinstance(value, list):
        return ["list", [exact(v) for v in value]]
    if isinstance(value, tuple):
        return ["tuple", [exact(v) for v in value]]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise registry.NotExact(f"dict with non-string keys {list(value)[:5]!r}")
        return ["dict", [[k, exact(value[k])] for k in sorted(value)]]
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        array = np.asarray(value)
        if array.dtype == object:
            raise registry.NotExact("an array of Python objects")
        return ["array", array.dtype.str, list(array.shape), _digest(array)]
    if isinstance(value, np.dtype):
        return ["dtype", value.str]
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return ["function", registry.exact_name(value)]
    raise registry.NotExact(f"cannot describe {type(value).__module__}.{type(value).__qualname__} exactly")


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


# ----- user code out -----------------------------------------------------------------------------------


def _trusted_module(name):
    return isinstance(name, str) and name.split(".")[0] in _TRUSTED


def _only_trusted_code(root):
    """Whether every class and function reachable from `root`'s attributes comes from a trusted module."""
    from lamina.backend.variables import Variable

    seen = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool, complex)):
            continue
        seen.add(id(obj))
        if isinstance(obj, (np.ndarray, np.generic, jax.Array, Variable, np.dtype)):
            continue
        if isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, functools.partial):
            stack.extend((obj.func, obj.args, obj.keywords))
        elif isinstance(obj, types.MethodType):
            stack.extend((obj.__func__, obj.__self__))
        elif isinstance(obj, types.BuiltinFunctionType):  # C functions and methods (np.add.reduce)
            owner = getattr(obj, "__self__", None)
            module = obj.__module__ or (owner.__name__ if isinstance(owner, types.ModuleType)
                                        else type(owner).__module__)
            if not _trusted_module(module):
                return False
        elif isinstance(obj, (types.FunctionType, type)):
            if not _trusted_module(getattr(obj, "__module__", None)):
                return False
            if isinstance(obj, types.FunctionType) and obj.__closure__:
                stack.extend(cell.cell_contents for cell in obj.__closure__ if _cell_filled(cell))
        elif not _trusted_module(type(obj).__module__):
            return False
        elif type(obj).__module__.split(".")[0] == "lamina" and hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return True


def _cell_filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True
