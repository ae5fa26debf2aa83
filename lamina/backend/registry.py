"""The registry of serializable objects, and Keras-style config (de)serialization.

Every package registers its built-in objects here under a kind ("layer", "loss",
"metric", "optimizer", "activation", ...) when it is imported, so any floor of the
house can turn a config back into an object without importing the floor that
defines it. User objects come in three ways, as in Keras:
`@register_keras_serializable(package)`, a `custom_objects={name: obj}`
argument, or a `custom_object_scope(...)` block. Nothing else is ever looked up:
a name in a file can only reach lamina's own classes and the user's registered ones.

A serialized object is the dict Keras 3 writes:
`{"module": ..., "class_name": ..., "config": {...}, "registered_name": ...}`; a
function is `{"class_name": "function", "config": <name>, ...}` (or its bare name).

Safe mode (`SafeModeScope`, on by default): code stored in a config (a Python lambda
marshalled by Keras) is never loaded unless a caller turns it off for a block, as
`load_model(..., safe_mode=False)` does.

Configs name a function the way Keras does (a bare name), which is lossy:
`jax.nn.softmax` and `jax.scipy.special.softmax` both write "softmax". Inside
`exact_names()` (used for program keys, never for files) functions and classes are
written as `"module:qualname"`, checked to lead back to the very object, and anything
that cannot be named so (a lambda, a closure, a partial, a method) raises `NotExact`;
an object that computes with arguments Keras's config leaves out (a loss's dtype, the
`axis` of `SparseCategoricalCrossentropy`) adds them through its `_exact_config()`.
"""

import contextlib
import difflib
import inspect
import sys
import threading

_BUILTINS = {}  # kind -> {name: object}
_CUSTOM = {}  # registered name ("Package>Name", and the bare name) -> object
_local = threading.local()


# ----- built-in objects ---------------------------------------------------------------------------


def register_builtins(kind, table):
    """Make `table` ({name: class or function}) resolvable as `kind` (called by each package)."""
    _BUILTINS.setdefault(kind, {}).update(table)


def builtins(kind):
    """The built-in {name: object} table of `kind` (empty until the package defining it is imported)."""
    return _BUILTINS.get(kind, {})


# ----- user objects ----------------------------------------------------------------------------------


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function under `"package>name"` for deserialization by name."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: `package` must be a string without '>', got {package!r}.")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} must define `get_config()`.")
        _CUSTOM[key] = obj
        _CUSTOM[name or obj.__name__] = obj
        obj._registered_name = key
        return obj

    return decorator


def get_registered_name(obj):
    """The name `obj` is registered under ("Package>Name"), else its own name."""
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


class custom_object_scope:
    """`with custom_object_scope({"MyLayer": MyLayer}):` makes these objects known to deserialization."""

    def __init__(self, custom_objects):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes().pop()
        return False


CustomObjectScope = custom_object_scope


def _scopes():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


def get_custom_objects():
    """The global {name: object} table of registered user objects (Keras's `get_custom_objects`)."""
    return _CUSTOM


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object named `name`: from `custom_objects`, an active scope, `module_objects` (the built-ins
    of a kind), then the registered user objects; None if there is none. Built-ins come before the
    registry's bare names, so a user class registered as "Custom>Dense" does not shadow `Dense`."""
    for table in (custom_objects or {}), *reversed(_scopes()), (module_objects or {}), _CUSTOM:
        if name in table:
            return table[name]
    return None


# ----- safe mode ---------------------------------------------------------------------------------------


class SafeModeScope:
    """`with SafeModeScope(False):` allows loading code stored in configs (Lambda layers) in this block.

    Outside any scope safe mode is on. `SafeModeScope(None)` keeps the enclosing setting.
    """

    def __init__(self, safe_mode=True):
        if safe_mode is not None and not isinstance(safe_mode, bool):
            raise TypeError(f"safe_mode must be True, False or None; got {safe_mode!r}.")
        self.safe_mode = safe_mode

    def __enter__(self):
        stack = _safe_modes()
        stack.append(in_safe_mode() if self.safe_mode is None else self.safe_mode)
        return self

    def __exit__(self, *exc):
        _safe_modes().pop()
        return False


