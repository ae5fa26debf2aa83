"""lamina.distribution: Keras 3's API on jax.sharding, checked in child processes with several CPU devices
(`tests/distribution_child.py`; this process has one device, and XLA's device count is fixed at start)."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD = ROOT / "tests" / "distribution_child.py"
RTOL = 2e-4


def _child_env(tmp):
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env["LAMINA_COMPILATION_CACHE_DIR"] = str(tmp / "programs")
    return env


@pytest.fixture(scope="module")
def mesh_run(tmp_path_factory):
    """One child with 4 CPU devices: a one-device fit, then DataParallel and ModelParallel fits from the same
    weights (see `mesh_mode`)."""
    tmp = tmp_path_factory.mktemp("mesh")
    out = tmp / "out.json"
    run = subprocess.run([sys.executable, str(CHILD), "mesh", str(out)], cwd=ROOT, env=_child_env(tmp),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return json.loads(out.read_text())


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=RTOL, atol=1e-6)


def test_data_parallel_fit_matches_one_device(mesh_run):
    single, dp = mesh_run["single"], mesh_run["data_parallel"]
    _close(dp["loss"], single["loss"])  # 37 rows, batch 10 over 4 devices: padded slots and a ragged last batch
    for a, b in zip(dp["weights"], single["weights"]):
        _close(a, b)


def test_data_parallel_kernel_is_on_all_four_devices(mesh_run):
    dp = mesh_run["data_parallel"]
    assert dp["kernel_devices"] == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]
    assert dp["kernel_spec"] == "P(None, None)"  # replicated


def test_data_parallel_evaluate_and_predict(mesh_run):
    single, dp = mesh_run["single"], mesh_run["data_parallel"]
    _close(dp["evaluate"], single["evaluate"])
    _close(dp["predict"], single["predict"])
    assert np.shape(dp["predict"]) == (37, 4)
    assert np.isfinite(dp["train_on_batch"]).all()  # 7 rows over 4 devices
    assert np.isfinite(dp["shuffled_loss"]).all() and len(dp["shuffled_loss"]) == 2
    assert abs(dp["shuffled_loss"][0] - dp["loss"][0]) > 1e-6  # shuffle=True does shuffle (within each device)


def test_distributed_programs_are_not_one_device_programs(mesh_run):
    # The DataParallel fit found nothing to share with the one-device fit of the same model: its programs
    # are compiled for the mesh in this process (never stored, never taken from the store).
    counts = mesh_run["programs_after_dp"]
    assert counts.get("shared", 0) == 0 and counts.get("loaded", 0) == 0 and counts.get("compiled", 0) == 0
    assert counts.get("jit", 0) >= 1


def test_generators_and_keras_form_steps_under_data_parallel(mesh_run):
    got = mesh_run["stream"]
    _close(got["dp_stream_loss"], got["single_stream_loss"])
    _close(got["dp_keras_steps_loss"], got["single_keras_steps_loss"])
    for a, b in zip(got["dp_keras_steps_weights"], got["single_keras_steps_weights"]):
        _close(a, b)
    assert got["single_uneven_error"] is None
    assert "split evenly over the 4 slices" in got["dp_uneven_error"]  # batches of 10 on 4 devices, no padding


def test_saved_under_distribution_loads_on_one_device(mesh_run):
    loaded = mesh_run["loaded"]
    assert loaded["devices"] == ["cpu:0"]
    _close(loaded["predict"], mesh_run["data_parallel"]["predict_at_save"])


def test_recurrent_loops_run_per_slice_and_match_one_device(mesh_run):
    """Under DataParallel each lamina cell's time loop runs on its slice of the batch (with masks, both
    directions of a Bidirectional, a padded last batch) and trains as on one device."""
    rec = mesh_run["recurrent"]
    _close(rec["dp_loss"], rec["single_loss"])
    for a, b in zip(rec["dp_weights"], rec["single_weights"]):
        _close(a, b)
    assert rec["dp_predict_close"]
    assert rec["per_slice_loops"] == 3  # the LSTM's two directions and the GRU
    assert rec["dropout_per_slice_loops"] == 1  # dropout masks are bound into the LSTM's steps: only the GRU
    assert np.isfinite(rec["dropout_loss"]).all()


def test_model_parallel_shards_the_kernel_and_matches(mesh_run):
    single, mp = mesh_run["single"], mesh_run["model_parallel"]
    assert mp["kernel_spec"] == "P(None, 'model')"
    assert mp["kernel_shard_shapes"] == [[6, 4]]  # (6, 8) split in two along the `model` axis
    assert mp["slot_spec"] == "P('model',)"  # the optimizer's slots lie as their variables
    _close(mp["loss"], single["loss"])
    for a, b in zip(mp["weights"], single["weights"]):
        _close(a, b)
    _close(mp["predict"], single["predict"])


def test_two_processes_train_one_model(tmp_path):
    """Two processes on 127.0.0.1 (process 0 is the coordinator), two CPU devices each, gloo collectives:
    one model over the four devices, as a one-process run with the same global batch: DataParallel with
    the whole data given to each process, and with each process given its own rows; ModelParallel with the
    kernels split inside each process, saved by both into files that load on one device."""
    import lamina as keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(37, 6)).astype("float32"), rng.integers(0, 4, size=(37,))
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = model.get_weights()
    np.savez(tmp_path / "data.npz", x=x, y=y, **{f"w{i}": w for i, w in enumerate(start)})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workers = [subprocess.Popen([sys.executable, str(CHILD), "worker", str(tmp_path / f"w{p}.npz"), str(p), str(port),
                                 str(tmp_path / "data.npz")], cwd=ROOT, env=_child_env(tmp_path),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for p in range(2)]
    try:
        logs = [w.communicate(timeout=240)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    for w, log in zip(workers, logs):
        assert w.returncode == 0, log[-5000:]
    out = [np.load(tmp_path / f"w{p}.npz") for p in range(2)]
    assert list(out[0]["devices"]) == ["cpu:0", "cpu:1", "cpu:2048", "cpu:2049"]

    reference = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    for o in out:
        _close(o["auto_loss"], reference)  # each process given all the data: lamina takes each one's slice
        _close(o["own_loss"], reference)  # each process given its own rows (auto_shard_dataset=False)
        _close(o["auto_eval"], model.evaluate(x, y, verbose=0))
        _close(o["auto_predict"], model.predict(x, verbose=0))
    for o in out:
        assert str(o["mp_spec"]) == "P(None, 'model')"
        _close(o["mp_loss"], reference)
    for i, w in enumerate(model.get_weights()):
        for kind in ("auto", "own", "mp"):
            np.testing.assert_array_equal(out[0][f"{kind}_w{i}"], out[1][f"{kind}_w{i}"])  # identical in both
            _close(out[0][f"{kind}_w{i}"], w)


# ----- the API itself (one device is enough) -------------------------------------------------------------


def test_layout_map_matches_like_keras():
    from lamina import distribution

    mesh = distribution.DeviceMesh((1,), ["model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map["dense/bias"] = ("model",)
    assert layout_map["dense_1/kernel"].axes == (None, "model")
    assert layout_map["dense_1/kernel"].device_mesh is mesh
    assert layout_map["dense/bias"].axes == ("model",)
    assert layout_map["conv2d/kernel"] is None
    assert layout_map["x_dense_kernel_y"] is None  # fullmatch: the whole path must match
    layout_map[".*kernel"] = (None, None)
    with pytest.raises(ValueError, match="matches several"):
        layout_map["dense/kernel"]
    with pytest.raises(ValueError, match="already set"):
        layout_map["dense/bias"] = ("model",)
    with pytest.raises(ValueError, match="not axes of the mesh"):
        distribution.TensorLayout(("batch",), mesh)


def test_mesh_and_distribution_errors():
    from lamina import distribution

    devices = distribution.list_devices()
    assert devices == ["cpu:0"]
    with pytest.raises(ValueError, match="needs 2 devices"):
        distribution.DeviceMesh((2,), ["batch"])
    with pytest.raises(ValueError, match="same length"):
        distribution.DeviceMesh((1,), ["batch", "model"])
    with pytest.raises(ValueError, match="layout_map"):
        distribution.ModelParallel()
    with pytest.raises(ValueError, match="not found"):
        distribution.DeviceMesh((1,), ["batch"], ["cpu:7"]).backend_mesh
    dp = distribution.DataParallel()
    assert dp.batch_dim_name == "batch" and dp.num_model_replicas == 1
    assert distribution.distribution() is None
    with dp.scope():
        assert distribution.distribution() is dp
    assert distribution.distribution() is None


def test_uneven_split_is_refused_before_compute():
    import lamina as keras
    from lamina import distribution

    mesh = distribution.DeviceMesh((1,), ["model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model", None)
    with distribution.ModelParallel(layout_map=layout_map).scope():
        with pytest.raises(ValueError, match="3 axes for 2 dimensions"):
            keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])


def test_initialize_reads_keras_environment_variables(monkeypatch):
    import jax

    from lamina.distribution import runtime

    seen = {}
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: seen.update(kw))
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "10.0.0.1:1234,10.0.0.2:2345")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    runtime.initialize()
    assert seen == {"coordinator_address": "10.0.0.1:1234", "num_processes": 2, "process_id": 1}
    with pytest.raises(ValueError, match="lists 2 jobs"):
        runtime.initialize(num_processes=3)


def test_layout_map_lookups_are_keras_lookups(keras):
    from lamina import distribution

    keys = {".*dense.*kernel": (None, "model"), ".*dense.*bias": ("model",), "conv2d/kernel": (None, None, None, "model"),
            ".*embedding.*": (None, "model"), ".*dense_2.*": (None, None)}
    queries = ["dense/kernel", "dense_1/bias", "sequential/dense/kernel", "conv2d/kernel", "conv2d/bias",
               "my_embedding/embeddings", "dense_2/kernel", "x"]
    answers = {}
    for lib in (keras.distribution, distribution):
        mesh = lib.DeviceMesh((1,), ["model"], lib.list_devices())
        layout_map = lib.LayoutMap(mesh)
        for key, axes in keys.items():
            layout_map[key] = axes
        found = []
        for query in queries:
            try:
                layout = layout_map[query]
                found.append(None if layout is None else tuple(layout.axes))
            except ValueError:
                found.append("several")
        answers[lib.__name__.split(".")[0]] = found
    assert answers["lamina"] == answers["keras"]
    assert "several" in answers["lamina"] and (None, "model") in answers["lamina"]
