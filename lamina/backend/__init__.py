"""The ground floor: settings, names, seeds, variables and the stateless scope, the registry of
serializable objects, the named walk, and the cache of compiled programs. Imports nothing of lamina
above it."""

from lamina.backend import dtypes, naming, random, registry, tracking
from lamina.backend.config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
    standardize_data_format,
    standardize_dtype,
)
from lamina.backend.dtypes import is_float_dtype, is_int_dtype, result_type
from lamina.backend.random import SeedGenerator, set_random_seed
from lamina.backend.scope import StatelessScope, get_stateless_scope, in_stateless_scope
from lamina.backend.variables import Variable


def clear_session():
    """Reset default names (`dense`, `dense_1`, ... for layers, metrics and optimizers), like Keras."""
    naming.reset()


def device_info():
    """The devices JAX computes on, as strings."""
    import jax

    return [str(d) for d in jax.devices()]


def enable_compilation_cache(path=None):
    """Use JAX's persistent compilation cache so re-running a script skips XLA compilation.

    Default folder: `$LAMINA_COMPILATION_CACHE_DIR`, else `~/.cache/lamina/jax`.
    Called on `import lamina` unless `LAMINA_COMPILATION_CACHE=0` or JAX's own
    cache directory is already configured.
    """
    import os

    import jax

    path = path or os.environ.get("LAMINA_COMPILATION_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "lamina", "jax")
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _auto_enable_cache():
    import os

    import jax

    if os.environ.get("LAMINA_COMPILATION_CACHE", "1") == "0":
        return
    if jax.config.jax_compilation_cache_dir and not os.environ.get("LAMINA_COMPILATION_CACHE_DIR"):
        return
    enable_compilation_cache()


_auto_enable_cache()
