"""One JAX CPU device per core (up to `MAX_DEVICES`), asked for when lamina is imported.

XLA:CPU runs a program's loops on one core; with several CPU devices lamina's engine can train a
recurrent model data-parallel over the cores (`lamina.training.cores`). Programs that do not ask for
several devices run on the first, as with plain JAX. The count is asked for only while JAX's backends
have not started and nothing else chose it: not `XLA_FLAGS`' `--xla_force_host_platform_device_count`,
not `JAX_NUM_CPU_DEVICES` / `jax_num_cpu_devices`. `LAMINA_CPU_DEVICES=N` chooses N (1: one device).
"""

import os

#: More devices than this give a recurrent batch slices too thin to pay for their collectives.
MAX_DEVICES = 8


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def wanted():
    """How many CPU devices lamina asks for: `LAMINA_CPU_DEVICES`, else one per core up to `MAX_DEVICES`."""
    given = os.environ.get("LAMINA_CPU_DEVICES")
    if given is not None:
        try:
            count = int(given)
        except ValueError:
            raise ValueError(f"LAMINA_CPU_DEVICES must be a positive integer, got {given!r}.") from None
        if count < 1:
            raise ValueError(f"LAMINA_CPU_DEVICES must be a positive integer, got {given!r}.")
        return count
    return max(1, min(_cores(), MAX_DEVICES))


def request():
    """Ask JAX for `wanted()` CPU devices, unless its backends run already or the count was chosen elsewhere.
    A JAX without the `jax_num_cpu_devices` option (older releases), or whose start-up state cannot be read, is
    left as it is: one CPU device."""
    import jax

    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    try:
        from jax._src import xla_bridge

        if jax.config.jax_num_cpu_devices != -1 or xla_bridge.backends_are_initialized():
            return
    except (ImportError, AttributeError):
        return
    count = wanted()
    if count > 1:
        jax.config.update("jax_num_cpu_devices", count)


def even_split(count, most):
    """The most parts, at most `most`, that `count` items divide into evenly (1 when there is no such split)."""
    parts = max(1, min(most, count))
    while parts > 1 and count % parts:
        parts -= 1
    return parts
