"""Keras-named optimizers over optax, with Keras 3 defaults and numerics.

    opt = lamina.optimizers.get("adam")           # or Adam(learning_rate=1e-3)
    state = opt.init(params)                      # pure core, see base.py
    params, state = opt.apply(grads, state, params)

Learning rate schedules live in `lamina.optimizers.schedules`.
"""

from lamina.optimizers import schedules
from lamina.optimizers.adadelta import Adadelta
from lamina.optimizers.adagrad import Adagrad
from lamina.optimizers.adam import Adam, AdamW
from lamina.optimizers.adamax import Adamax
from lamina.optimizers.base import Optimizer
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lion import Lion
from lamina.optimizers.nadam import Nadam
from lamina.optimizers.rmsprop import RMSprop
from lamina.optimizers.sgd import SGD
from lamina.backend import registry as serialization

ALL_OBJECTS = (Adadelta, Adagrad, Adam, AdamW, Adamax, Ftrl, Lion, Nadam, RMSprop, SGD)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}
# Registered under both spellings, so a config written by Keras ("Adam") resolves through the registry too.
serialization.register_builtins("optimizer", {**ALL_OBJECTS_DICT, **{cls.__name__: cls for cls in ALL_OBJECTS}})


def serialize(optimizer):
    """The Keras config dict of an optimizer (`{"module": "keras.optimizers", "class_name", "config", ...}`)."""
    config = serialization.serialize_keras_object(optimizer)
    if type(optimizer) in ALL_OBJECTS:
        config["module"] = "keras.optimizers"
    return config


def deserialize(config, custom_objects=None):
    """An optimizer from a Keras config dict (class names are case-insensitive for built-ins)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(
            "optimizers.deserialize expects a dict with 'class_name' and 'config'. "
            f"Received: {config!r}"
        )
    config = dict(config)
    if config["class_name"].lower() in ALL_OBJECTS_DICT and config.get("registered_name") in (
        None, config["class_name"]
    ):
        config["class_name"] = config["class_name"].lower()
        config["registered_name"] = None
    return serialization.deserialize_keras_object(
        config, ALL_OBJECTS_DICT, "optimizer", custom_objects=custom_objects
    )


def get(identifier):
    """An optimizer from a name ("adam", "SGD", ...), a config dict or an instance (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        key = identifier.lower()
        cls = ALL_OBJECTS_DICT.get(key) or serialization.get_registered_object(identifier)
        if cls is None:
            raise serialization.unknown_name_error("optimizer", identifier, list(ALL_OBJECTS_DICT))
        obj = cls()
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Pass a name such as 'adam', "
        "a config dict or an Optimizer instance."
    )


__all__ = [
    "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam", "Optimizer", "RMSprop", "SGD",
    "deserialize", "get", "schedules", "serialize",
]


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
