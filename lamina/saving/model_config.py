"""From a saved model config to a model, and back: the part `.keras` and `.h5` files share.

Only lamina's own classes (the registry's built-ins) and the user's (registered with
`register_keras_serializable`, or given in `custom_objects`) are ever instantiated; code stored
in a config (a `Lambda`'s Python lambda) loads only under `safe_mode=False`. The saving floor
sits below `models` and `training`: the model class is found through the registry and the
model is driven through its methods (`build_from_config`, `compile_from_config`).
"""

import contextlib
import datetime
import json

import numpy as np

from lamina.backend import registry
from lamina.backend.variables import WeightBudget
from lamina.saving import config_check, legacy_config

#: The Keras release whose file layout lamina writes (recorded as `keras_version`; Keras reads none of it).
KERAS_VERSION = "3.15.1"


def lamina_version():
    import sys

    return getattr(sys.modules.get("lamina"), "__version__", "unknown")


def _json_default(obj):
    """Values JSON does not know that configs may hold (NumPy scalars and arrays, tuples)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "dtype") and hasattr(obj, "shape"):
        return np.asarray(obj).tolist()
    raise TypeError(f"{type(obj).__name__} {obj!r} in a config cannot be written to a file; "
                    "get_config() must return JSON-friendly values.")


def to_json(value):
    return json.dumps(value, default=_json_default)


def metadata():
    return {"keras_version": KERAS_VERSION, "lamina_version": lamina_version(),
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}


def serialize_model(model):
    """The model's config as Keras 3 writes it in `config.json`: with `build_config` and `compile_config`."""
    config = registry.serialize_keras_object(model)
    build_config = model.get_build_config()
    if build_config is not None:
        config["build_config"] = build_config
    compile_config = model.get_compile_config()
    if compile_config:
        config["compile_config"] = compile_config
    return config


def _hint(error):
    """The error's message (with its type, unless a ValueError), and the custom_objects hint for unknown names."""
    text = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
    if text.startswith("Unknown "):
        return (f"{text} If it is your own class or function, pass it with custom_objects={{'Name': Name}} or "
                "decorate it with @lamina.saving.register_keras_serializable().")
    return text


def weight_budget(stored_bytes, source):
    """The `WeightBudget` for a model whose file stores `stored_bytes` of weights: twice that and 1 MiB
    (weights may be stored in a narrower dtype than the layers create them in)."""
    return WeightBudget(2 * stored_bytes + (1 << 20), source)


def model_from_config(config, custom_objects=None, safe_mode=True, compile_config=None, budget=None):
    """Build the model a config describes, then compile it with `compile_config` (a dict, or None to skip).

    `budget`: a `WeightBudget` capping the weights the layers may create (see `weight_budget`).
    Raises `ValueError` for anything that is not a model config, an unknown class (with the
    hint to pass `custom_objects`), code refused in safe mode, or layers larger than the budget.
    """
    config_check.check_model_config(config)
    config = legacy_config.convert_model_config(config)
    budget = budget if budget is not None else contextlib.nullcontext()
    with registry.custom_object_scope(custom_objects or {}), registry.SafeModeScope(safe_mode), budget:
        try:
            model = registry.deserialize_keras_object(config, None, "layer", custom_objects)
        except Exception as error:  # noqa: BLE001 - a wrong value in the config, a user class failing
            raise ValueError(_hint(error)) from error
        if not hasattr(model, "compile_from_config"):
            raise ValueError(f"the config describes a {type(model).__name__} layer, not a model.")
        build_config = config.get("build_config")
        try:
            if not model.built and isinstance(build_config, dict):
                model.build_from_config(build_config)
        except Exception as error:  # noqa: BLE001
            raise ValueError(f"cannot build the model from its build_config {build_config!r:.100}: "
                             f"{_hint(error)}") from error
        if compile_config:
            try:
                model.compile_from_config(legacy_config.normalize_compile_config(compile_config))
            except Exception as error:  # noqa: BLE001
                raise ValueError(f"cannot compile the model with its saved compile config: {_hint(error)}") from error
    return model
