"""Aggregation and tables: min / median / max per system, per-round ratios, targets, the GEMM limit.

Everything here works on the plain dicts the driver stores in `results/<machine>.json`, so
RESULTS.md can be regenerated from committed files alone (`python -m benchmarks --report-only`).
"""

import json
import statistics
from pathlib import Path

from benchmarks.spec import BASE, FLOP_TARGET, TARGET_PEER, WORKLOADS


def stats(values):
    """{"min", "median", "max", "n"} of the numbers in `values` (None entries are failed runs, skipped)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


def speedup(direction, base, peer):
    """lamina's speed-up over the peer: peer/lamina for times, lamina/peer for rates (> 1: lamina faster)."""
    if base is None or peer is None or base <= 0 or peer <= 0:
        return None
    return peer / base if direction == "lower" else base / peer


def metric_values(runs, key):
    """The metric `key` of each round (None where the run failed or lacks it)."""
    return [(run.get("metrics") or {}).get(key) if run.get("ok") else None for run in runs]


def summarize(workload_record):
    """Per metric: per-system stats and, for each peer, the per-round speed-ups and their median."""
    spec = WORKLOADS[workload_record["name"]]
    runs = workload_record["runs"]
    summary = {}
    for metric in spec.metrics:
        per_system = {system: metric_values(system_runs, metric.key) for system, system_runs in runs.items()}
        entry = {"systems": {s: stats(v) for s, v in per_system.items()}, "ratios": {}}
        if metric.direction != "info" and BASE in per_system:
            for peer, values in per_system.items():
                if peer == BASE:
                    continue
                rounds = [speedup(metric.direction, b, p) for b, p in zip(per_system[BASE], values)]
                entry["ratios"][peer] = {"per_round": rounds, "median": (stats(rounds) or {}).get("median")}
        summary[metric.key] = entry
    return summary


def targets(result):
    """The issue's targets checked against this result: a list of dicts with `met` True/False/None."""
    out = []
    for name, record in result["workloads"].items():
        for metric in WORKLOADS[name].metrics:
            if metric.target is None:
                continue
            ratio = record["summary"][metric.key]["ratios"].get(TARGET_PEER, {}).get("median")
            out.append({"what": f"{name}: {metric.label}, speed-up vs {TARGET_PEER}", "target": f">= {metric.target:g}x",
                        "measured": None if ratio is None else f"{ratio:.2f}x",
                        "met": None if ratio is None else ratio >= metric.target})
    frac = (result.get("flop_fraction") or {}).get(FLOP_TARGET[0])
    if FLOP_TARGET[0] in result["workloads"]:
        out.append({"what": f"{FLOP_TARGET[0]}: lamina training FLOP rate / GEMM limit",
                    "target": f">= {FLOP_TARGET[1]:.0%}", "measured": None if frac is None else f"{frac:.1%}",
                    "met": None if frac is None else frac >= FLOP_TARGET[1]})
    return out


def flop_fractions(result):
    """lamina's median training FLOP rate over the GEMM limit, per workload that counts its FLOPs."""
    limit = (result.get("limit") or {}).get("gflops")
    out = {}
    for name, record in result["workloads"].items():
        if WORKLOADS[name].flops is None or not limit:
            continue
        rates = stats(metric_values(record["runs"].get(BASE, []), "train_flops_per_s"))
        if rates:
            out[name] = rates["median"] / 1e9 / limit
    return out


# ----- formatting ----------------------------------------------------------------------------------

def _num(value, unit=""):
    if value is None:
        return "-"
    if unit == "":
        return f"{value:.3f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2e}"


def _cell(st, unit):
    if st is None:
        return "failed"
    if st["n"] == 1 or st["min"] == st["max"]:
        return _num(st["median"], unit)
    return f"{_num(st['median'], unit)} ({_num(st['min'], unit)}-{_num(st['max'], unit)})"


