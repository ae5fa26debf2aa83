"""Saving and loading models; the registry of custom objects (kept on the ground floor, `lamina.backend.registry`)."""

from lamina.backend.registry import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
