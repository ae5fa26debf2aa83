"""The machine: a description (CPU, cores, memory, versions, JAX device) and its dense GEMM rate.

`describe()` uses the standard library only. `gemm_rates(n)` times a float32 n x n x n matrix
multiply through numpy (the limit the issue asks for) and through `jax.numpy` on JAX's default
device; each is the best of 5 after a warm-up call, reported in GFLOP/s (2 n^3 / seconds).
"""

import importlib.metadata
import os
import platform
import re
import time

PACKAGES = ("lamina", "jax", "jaxlib", "optax", "numpy", "keras", "tensorflow", "torch")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def versions():
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def describe():
    """Host facts as a dict (no heavy imports)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": _cpu_model(), "cores": cores, "memory_gib": _memory_gib(), "os": platform.platform(),
            "hostname": platform.node(), "versions": versions()}


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def machine_slug(info):
    """File stem for a machine: `gpu-<device kind>` when JAX sees a GPU, else `cpu-<n>core-<cpu model>`."""
    if info.get("jax_platform") == "gpu":
        return "gpu-" + slug(info.get("jax_device_kind", "unknown"))
    model = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$", "", info["cpu"], flags=re.I)
    return f"cpu-{info['cores']}core-{slug(model)}"


def _best_rate(fn, n, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 2.0 * n**3 / min(times) / 1e9


def gemm_rates(n):
    """{"numpy_gemm_gflops", "jax_gemm_gflops", "gemm_n", "jax_platform", "jax_device_kind"}."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    out = {"gemm_n": n, "numpy_gemm_gflops": _best_rate(lambda: a @ b, n)}
    import jax
    import jax.numpy as jnp

    device = jax.devices()[0]
    ja, jb = jnp.asarray(a), jnp.asarray(b)
    matmul = jax.jit(jnp.matmul)
    out["jax_gemm_gflops"] = _best_rate(lambda: matmul(ja, jb).block_until_ready(), n)
    out["jax_platform"] = device.platform
    out["jax_device_kind"] = device.device_kind
    out["jax_device_count"] = jax.device_count()
    return out
