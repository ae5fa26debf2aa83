"""`python -m benchmarks`: run the workloads, alternating systems in fresh processes, and report.

    python -m benchmarks                       # all workloads, all installed systems, 3 rounds
    python -m benchmarks --workloads pima_cold,import --systems lamina,keras-jax --rounds 5
    python -m benchmarks --quick --out /tmp/b  # tiny synthetic sizes, 1 round (the smoke test)
    python -m benchmarks --report-only         # rebuild RESULTS.md from results/*.json

A full run writes `benchmarks/results/<machine>.json` and regenerates `benchmarks/RESULTS.md`.
A `--quick` run writes files only when `--out` is given, so it never replaces real results.
"""

import argparse
import datetime
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import machine, report
from benchmarks.spec import BASE, SYSTEMS, WORKLOADS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKER = "BENCH-RESULT "


def available_systems():
    """{system: None if runnable here, else the reason it is skipped} (found without importing)."""
    found = lambda name: importlib.util.find_spec(name) is not None  # noqa: E731
    return {
        "lamina": None if found("lamina") else "lamina is not importable (pip install -e .)",
        "keras-jax": None if found("keras") else "keras is not installed (pip install -e '.[bench]')",
        "keras-tf": None if found("keras") and found("tensorflow") else "tensorflow is not installed",
        "torch": None if found("torch") else "torch is not installed",
    }


def child_env(system, cache_dir):
    env = dict(os.environ)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["LAMINA_COMPILATION_CACHE_DIR"] = str(cache_dir)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if system.startswith("keras-"):
        env["KERAS_BACKEND"] = {"keras-jax": "jax", "keras-tf": "tensorflow"}[system]
    return env


def compile_bytecode():
    """Write lamina's bytecode caches, as `pip install` does for an installed package (Keras's are written at
    its install): an editable checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile every module
    in every child process."""
    import compileall

    compileall.compile_dir(REPO / "lamina", quiet=1)


