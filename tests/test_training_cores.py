"""Recurrent fits over several CPU cores (`lamina.training.cores`) and the CPU device count lamina asks JAX
for (`lamina.backend.cpu_devices`), checked in child processes (this process keeps one device)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _env(tmp, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "LAMINA_CPU_DEVICES", "JAX_NUM_CPU_DEVICES")}
    env["LAMINA_COMPILATION_CACHE_DIR"] = str(tmp / "programs")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def cores_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cores")
    out = tmp / "out.json"
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "cores_child.py"), str(out)], cwd=ROOT,
                         env=_env(tmp, LAMINA_CPU_DEVICES="2"), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return json.loads(out.read_text())


def test_a_recurrent_fit_runs_over_both_cores_and_trains_as_on_one_device(cores_run):
    assert cores_run["devices"] == 2 and cores_run["chosen"] == 2
    on_cores, one = cores_run["cores"], cores_run["one_device"]
    assert set(on_cores["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in one["history"].items():  # shuffled batches, validation, a ragged last batch
        np.testing.assert_allclose(on_cores["history"][key], values, rtol=1e-5, err_msg=key)
    for a, b in zip(on_cores["weights"], one["weights"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    assert on_cores["kernel_devices"] == one["kernel_devices"] == 1  # the variables come back to one device


def test_fits_that_would_not_gain_stay_on_one_device(cores_run):
    assert not cores_run["small_batch"]  # 4 rows per device
    assert not cores_run["keras_steps"]  # Keras-form steps see exact batches
    assert not cores_run["dropout"]  # the masks are bound into the loop
    assert not cores_run["stateful"]
    assert not cores_run["tiny"]  # LSTM(4): collectives would cost more than the loop
    assert not cores_run["dense"]  # no time loop


def _devices(tmp, **env):
    code = "import lamina, jax; print(jax.device_count())"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp, **env), capture_output=True,
                          text=True, timeout=120)


def test_lamina_asks_for_cpu_devices_unless_told_otherwise(tmp_path):
    assert _devices(tmp_path, LAMINA_CPU_DEVICES="3").stdout.strip() == "3"
    assert _devices(tmp_path, LAMINA_CPU_DEVICES="1").stdout.strip() == "1"
    # a count chosen through XLA or JAX is left alone
    assert _devices(tmp_path, LAMINA_CPU_DEVICES="3",
                    XLA_FLAGS="--xla_force_host_platform_device_count=2").stdout.strip() == "2"
    assert _devices(tmp_path, LAMINA_CPU_DEVICES="3", JAX_NUM_CPU_DEVICES="1").stdout.strip() == "1"
    bad = _devices(tmp_path, LAMINA_CPU_DEVICES="two")
    assert bad.returncode != 0 and "LAMINA_CPU_DEVICES must be a positive integer, got 'two'" in bad.stderr


def test_a_jax_without_the_device_count_option_is_left_alone(monkeypatch):
    import jax

    from lamina.backend import cpu_devices

    class OlderConfig:  # older JAX releases have no `jax_num_cpu_devices`
        def update(self, name, value):
            raise AssertionError(f"asked JAX to set {name}")

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(jax, "config", OlderConfig())
    cpu_devices.request()  # importing lamina must not fail there


def test_an_even_split_takes_the_most_parts_that_divide():
    from lamina.backend.cpu_devices import even_split

    assert [even_split(n, 2) for n in (1, 2, 3, 4, 32)] == [1, 2, 1, 2, 2]
    assert even_split(12, 8) == 6 and even_split(7, 8) == 7 and even_split(10, 3) == 2 and even_split(5, 0) == 1
