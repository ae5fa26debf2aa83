"""Models: Sequential, functional and subclassed, and cloning."""

from lamina.backend import registry as _registry
from lamina.models.model import Model
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.models.cloning import clone_model

_registry.register_builtins("layer", {"Model": Model, "Functional": Functional, "Sequential": Sequential})


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a `.keras` or `.h5` model file (see `lamina.saving.load_model`)."""
    from lamina import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Save a model to a `.keras` or `.h5` file (see `lamina.saving.save_model`)."""
    from lamina import saving

    return saving.save_model(model, filepath, overwrite=overwrite, **kwargs)


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
