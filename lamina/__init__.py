"""lamina: the Keras API on a compiled JAX/XLA engine.

    import lamina as keras
"""

__version__ = "0.1.0"

from lamina import activations, backend, constraints, initializers, layers, models, regularizers
from lamina.backend import StatelessScope, Variable, config
from lamina.layers import Input, InputLayer, InputSpec, Layer
from lamina.layers.symbolic import KerasTensor
from lamina.models import Model, Sequential
from lamina.models.functional import Functional

_LAZY = {"optimizers", "losses", "metrics", "callbacks", "datasets", "utils", "saving", "training", "ops", "random",
         "preprocessing", "wrappers", "tuners", "distribution"}
# Keras's top-level base classes, from packages that load on first use.
_LAZY_NAMES = {"Loss": "losses", "Metric": "metrics", "Optimizer": "optimizers", "Initializer": "initializers",
               "Regularizer": "regularizers", "Constraint": "constraints"}


def version():
    """lamina's version string (`keras.version()`)."""
    return __version__


def __getattr__(name):
    # Heavier subpackages (optax, h5py) load on first use to keep `import lamina` fast.
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f"lamina.{name}")
        globals()[name] = module
        return module
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"lamina.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    from lamina.backend import keras_api

    raise keras_api.missing(__name__, name)
