"""Models: Sequential, functional and subclassed, and cloning."""

from lamina.models.model import Model
from lamina.models.functional import Functional
from lamina.models.sequential import Sequential
from lamina.models.cloning import clone_model


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (fresh weights) from `model.to_json()`."""
    import json

    from lamina.layers import deserialize

    return deserialize(json.loads(json_string), custom_objects=custom_objects)