def _safe_modes():
    if not hasattr(_local, "safe_modes"):
        _local.safe_modes = []
    return _local.safe_modes


def in_safe_mode():
    """Whether loading code from configs is refused here (True unless a `SafeModeScope(False)` is active)."""
    stack = _safe_modes()
    return stack[-1] if stack else True


# ----- exact names -----------------------------------------------------------------------------------


class NotExact(ValueError):
    """An object that cannot be named exactly (see `exact_names`)."""


@contextlib.contextmanager
def exact_names():
    """Within this block, configs name functions and classes by `exact_name` instead of Keras's bare names."""
    depth = getattr(_local, "exact", 0)
    _local.exact = depth + 1
    try:
        yield
    finally:
        _local.exact = depth


def naming_exactly():
    """Whether an `exact_names()` block is active in this thread."""
    return getattr(_local, "exact", 0) > 0


def exact_name(obj):
    """`"module:qualname"` of a function or class, when that name leads back to `obj` itself.

    Raises `NotExact` for what a name cannot pin down: lambdas and functions defined
    inside functions (closures), partials, bound methods, objects without a module.
    """
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        raise NotExact(f"{obj!r} has no exact name (a lambda, closure, partial or method)")
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        raise NotExact(f"{module}:{qualname} does not lead back to {obj!r}")
    return f"{module}:{qualname}"


def serialize_function(fn, keras_form):
    """`keras_form` (what Keras writes for `fn`), or `{"function": exact_name(fn)}` inside `exact_names()`."""
    if naming_exactly():
        return {"function": exact_name(fn)}
    return keras_form


# ----- names ---------------------------------------------------------------------------------------


def closest_name(name, valid):
    """The valid name closest to `name`, or None."""
    matches = difflib.get_close_matches(str(name).lower(), [v.lower() for v in valid], n=1, cutoff=0.5)
    if not matches:
        return None
    lowered = {v.lower(): v for v in valid}
    return lowered[matches[0]]


def unknown_name_error(kind, name, valid):
    """A ValueError for an unknown `kind` name that suggests the closest valid one."""
    hint = closest_name(name, valid)
    suggestion = f" Did you mean '{hint}'?" if hint else ""
    listing = ", ".join(sorted(valid))
    return ValueError(f"Unknown {kind} '{name}'.{suggestion} Valid names: {listing}.")


def lookup(kind, name, table):
    """table[name], else a registered user object of that name, else a ValueError naming the closest."""
    if name in table:
        return table[name]
    found = get_registered_object(name)
    if found is not None:
        return found
    raise unknown_name_error(kind, name, list(table))


# ----- configs ---------------------------------------------------------------------------------------

# Keras 3's public module for lamina modules whose name differs from `keras.<package>`.
_KERAS_MODULES = (
    ("lamina.models.sequential", "keras"),
    ("lamina.models.functional", "keras.src.models.functional"),
    ("lamina.models", "keras"),
    ("lamina.optimizers.schedules", "keras.optimizers.schedules"),
)


def keras_module(cls):
    """The module name Keras 3 writes for a built-in class (user classes keep their own)."""
    module = cls.__module__
    if not module.startswith("lamina."):
        return module
    for prefix, public in _KERAS_MODULES:
        if module.startswith(prefix):
            return public
    return "keras." + module.split(".")[1]


