"""Name lookup with suggestions, and Keras-style config (de)serialization.

A serialized object is the dict Keras 3 writes:
`{"module": ..., "class_name": ..., "config": {...}, "registered_name": ...}`.
"""

import difflib

_CUSTOM_OBJECTS = {}


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
    """table[name], else a ValueError naming the closest valid key."""
    if name in table:
        return table[name]
    if name in _CUSTOM_OBJECTS:
        return _CUSTOM_OBJECTS[name]
    raise unknown_name_error(kind, name, list(table))


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function for deserialization by name."""

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        _CUSTOM_OBJECTS[key] = obj
        _CUSTOM_OBJECTS[name or obj.__name__] = obj
        obj._registered_name = key
        return obj

    return decorator


def get_registered_object(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return _CUSTOM_OBJECTS.get(name)


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
        return getattr(obj, "__name__", str(obj))
    cls = type(obj)
    return {
        "module": keras_module(cls),
        "class_name": cls.__name__,
        "config": obj.get_config(),
        "registered_name": getattr(cls, "_registered_name", None),
    }


def deserialize_keras_object(config, module_objects, kind, custom_objects=None):
    """Build an object from a name, a Keras config dict, or pass an instance through.

    Args:
        config: str name, dict with "class_name"/"config", or an object.
        module_objects: {name: class_or_function} known for this kind.
        kind: word used in error messages ("activation", "initializer", ...).
        custom_objects: extra {name: object} given by the user.
    """
    if config is None or not isinstance(config, (str, dict)):
        return config
    table = dict(module_objects)
    if custom_objects:
        table.update(custom_objects)
    if isinstance(config, str):
        return lookup(kind, config, table)
    class_name = config.get("registered_name") or config["class_name"]
    cls = table.get(class_name) or table.get(config["class_name"]) or get_registered_object(
        class_name, custom_objects
    )
    if cls is None:
        raise unknown_name_error(kind, config["class_name"], list(table))
    inner = config.get("config", {})
    if hasattr(cls, "from_config"):
        import inspect

        params = inspect.signature(cls.from_config).parameters
        if "custom_objects" in params:
            return cls.from_config(inner, custom_objects=custom_objects)
        return cls.from_config(inner)
    return cls(**inner)


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