def _ratio_cell(ratio):
    if not ratio or ratio["median"] is None:
        return "-"
    rounds = ", ".join("-" if r is None else f"{r:.2f}" for r in ratio["per_round"])
    return f"**{ratio['median']:.2f}x** [{rounds}]"


def table(result):
    """Markdown table: one row per (workload, metric); medians with (min-max); speed-ups per round."""
    systems = result["systems"]
    peers = [s for s in systems if s != BASE]
    head = ["workload", "metric"] + systems + [f"{p} / lamina" for p in peers] + ["target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, record in result["workloads"].items():
        for metric in WORKLOADS[name].metrics:
            entry = record["summary"][metric.key]
            unit = f" [{metric.unit}]" if metric.unit else ""
            cells = [name, metric.label + unit]
            cells += [_cell(entry["systems"].get(s), metric.unit) if _reports(record, s, metric.key) else "-"
                      for s in systems]
            cells += [_ratio_cell(entry["ratios"].get(p)) if metric.direction != "info" else "" for p in peers]
            cells.append(f">= {metric.target:g}x vs {TARGET_PEER}" if metric.target else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _reports(record, system, key):
    """Whether `system` reports metric `key` here (a failed run counts as reporting it: it shows "failed"; a
    system the workload does not run reports nothing)."""
    runs = record["runs"].get(system)
    if runs is None:
        return False
    return any(not run.get("ok") or key in (run.get("metrics") or {}) for run in runs) or not runs


def limit_lines(result):
    limit = result.get("limit") or {}
    lines = []
    if limit.get("gflops"):
        lines.append(f"Machine limit: dense float32 GEMM {limit['gemm_n']}x{limit['gemm_n']} through numpy = "
                     f"{limit['numpy_gemm_gflops']:.1f} GFLOP/s (best of 5, measured at the start and the end of "
                     f"the run: {', '.join(f'{v:.1f}' for v in limit['numpy_samples'])}); through jax.numpy on "
                     f"{limit['jax_platform']}: {limit['jax_gemm_gflops']:.1f} GFLOP/s. Limit used: "
                     f"{limit['gflops']:.1f} GFLOP/s ({limit['source']}).")
    for name, frac in (result.get("flop_fraction") or {}).items():
        rate = frac * limit["gflops"]
        peers = []
        for system, runs in result["workloads"][name]["runs"].items():
            st = stats(metric_values(runs, "train_flops_per_s"))
            if system != BASE and st:
                peers.append(f"{system} {st['median'] / 1e9:.1f} GFLOP/s = {st['median'] / 1e9 / limit['gflops']:.1%}")
        lines.append(f"lamina training FLOP rate on {name} ({WORKLOADS[name].flops}, times samples/s; median): "
                     f"{rate:.1f} GFLOP/s = "
                     f"{frac:.1%} of the limit" + (f" (for comparison: {'; '.join(peers)})." if peers else "."))
    return lines


def target_table(result):
    lines = ["| target | required | measured (median) | met |", "|---|---|---|---|"]
    for t in targets(result):
        met = "n/a" if t["met"] is None else ("met" if t["met"] else "**not met**")
        lines.append(f"| {t['what']} | {t['target']} | {t['measured'] or '-'} | {met} |")
    return "\n".join(lines)


def failures(result):
    out = []
    for name, record in result["workloads"].items():
        for system, runs in record["runs"].items():
            for i, run in enumerate(runs):
                if not run.get("ok"):
                    out.append(f"{name} / {system} / round {i + 1}: {run.get('error')}")
    return out


def cache_notes(result):
    """Whether lamina wrote to the compilation cache folder it was given (warm-cache runs)."""
    record = result["workloads"].get("pima_warm")
    if not record:
        return []
    entries = [run.get("cache_entries_before") for run in record["runs"].get(BASE, []) if run.get("ok")]
    if entries and all(not e for e in entries):
        return ["lamina wrote nothing to `LAMINA_COMPILATION_CACHE_DIR` during the priming run, so its warm-cache "
                "column measured a cold compile (the persistent compilation cache was not in effect)."]
    if entries:
        return [f"lamina's warm-cache runs found {entries[0]} file(s) in the pre-populated compilation cache."]
    return []


def terminal_report(result):
    lines = [f"Machine: {machine_line(result)}", "", table(result), ""]
    lines += limit_lines(result)
    lines += ["", target_table(result)]
    lines += cache_notes(result)
    for f in failures(result):
        lines.append("FAILED: " + f)
    for system, reason in (result.get("skipped_systems") or {}).items():
        lines.append(f"skipped {system}: {reason}")
    return "\n".join(lines)


def machine_line(result):
    m = result["machine"]
    v = m["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("python", "lamina", "jax", "keras", "tensorflow", "torch", "numpy")
                     if k in v)
    device = f"JAX device: {result['limit'].get('jax_platform')} ({result['limit'].get('jax_device_kind')})"
    load = result.get("load_average")
    load = f"; 1-min load average at start / end: {load[0]} / {load[1]}" if load else ""
    return f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, {m['os']}; {device}; {libs}{load}"


INTRO = """# lamina benchmarks

Generated by `python -m benchmarks` from `benchmarks/results/*.json` (one section per machine); do not
edit by hand. Re-run the command on a machine to replace its section.

How it is measured:

- Every (workload, system, round) runs in a fresh Python process (`python -m benchmarks.worker`);
  systems alternate within each round (lamina, keras-jax, [keras-tf, torch], lamina, keras-jax, ...).
- Cells show the median over rounds with (min-max). `peer / lamina` is lamina's speed-up over that peer in
  each round (peer time / lamina time, or lamina rate / peer rate; above 1 means lamina is faster), with
  the median in bold and the per-round values in brackets.
- The same model code runs on both sides: `import lamina as keras` vs `import keras` (KERAS_BACKEND=jax).
  Data loading, model building and `compile` happen before the timer; `fit` runs with verbose=0.
- Compilation cache: each lamina run gets its own `LAMINA_COMPILATION_CACHE_DIR`; "cold" is an empty folder,
  "warm" is a folder filled by an untimed run of the same script. Keras 3 enables no persistent compilation
  cache by default, and it is run with its defaults, so its cold and warm runs do the same work.
  `JAX_COMPILATION_CACHE_DIR` is removed from every child's environment.
- Bytecode: the driver writes lamina's `__pycache__` files first (`compileall`), as `pip install` does and as
  Keras's installed package has them, so no child compiles lamina's sources.
- The limit: a float32 4096x4096 matrix multiply through numpy (best of 5, at the start and end of the run;
  the higher is used). A training FLOP rate counts 6 x parameters FLOPs per sample for the MLPs and
  3 x 2 x the forward multiply-adds per sample for the CNN (its weights are reused across positions).
"""


def markdown(results_dir):
    """RESULTS.md text from every `<machine>.json` in `results_dir` (and `<machine>.notes.md` if present)."""
    results_dir = Path(results_dir)
    parts = [INTRO]
    for path in sorted(results_dir.glob("*.json")):
        result = json.loads(path.read_text())
        parts.append(f"## {path.stem}\n")
        parts.append(f"- Date: {result['date']}\n- Machine: {machine_line(result)}\n"
                     f"- Command: `{result['command'].strip()}` ({result['rounds']} rounds)\n")
        for system, reason in (result.get("skipped_systems") or {}).items():
            parts.append(f"- Skipped {system}: {reason}")
        parts.append("")
        parts.append(table(result) + "\n")
        parts += [line + "\n" for line in limit_lines(result)]
        parts.append("### Targets (against Keras 3 on JAX, same run)\n")
        parts.append(target_table(result) + "\n")
        notes = cache_notes(result) + [f"Failed run: {f}" for f in failures(result)]
        if notes:
            parts.append("\n".join(f"- {n}" for n in notes) + "\n")
        notes_file = path.with_suffix(".notes.md")
        if notes_file.exists():
            parts.append(notes_file.read_text().strip() + "\n")
    return "\n".join(parts).rstrip() + "\n"