def serialize_keras_object(obj):
    """Serialize an object with `get_config` (or a function / string) to Keras's dict form."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if callable(obj) and not hasattr(obj, "get_config"):
        return serialize_function(obj, getattr(obj, "__name__", str(obj)))
    cls = type(obj)
    if naming_exactly():
        exact_config = getattr(obj, "_exact_config", None)  # config + what Keras's config leaves out
        return {"class": exact_name(cls), "config": exact_config() if exact_config else obj.get_config()}
    return {
        "module": keras_module(cls),
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": getattr(cls, "_registered_name", None),
    }


def deserialize_keras_object(config, module_objects, kind, custom_objects=None):
    """Build an object from a name, a Keras config dict, or pass an instance through.

    Args:
        config: str name, dict with "class_name"/"config", or an object (returned as is).
        module_objects: {name: class_or_function} known for this kind (None: the registered built-ins).
        kind: the registry kind and the word used in error messages ("activation", "layer", ...).
        custom_objects: extra {name: object} given by the user.
    """
    if config is None or not isinstance(config, (str, dict)):
        return config
    table = dict(builtins(kind) if module_objects is None else module_objects)
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, table)
        if found is None:
            raise unknown_name_error(kind, config, list(table))
        return found
    if "class_name" not in config:
        raise ValueError(f"Cannot deserialize a {kind} from a dict without 'class_name'; got keys {sorted(config)}.")
    class_name = config["class_name"]
    if class_name == "function":  # Keras 3's form of a named function
        return _deserialize_function(config, table, kind, custom_objects)
    if class_name == "__lambda__":
        raise ValueError(
            f"Cannot deserialize a {kind} stored as Python code (a lambda): only the `function` of a "
            "Lambda layer may be loaded from code, and only with safe_mode=False. Pass the object "
            "itself with custom_objects instead."
        )
    if not isinstance(class_name, str):
        raise ValueError(f"Cannot deserialize a {kind}: 'class_name' must be a string, got {class_name!r}.")
    registered = config.get("registered_name")
    cls = get_registered_object(registered if isinstance(registered, str) and registered else class_name,
                                custom_objects, table)
    if cls is None:
        cls = get_registered_object(class_name, custom_objects, table)
    if cls is None:
        raise unknown_name_error(kind, class_name, list(table))
    if not inspect.isclass(cls):  # a function named like a class: Keras returns it as is
        return cls
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"Cannot deserialize {kind} '{class_name}': its 'config' must be a dict, got "
                         f"{type(inner).__name__}.")
    try:
        if hasattr(cls, "from_config"):
            params = inspect.signature(cls.from_config).parameters
            if "custom_objects" in params:
                return cls.from_config(inner, custom_objects=custom_objects)
            return cls.from_config(inner)
        return cls(**inner)
    except RecursionError:
        raise ValueError(f"Cannot deserialize {kind} '{class_name}': its config is nested too deeply "
                         "(a damaged or hostile file?).") from None


def _deserialize_function(config, table, kind, custom_objects):
    name = config.get("config")
    if not isinstance(name, str):
        raise ValueError(f"Cannot deserialize a {kind} function: its 'config' must be the function's name, "
                         f"got {name!r}.")
    registered = config.get("registered_name")
    for candidate in (name, registered if isinstance(registered, str) else None):
        found = get_registered_object(candidate, custom_objects, table) if candidate else None
        if found is not None:
            return found
    raise unknown_name_error(kind, name, list(table))


def deserialize_instance(config, table, kind, custom_objects=None):
    """`deserialize_keras_object` that also instantiates a bare class name ("l2" -> L2())."""
    if isinstance(config, dict) and "class_name" not in config:
        raise ValueError(f"{kind}s.deserialize: a config dict needs 'class_name'; got keys {sorted(config)}.")
    obj = deserialize_keras_object(config, table, kind, custom_objects)
    return obj() if isinstance(obj, type) else obj


def get_instance(identifier, table, kind, example):
    """Resolve a regularizer/constraint-like identifier: None -> None; name or config dict ->
    instance; class -> instance; callable -> unchanged; anything else -> TypeError."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize_instance(identifier, table, kind)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"{kind}: expected a name such as '{example}', an instance, a callable or a config dict; got {identifier!r}."
    )
