"""`Lambda`: wrap a Python function of arrays as a layer."""

import base64
import builtins
import inspect
import marshal
import types

from lamina.layers.base import Layer
from lamina.backend import registry as _ser


def _is_lambda(fn):
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def _serialize_function(fn):
    """A function in Keras's config form.

    Named functions give `{"class_name": "function", "config": name, ...}`;
    Python lambdas give Keras's `"__lambda__"` form (base64 marshal of the code),
    which loads only with `safe_mode=False` on the same Python version. Inside
    `registry.exact_names()` (program keys) a function is named exactly or not at all.
    """
    if _ser.naming_exactly():
        return _ser.serialize_function(fn, None)
    if _is_lambda(fn):
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {
            "class_name": "__lambda__",
            "config": {
                "code": base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii"),
                "defaults": fn.__defaults__,
                "closure": closure,
            },
        }
    if not callable(fn):
        raise TypeError(f"Lambda: `function` must be callable, got {fn!r} of type {type(fn).__name__}.")
    name = getattr(fn, "_registered_name", None) or getattr(fn, "__name__", None)
    if name is None:
        raise TypeError(f"Lambda: cannot serialize {fn!r}; give a named function or register it.")
    module = getattr(fn, "__module__", None) or "builtins"
    return {"module": module.replace("lamina.", "keras.", 1), "class_name": "function", "config": name,
            "registered_name": "function"}


def _load_lambda(cfg, layer_name):
    import sys

    import jax
    import jax.numpy as jnp
    import numpy as np

    # The loaded code may name `keras` / `lamina`: the whole package, already loaded (this layer is part
    # of it), is looked up rather than imported, so this floor does not depend on the floors above it.
    lamina = sys.modules["lamina"]
    try:
        code = marshal.loads(base64.b64decode(cfg["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError) as err:
        raise ValueError(
            f"Lambda layer '{layer_name}': the stored Python lambda cannot be loaded on this Python version "
            f"({err}). Pass the function with custom_objects={{'{layer_name}': fn}} instead."
        ) from None
    closure = cfg.get("closure")
    if closure is not None:
        closure = tuple(types.CellType(value) for value in closure)
    defaults = cfg.get("defaults")
    env = {"__builtins__": builtins, "keras": lamina, "lamina": lamina, "np": np, "jnp": jnp, "jax": jax}
    return types.FunctionType(code, env, name=code.co_name,
                              argdefs=tuple(defaults) if defaults is not None else None, closure=closure)


def _deserialize_function(cfg, layer_name, arg, custom_objects, safe_mode):
    custom_objects = custom_objects or {}
    if callable(cfg):
        return cfg
    if isinstance(cfg, dict) and cfg.get("class_name") == "__lambda__":
        if layer_name in custom_objects:
            return custom_objects[layer_name]
        if safe_mode:
            raise ValueError(
                f"Lambda layer '{layer_name}': its `{arg}` is a Python lambda stored as code, and loading code "
                "from a config is disabled in safe mode. Either pass the function yourself, e.g. "
                f"custom_objects={{'{layer_name}': fn}}, or, if you trust the file, load with safe_mode=False."
            )
        return _load_lambda(cfg["config"], layer_name)
    name = cfg.get("config") if isinstance(cfg, dict) else cfg
    if not isinstance(name, str):
        raise ValueError(f"Lambda layer '{layer_name}': cannot read `{arg}` from config {cfg!r}.")
    found = custom_objects.get(name) or custom_objects.get(layer_name) or _ser.get_registered_object(name)
    if found is None and ">" in name:
        found = _ser.get_registered_object(name.split(">", 1)[1])
    if found is None:
        from lamina import activations

        found = activations.ALL_OBJECTS_DICT.get(name)
    if found is None:
        module = cfg.get("module") if isinstance(cfg, dict) else None
        where = f" (defined in module '{module}')" if module else ""
        raise ValueError(
            f"Lambda layer '{layer_name}': unknown function '{name}'{where}. Pass it with "
            f"custom_objects={{'{name}': {name}}} or decorate it with "
            "@lamina.saving.register_keras_serializable()."
        )
    return found


class Lambda(Layer):
    """Applies `function(inputs, **arguments)`; shapes are whatever the function returns.

    Args:
        function: callable on the inputs (an array or a list of arrays). If it
            takes `training` or `mask` arguments they are passed on.
        output_shape: optional, kept for Keras compatibility (lamina infers
            the shape by tracing the function).
        mask: the output mask: a callable `(inputs, mask) -> mask` or a fixed value; None (default)
            drops the input's mask, as in Keras.
        arguments: dict of extra keyword arguments for `function`.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable, got {function!r} of type {type(function).__name__}.")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: `arguments` must be a dict of keyword arguments, got {arguments!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = tuple(output_shape) if isinstance(output_shape, list) else output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._pass_training = "training" in params
        self._pass_mask = "mask" in params
        self.mask = mask
        self.supports_masking = mask is not None

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def call(self, inputs, training=False, mask=None):
        kwargs = dict(self.arguments)
        if self._pass_training:
            kwargs["training"] = training
        if self._pass_mask:
            kwargs["mask"] = mask
        return self.function(inputs, **kwargs)

    def get_config(self):
        cfg = {**super().get_config(), "function": _serialize_function(self.function)}
        if self._output_shape is not None:
            out = self._output_shape
            cfg["output_shape"] = _serialize_function(out) if callable(out) else list(out)
        if self.mask is not None:
            cfg["mask"] = _serialize_function(self.mask) if callable(self.mask) else self.mask
        cfg["arguments"] = dict(self.arguments)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from `get_config()`.

        A function stored by name is found in `custom_objects`, the registered
        objects (`register_keras_serializable`) or the built-in activations. A
        Python lambda needs `custom_objects={layer_name: fn}` or `safe_mode=False`
        (None: the enclosing `SafeModeScope`'s setting, on by default).
        """
        if safe_mode is None:
            safe_mode = _ser.in_safe_mode()
        config = dict(config)
        name = config.get("name", "lambda")
        config["function"] = _deserialize_function(config["function"], name, "function", custom_objects, safe_mode)
        if isinstance(config.get("mask"), dict):
            config["mask"] = _deserialize_function(config["mask"], name, "mask", custom_objects, safe_mode)
        out = config.get("output_shape")
        if isinstance(out, dict):
            config["output_shape"] = _deserialize_function(out, name, "output_shape", custom_objects, safe_mode)
        elif isinstance(out, list):
            config["output_shape"] = tuple(out)
        return super().from_config.__func__(cls, config)
