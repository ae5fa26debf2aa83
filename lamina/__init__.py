"""lamina: the Keras API on a compiled JAX/XLA engine.

    import lamina as keras
"""

__version__ = "0.1.0"

from lamina import activations, backend, constraints, initializers, layers, models, regularizers
from lamina.backend import config
from lamina.layers import Input, InputLayer, Layer
from lamina.models import Model, Sequential
from lamina.models.functional import Functional

_LAZY = {"optimizers", "losses", "metrics", "callbacks", "datasets", "utils", "saving", "training", "ops", "random"}


def __getattr__(name):
    # Heavier subpackages (optax, h5py) load on first use to keep `import lamina` fast.
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"lamina.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lamina' has no attribute '{name}'")
