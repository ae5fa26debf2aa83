"""The ground floor: settings, names, seeds, variables and the stateless scope, the registry of
serializable objects, the named walk, and the cache of compiled programs. Imports nothing of lamina
above it."""

from lamina.backend import cpu_devices, dtypes, naming, random, registry, tracking
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

cpu_devices.request()


def clear_session():
    """Reset default names (`dense`, `dense_1`, ... for layers, metrics and optimizers), like Keras."""
    naming.reset()


def device_info():
    """The devices JAX computes on, as strings."""
    import jax

    return [str(d) for d in jax.devices()]


def enable_compilation_cache(path=None):
    """Keep lamina's compiled programs in `path` (created 0700), so re-running a script skips compilation.

    Default folder: `$LAMINA_COMPILATION_CACHE_DIR`, else `~/.cache/lamina/programs`. The cache
    is on by default (`LAMINA_COMPILATION_CACHE=0` turns it off); this call turns it on even
    then. Only lamina's own programs are stored: JAX's settings, and its own persistent cache,
    are left as they are (see `lamina.backend.programs`). Returns the folder.
    """
    from lamina.backend import programs

    programs.configure(path)
    return path or programs.default_directory()


def disable_compilation_cache():
    """Stop storing and loading lamina's compiled programs for the rest of the process."""
    from lamina.backend import programs

    programs.configure(enabled=False)
