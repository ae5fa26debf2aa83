"""One measurement in a fresh process; prints one JSON line.

    python -m benchmarks.worker --system lamina|keras-jax|keras-tf|torch --workload NAME [--size tiny]
    python -m benchmarks.worker --machine [--size tiny]

The driver sets the environment: `KERAS_BACKEND` for the Keras systems and
`LAMINA_COMPILATION_CACHE_DIR` for every run. Only the standard library is imported before the
workload starts, so the `import` workload times the whole import of each library.
"""

import argparse
import json
import os
import sys
import time
import traceback

_STARTED = time.perf_counter()
_BACKENDS = {"keras-jax": "jax", "keras-tf": "tensorflow"}


def _cache_entries():
    folder = os.environ.get("LAMINA_COMPILATION_CACHE_DIR")
    if not folder or not os.path.isdir(folder):
        return None
    return sum(len(files) for _, _, files in os.walk(folder))


def _import_system(system):
    if system == "lamina":
        import lamina as module
    elif system in _BACKENDS:
        import keras as module

        if module.backend.backend() != _BACKENDS[system]:
            raise RuntimeError(f"{system}: keras loaded the {module.backend.backend()!r} backend; set "
                               f"KERAS_BACKEND={_BACKENDS[system]} (the driver does this).")
    elif system == "torch":
        import torch as module
    else:
        raise ValueError(f"--system must be one of lamina, keras-jax, keras-tf, torch; got {system!r}")
    return module


def run(system, workload, size, seed):
    """Measurements (a dict) of `workload` on `system`."""
    from benchmarks.spec import WORKLOADS

    if workload not in WORKLOADS:
        raise ValueError(f"--workload must be one of {sorted(WORKLOADS)}; got {workload!r}")
    spec = WORKLOADS[workload]
    if spec.task == "import":
        start = time.perf_counter()
        _import_system(system)
        return {"import_s": time.perf_counter() - start}
    module = _import_system(system)
    if system == "torch":
        from benchmarks import torch_workloads as tasks

        return getattr(tasks, spec.task)(size, seed, **spec.params)
    from benchmarks import keras_workloads as tasks

    return getattr(tasks, spec.task)(module, size, seed, **spec.params)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--system")
    parser.add_argument("--workload")
    parser.add_argument("--machine", action="store_true", help="describe the machine and time its GEMM")
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    record = {"system": args.system, "workload": args.workload, "size": args.size}
    try:
        if args.machine:
            from benchmarks import machine

            record = {"machine": machine.describe(), **machine.gemm_rates(4096 if args.size == "full" else 1024)}
        else:
            if not args.system or not args.workload:
                parser.error("--system and --workload are required (or --machine)")
            before = _cache_entries()
            record["metrics"] = run(args.system, args.workload, args.size, args.seed)
            record["cache_entries_before"] = before
            record["cache_entries_after"] = _cache_entries()
        record["ok"] = True
    except Exception as exc:  # reported to the driver, which shows it in the table
        record.update(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-4000:])
    record["process_s"] = time.perf_counter() - _STARTED
    sys.stdout.flush()
    print("BENCH-RESULT " + json.dumps(record), flush=True)
    return 0 if record["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
