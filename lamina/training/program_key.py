"""The name of a model's compiled program, computed without tracing it.

A program (a training chunk, an evaluation pass) is determined by lamina's own
code, the model's architecture and compile settings, the shapes of its
arguments, and a few global settings. When every object the model reaches is
lamina's (or JAX's, NumPy's, optax's), all of that is written down here and
hashed; a model holding user code (a custom layer, loss or activation, a
subclassed model, a Lambda of a user function) gets no key, because editing
that code would not change the key; it then runs through `jax.jit` as usual.
"""

import functools
import types

import jax
import numpy as np

from lamina.backend import programs

#: JAX settings that change what a traced program computes.
_JAX_SETTINGS = ("jax_enable_x64", "jax_default_matmul_precision", "jax_threefry_partitionable",
                 "jax_default_prng_impl", "jax_numpy_dtype_promotion", "jax_softmax_custom_jvp", "jax_debug_nans")

#: Modules whose objects a program may depend on without making the key unsafe.
_TRUSTED = ("lamina", "jax", "jaxlib", "numpy", "optax", "ml_dtypes", "builtins")


def program_key(model, name, signature):
    """Hex key of `model`'s program `name` for arguments of `signature`, or None if it holds user code."""
    try:
        description = _model_description(model)
    except Exception:  # e.g. a layer without get_config: no key, the program is traced as usual
        return None
    if description is None:
        return None
    return programs.key_for(description, name, signature)


def _model_description(model):
    if not _only_trusted_code(model):
        return None
    from lamina.backend import config

    optimizer = None
    if model.optimizer is not None:
        optimizer = _describe(model.optimizer)
        if isinstance(optimizer["config"].get("learning_rate"), float):
            optimizer["config"]["learning_rate"] = "state"  # a float rate is an input of the program
    return {
        "model": _describe(model),
        "compile": _describe({k: v for k, v in (model._compile_config or {}).items() if k != "optimizer"}),
        "optimizer": optimizer,
        "steps": "keras" if model._engine.keras_steps else "lamina",
        "trainable": [layer.trainable for layer in model._flatten_layers()],
        "settings": [config.floatx(), config.epsilon(), config.image_data_format()]
        + [str(getattr(jax.config, name, None)) for name in _JAX_SETTINGS],
    }


def _describe(obj):
    """A JSON-able account of a configured object: class and config, recursively."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_describe(item) for item in obj]
    if isinstance(obj, dict):
        return {str(k): _describe(v) for k, v in obj.items()}
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        return f"{obj.__module__}.{obj.__qualname__}"
    if hasattr(obj, "get_config"):
        return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}", "config": _describe(obj.get_config())}
    return repr(obj)


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
