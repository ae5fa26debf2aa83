"""Smoke test of `python -m benchmarks` on tiny synthetic sizes, plus the report arithmetic.

No timing is asserted: only that the entry point runs, writes well-formed results, and that the
aggregation (medians, per-round speed-ups, targets) computes what it claims.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks` is a top-level folder of the repo, not an installed package
    sys.path.insert(0, str(REPO))

from benchmarks import report  # noqa: E402
from benchmarks.driver import parse_args  # noqa: E402
SMOKE_WORKLOADS = ["pima_warm", "rebuild", "population", "pima_callbacks", "fashion_b256", "fashion_cnn", "hands_on", "lstm_text",
                   "predict", "import"]


def test_entry_point_runs_on_tiny_sizes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--systems", "lamina",
           "--workloads", ",".join(SMOKE_WORKLOADS), "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and files[0].name.startswith(("cpu-", "gpu-")), files
    result = json.loads(files[0].read_text())
    assert result["quick"] is True and result["systems"] == ["lamina"] and result["rounds"] == 1
    assert list(result["workloads"]) == SMOKE_WORKLOADS
    for name, record in result["workloads"].items():
        (run,) = record["runs"]["lamina"]
        assert run["ok"], (name, run.get("error"))
        for key, value in run["metrics"].items():
            assert isinstance(value, (int, float)) and value >= 0, (name, key, value)
    assert record["summary"]["import_s"]["systems"]["lamina"]["n"] == 1
    assert 0.0 <= result["workloads"]["hands_on"]["runs"]["lamina"][0]["metrics"]["val_accuracy"] <= 1.0
    assert result["workloads"]["pima_warm"]["prime"]["lamina"]["ok"]
    assert result["limit"]["numpy_gemm_gflops"] > 0 and result["flop_fraction"]["fashion_b256"] > 0
    assert result["flop_fraction"]["fashion_cnn"] > 0
    cnn = result["workloads"]["fashion_cnn"]["runs"]["lamina"][0]["metrics"]
    assert cnn["params"] == 225034 and cnn["batch_size"] == 64  # the tutorials' CNN
    assert "| workload | metric | lamina |" in proc.stdout
    markdown = (tmp_path / "RESULTS.md").read_text()
    assert f"## {files[0].stem}" in markdown and "training FLOP rate on fashion_b256" in markdown
    assert "training FLOP rate on fashion_cnn (3 x 2 x the forward multiply-adds" in markdown


def _run(value, ok=True):
    return {"ok": ok, "metrics": {"fit_s": value, "accuracy": 0.5}} if ok else {"ok": False, "error": "boom"}


def test_summary_gives_per_round_speedups_and_medians():
    record = {"name": "pima_cold", "runs": {
        "lamina": [_run(1.0), _run(2.0), _run(4.0)],
        "keras-jax": [_run(3.0), _run(8.0), _run(4.0)],
    }}
    summary = report.summarize(record)
    fit = summary["fit_s"]
    assert fit["systems"]["lamina"] == {"min": 1.0, "median": 2.0, "max": 4.0, "n": 3}
    assert fit["ratios"]["keras-jax"]["per_round"] == [3.0, 4.0, 1.0]
    assert fit["ratios"]["keras-jax"]["median"] == 3.0
    assert summary["accuracy"]["ratios"] == {}  # info metrics get no ratio


def test_rates_invert_and_failed_rounds_are_skipped():
    assert report.speedup("higher", 200.0, 100.0) == 2.0  # lamina twice the peer's samples/s
    assert report.speedup("lower", 2.0, 1.0) == 0.5  # lamina twice as slow
    record = {"name": "pima_cold", "runs": {"lamina": [_run(1.0), _run(None, ok=False)],
                                            "keras-jax": [_run(5.0), _run(5.0)]}}
    fit = report.summarize(record)["fit_s"]
    assert fit["ratios"]["keras-jax"]["per_round"] == [5.0, None]
    assert fit["systems"]["lamina"]["n"] == 1


def test_targets_report_met_and_not_met():
    def workload(name, lamina, keras):
        record = {"name": name, "runs": {"lamina": [_run(lamina)], "keras-jax": [_run(keras)]}}
        record["summary"] = report.summarize(record)
        return record

    result = {"workloads": {"pima_cold": workload("pima_cold", 1.0, 3.5),
                            "pima_warm": workload("pima_warm", 1.0, 10.0)}}
    found = {t["what"].split(":")[0]: t for t in report.targets(result)}
    assert found["pima_cold"]["met"] is True and found["pima_cold"]["measured"] == "3.50x"
    assert found["pima_warm"]["met"] is False  # 10x < 20x


def test_a_system_the_workload_does_not_run_shows_a_dash_and_a_failed_run_shows_failed():
    def record(name, runs):
        out = {"name": name, "runs": runs}
        out["summary"] = report.summarize(out)
        return out

    lamina_only = {"lamina": [{"ok": True, "metrics": {"vs_sequential": 3.0, "fit_s": 1.0, "sequential_s": 3.0}}]}
    result = {"systems": ["lamina", "keras-jax"], "workloads": {
        "population_warm": record("population_warm", lamina_only),
        "pima_cold": record("pima_cold", {"lamina": [_run(1.0)], "keras-jax": [_run(None, ok=False)]})}}
    rows = report.table(result).splitlines()
    assert "| population_warm | wall time for the 32 models [s] | 1 | - |  |  |" in rows
    assert any(row.startswith("| pima_cold | fit wall time [s] | 1 | failed |") for row in rows)


def test_cli_rejects_unknown_names():
    with pytest.raises(SystemExit, match="unknown 'mnist'"):
        parse_args(["--workloads", "mnist"])
    assert parse_args(["--quick"]).rounds == 1 and parse_args([]).rounds == 3
