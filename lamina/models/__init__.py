"""Models: Sequential, functional and subclassed, and cloning."""

from lamina.backend import registry as _registry
from lamina.models.model import Model
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.models.cloning import clone_model

_registry.register_builtins("layer", {"Model": Model, "Functional": Functional, "Sequential": Sequential})


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    import json

    try:
        config = json.loads(json_string)
    except RecursionError:
        raise ValueError("model_from_json: the JSON is nested too deeply to be a model config.") from None
    return _registry.deserialize_keras_object(config, None, "layer", custom_objects)


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