def run_child(args, env, timeout):
    """Run the worker with `args`; returns its JSON record (or a failure record)."""
    cmd = [sys.executable, "-m", "benchmarks.worker"] + args
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout} s: {shlex.join(cmd)}"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    tail = (proc.stderr or proc.stdout)[-2000:]
    return {"ok": False, "error": f"worker exited with {proc.returncode} and no result: {tail}"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def measure_limit(size, timeout):
    record = run_child(["--machine", "--size", size], child_env("numpy", tempfile.gettempdir()), timeout)
    if not record.get("ok"):
        raise RuntimeError(f"measuring the machine failed: {record.get('error')}\n{record.get('traceback', '')}")
    log(f"[machine] numpy GEMM {record['numpy_gemm_gflops']:.1f} GFLOP/s, jax GEMM {record['jax_gemm_gflops']:.1f} "
        f"GFLOP/s on {record['jax_platform']}")
    return record


def _summary_line(name, system, record):
    if not record.get("ok"):
        return f"FAILED: {record.get('error', '')[:300]}"
    metrics = record["metrics"]
    shown = [f"{m.key}={metrics[m.key]:.4g}" for m in WORKLOADS[name].metrics if m.key in metrics]
    return ", ".join(shown) + f" (process {record['process_s']:.1f} s)"


def run_workload(name, systems, rounds, size, seed, scratch, timeout):
    """All rounds of one workload: systems alternate within each round, each run in a fresh process."""
    spec = WORKLOADS[name]
    systems = [s for s in systems if s in spec.systems]
    record = {"name": name, "title": spec.title, "runs": {s: [] for s in systems}, "prime": {}}
    warm_dirs = {}
    if spec.cache == "warm":
        for system in systems:
            warm_dirs[system] = Path(tempfile.mkdtemp(prefix=f"warm-{system}-", dir=scratch))
            log(f"[{name}] priming the compilation cache for {system} (untimed)")
            prime = run_child(["--system", system, "--workload", name, "--size", size, "--seed", str(seed)],
                              child_env(system, warm_dirs[system]), timeout)
            record["prime"][system] = {"ok": prime.get("ok"), "error": prime.get("error"),
                                       "cache_entries_after": prime.get("cache_entries_after")}
    for r in range(rounds):
        for system in systems:
            cache = warm_dirs.get(system) or Path(tempfile.mkdtemp(prefix=f"cold-{system}-", dir=scratch))
            result = run_child(["--system", system, "--workload", name, "--size", size, "--seed", str(seed)],
                               child_env(system, cache), timeout)
            result.pop("system", None), result.pop("workload", None), result.pop("size", None)
            result["round"] = r + 1
            record["runs"][system].append(result)
            log(f"[{name}] round {r + 1}/{rounds} {system}: {_summary_line(name, system, result)}")
    record["summary"] = report.summarize(record)
    return record


def _load_average():
    """The 1-minute load average (other processes competing for the cores), or None where unknown."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="lamina vs its peers, same run.",
                                     epilog="Workloads: " + ", ".join(WORKLOADS))
    parser.add_argument("--workloads", help="comma-separated subset (default: all)")
    parser.add_argument("--systems", help=f"comma-separated subset of {', '.join(SYSTEMS)} (default: all installed)")
    parser.add_argument("--rounds", type=int, help="rounds per workload (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny synthetic sizes for a fast check")
    parser.add_argument("--out", help="folder for <machine>.json and RESULTS.md (default: benchmarks/results and "
                                      "benchmarks/RESULTS.md; with --quick, nothing is written unless given)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per child process")
    parser.add_argument("--report-only", action="store_true", help="rebuild RESULTS.md from the results folder")
    args = parser.parse_args(argv)
    args.workload_list = _choose(args.workloads, list(WORKLOADS), "--workloads")
    args.system_list = _choose(args.systems, list(SYSTEMS), "--systems")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    return args


def _choose(text, valid, flag):
    if not text:
        return valid
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in valid]
    if unknown:
        raise SystemExit(f"{flag}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(valid)}.")
    return [item for item in valid if item in chosen]  # canonical order: lamina first


def output_paths(args):
    if args.out:
        out = Path(args.out)
        return out, out / "RESULTS.md"
    if args.quick:
        return None, None
    return HERE / "results", HERE / "RESULTS.md"


def write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    results_dir, markdown_path = output_paths(args)
    if args.report_only:
        results_dir = results_dir or HERE / "results"
        markdown_path = markdown_path or HERE / "RESULTS.md"
        markdown_path.write_text(report.markdown(results_dir))
        print(f"wrote {markdown_path}")
        return 0
    size = "tiny" if args.quick else "full"
    availability = available_systems()
    systems = [s for s in args.system_list if availability[s] is None]
    skipped = {s: availability[s] for s in args.system_list if availability[s] is not None}
    for system, reason in skipped.items():
        log(f"skipping {system}: {reason}")
    if BASE not in systems:
        raise SystemExit(f"lamina must be among the systems run (got {', '.join(systems) or 'none'}).")
    timeout = min(args.timeout, 300) if args.quick else args.timeout
    compile_bytecode()
    load_start = _load_average()
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as scratch:
        first = measure_limit(size, timeout)
        workloads = {name: run_workload(name, systems, args.rounds, size, args.seed, scratch, timeout)
                     for name in args.workload_list}
        last = measure_limit(size, timeout)
    info = {**first["machine"], "jax_platform": first["jax_platform"], "jax_device_kind": first["jax_device_kind"]}
    on_gpu = first["jax_platform"] == "gpu"
    numpy_rate = max(first["numpy_gemm_gflops"], last["numpy_gemm_gflops"])
    jax_rate = max(first["jax_gemm_gflops"], last["jax_gemm_gflops"])
    result = {
        "slug": machine.machine_slug(info),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m benchmarks", shlex.join(argv if argv is not None else sys.argv[1:])]).strip(),
        "quick": args.quick, "rounds": args.rounds, "seed": args.seed,
        "load_average": [load_start, _load_average()],
        "systems": systems, "skipped_systems": skipped, "machine": first["machine"],
        "limit": {"gemm_n": first["gemm_n"], "numpy_gemm_gflops": numpy_rate, "jax_gemm_gflops": jax_rate,
                  "numpy_samples": [first["numpy_gemm_gflops"], last["numpy_gemm_gflops"]],
                  "jax_platform": first["jax_platform"], "jax_device_kind": first["jax_device_kind"],
                  "gflops": jax_rate if on_gpu else numpy_rate,
                  "source": "jax.numpy on the GPU" if on_gpu else "numpy"},
        "workloads": workloads,
    }
    result["flop_fraction"] = report.flop_fractions(result)
    result["targets"] = report.targets(result)
    print(report.terminal_report(result), flush=True)
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{result['slug']}.json"
        write_json(path, result)
        markdown_path.write_text(report.markdown(results_dir))
        log(f"wrote {path} and {markdown_path}")
    failed = report.failures(result)
    return 1 if any(f" / {BASE} / " in f for f in failed) else 0
