"""Saving and loading models and weights, in Keras 3's formats, both ways between lamina and Keras.

    model.save("model.keras")                  # Keras 3's zip archive (or "model.h5": legacy HDF5)
    model = lamina.saving.load_model("model.keras")          # compiled, optimizer state restored
    model.save_weights("model.weights.h5"); model.load_weights("model.weights.h5")

Modules, one job each: `api` (the four functions, format by name and content), `keras_file`
(`.keras`), `h5_file` (legacy `.h5`), `weights_file` (Keras 3's weights layout), `model_config`
(config -> model, compile), `config_check` (the shape of a model config, checked first),
`legacy_config` (tf.keras 2 configs), `optimizer_state` (saved optimizer layouts), `hdf5` (guarded
HDF5 reading), `errors`. Files are written atomically (`lamina.utils.atomic`).

Safe by default: only lamina's classes and the user's registered / `custom_objects` classes
are instantiated, code stored in a file (a `Lambda`'s lambda) needs `safe_mode=False`, no
pickle is used, and sizes claimed by a file (zip members, HDF5 datasets, the layers a config
describes) are checked before anything is allocated. The
registry of custom objects lives on the ground floor (`lamina.backend.registry`).
"""

from lamina.backend.registry import (
    CustomObjectScope,
    SafeModeScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)
from lamina.saving.api import load_model, load_weights, save_model, save_weights


def __getattr__(name):
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
