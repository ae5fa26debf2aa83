"""Config (de)serialization and the registry of custom objects."""

from lamina.saving.serialization import (
    deserialize_keras_object,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)
