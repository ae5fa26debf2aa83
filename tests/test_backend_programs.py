"""Compiled programs kept on disk: stored once, loaded without tracing, never trusted blindly."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.backend import programs


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(programs, "directory", lambda: str(tmp_path))
    return tmp_path


def traced_counter():
    """A function that counts how often JAX traces it."""
    calls = []

    def fn(a, b):
        calls.append(1)
        return jnp.tanh(a) @ b + 1.0

    return fn, calls


X = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
W = np.ones((4, 2), np.float32)


def test_a_stored_program_is_loaded_without_tracing(folder):
    fn, calls = traced_counter()
    first = programs.CachedProgram(fn, lambda sig: "k1")
    expected = np.tanh(X) @ W + 1.0
    np.testing.assert_allclose(first(X, W), expected, rtol=1e-6)
    assert len(calls) == 1 and (folder / "k1").is_file()

    again, again_calls = traced_counter()
    loaded_before = programs.counts["loaded"]
    second = programs.CachedProgram(again, lambda sig: "k1")
    np.testing.assert_allclose(second(X, W), expected, rtol=1e-6)
    np.testing.assert_allclose(second(X * 2, W), np.tanh(X * 2) @ W + 1.0, rtol=1e-6)
    assert again_calls == [] and programs.counts["loaded"] == loaded_before + 1


def test_a_cache_that_cannot_be_touched_still_serves_its_programs(folder, monkeypatch):
    fn, _ = traced_counter()
    programs.CachedProgram(fn, lambda sig: "k1")(X, W)

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refuse)
    again, calls = traced_counter()
    np.testing.assert_allclose(programs.CachedProgram(again, lambda sig: "k1")(X, W), np.tanh(X) @ W + 1.0, rtol=1e-6)
    assert calls == [] and (folder / "k1").is_file()


def test_each_signature_gets_its_own_program(folder):
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: f"k{len(sig[1][0][0])}-{sig[1][0][0][0]}")
    program(X, W)
    program(X[:2], W)
    program(X[:1], W)
    program(X[:2], W)
    assert len(calls) == 3
    assert sorted(os.listdir(folder)) == ["k2-1", "k2-2", "k2-3"]


def test_a_damaged_entry_is_replaced(folder):
    (folder / "k1").write_bytes(b"lamina-program-1\nnot a program")
    fn, calls = traced_counter()
    out = programs.CachedProgram(fn, lambda sig: "k1")(X, W)
    np.testing.assert_allclose(out, np.tanh(X) @ W + 1.0, rtol=1e-6)
    assert len(calls) == 1
    assert (folder / "k1").read_bytes().startswith(b"lamina-program-1\n")
    assert (folder / "k1").stat().st_size > 1000


def test_the_folder_is_pruned_least_recently_used_first(folder, monkeypatch):
    fn, _ = traced_counter()
    for i, name in enumerate(["old", "used", "new"]):
        programs.CachedProgram(fn, lambda sig, name=name: name)(X[: i + 1], W)
        os.utime(folder / name, (1000 + i, 1000 + i))
    size = (folder / "new").stat().st_size
    programs.CachedProgram(fn, lambda sig: "used")(X[:2], W)  # loading marks it used
    monkeypatch.setattr(programs, "MAX_BYTES", 2 * size + size // 2)
    programs.CachedProgram(fn, lambda sig: "newest")(X[:3] * 1, W[:, :1])
    assert sorted(os.listdir(folder)) == ["newest", "used"]


def test_without_a_key_the_program_is_only_jitted(folder):
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: None)
    program(X, W)
    program(X, W)
    assert len(calls) == 1 and os.listdir(folder) == []


def test_without_a_cache_folder_nothing_is_written(monkeypatch):
    monkeypatch.setattr(programs, "directory", lambda: None)
    fn, calls = traced_counter()
    keys = []
    program = programs.CachedProgram(fn, lambda sig: keys.append(sig) or "k")
    program(X, W)
    assert keys == [] and len(calls) == 1


def test_disabled_jit_runs_the_python_function(folder):
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: "k1")
    with jax.disable_jit():
        program(X, W)
        program(X, W)
    assert len(calls) == 2 and os.listdir(folder) == []


def test_the_signature_tells_shapes_dtypes_and_weak_types_apart():
    base = programs.signature((np.zeros((2, 3), np.float32), 1))
    assert base == programs.signature((np.ones((2, 3), np.float32), 5))
    assert base != programs.signature((np.zeros((2, 4), np.float32), 1))
    assert base != programs.signature((np.zeros((2, 3), np.int32), 1))
    assert base != programs.signature((np.zeros((2, 3), np.float32), 1.0))
    assert base != programs.signature((np.zeros((2, 3), np.float32), jnp.int32(1)))


_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import lamina as keras
    from lamina.backend import programs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    loss = model.evaluate(x, y, verbose=0)[0]
    print(json.dumps({"weights": [w.tolist() for w in model.get_weights()], "loss": history.history["loss"],
                      "eval": float(loss), "counts": dict(programs.counts)}))
""")


def test_a_second_process_trains_from_the_stored_programs_with_identical_results(tmp_path):
    def run(**env):
        out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "LAMINA_COMPILATION_CACHE_DIR": str(tmp_path / "cache"), **env})
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    fresh = run()
    warm = run()
    uncached = run(LAMINA_COMPILATION_CACHE="0")
    assert fresh["counts"].get("compiled", 0) >= 2 and fresh["counts"].get("loaded", 0) == 0
    assert warm["counts"].get("loaded", 0) == fresh["counts"]["compiled"] and warm["counts"].get("compiled", 0) == 0
    assert uncached["counts"].get("loaded", 0) == 0 and uncached["counts"].get("compiled", 0) == 0
    for other in (warm, uncached):
        assert other["weights"] == fresh["weights"]
        assert other["loss"] == fresh["loss"] and other["eval"] == fresh["eval"]


def test_the_gemm_warm_up_runs_once_per_process(folder, monkeypatch):
    from lamina.training import warmup

    monkeypatch.setattr(warmup, "_started", False)
    before = sum(programs.counts.values())
    warmup.start()
    warmup.start()
    assert sum(programs.counts.values()) == before + 1
    assert len(os.listdir(folder)) == 1
