"""Runs in a child process for tests/test_distribution.py (the parent has one CPU device; these need several).

    python tests/distribution_child.py mesh OUT.json            # 4 local CPU devices
    python tests/distribution_child.py worker OUT.npz PID PORT DATA.npz   # one of two processes, 2 devices each
"""

import json
import os
import sys

MODE = sys.argv[1]
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=" + ("4" if MODE == "mesh" else "2")
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lamina as keras  # noqa: E402
from lamina import distribution  # noqa: E402
from lamina.backend import programs  # noqa: E402
from lamina.backend.scope import StatelessScope  # noqa: E402


def make_model(classes=4):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(classes)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def data(n=37):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype("float32"), rng.integers(0, 4, size=(n,))


def devices_of(variable):
    return sorted(f"{d.platform}:{d.id}" for d in variable.value.sharding.device_set)


def mesh_mode(out):
    x, y = data()
    results = {}
    reference = make_model()
    start = reference.get_weights()
    ref_hist = reference.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history
    results["single"] = {"loss": ref_hist["loss"], "weights": [w.tolist() for w in reference.get_weights()],
                         "evaluate": reference.evaluate(x, y, verbose=0),
                         "predict": reference.predict(x, verbose=0).tolist()}
    single_counts = dict(programs.counts)

    with distribution.DataParallel().scope():
        model = make_model()
        model.set_weights(start)
        hist = model.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history
        results["programs_after_dp"] = {k: v - single_counts.get(k, 0) for k, v in programs.counts.items()}
        results["data_parallel"] = {
            "loss": hist["loss"], "weights": [w.tolist() for w in model.get_weights()],
            "evaluate": model.evaluate(x, y, verbose=0), "predict": model.predict(x, verbose=0).tolist(),
            "kernel_devices": devices_of(model.layers[0].kernel),
            "kernel_spec": str(model.layers[0].kernel.value.sharding.spec),
            "train_on_batch": model.train_on_batch(x[:7], y[:7])}
        results["data_parallel"]["predict_at_save"] = model.predict(x, verbose=0).tolist()
        model.save(os.path.join(os.path.dirname(out), "dp.keras"))
        shuffled = make_model()
        shuffled.set_weights(start)
        hist = shuffled.fit(x, y, batch_size=10, epochs=2, verbose=0).history
        results["data_parallel"]["shuffled_loss"] = hist["loss"]
    loaded = keras.models.load_model(os.path.join(os.path.dirname(out), "dp.keras"))
    results["loaded"] = {"predict": loaded.predict(x, verbose=0).tolist(),
                         "devices": devices_of(loaded.layers[0].kernel)}

    results["stream"] = stream_and_keras_steps(x, y, start)
    results["recurrent"] = recurrent()

    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    layout_map[".*dense.*bias"] = ("model",)
    with distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch").scope():
        model = make_model()
        model.set_weights(start)
        hist = model.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0).history
        kernel = model.layers[0].kernel.value
        results["model_parallel"] = {
            "loss": hist["loss"], "weights": [w.tolist() for w in model.get_weights()],
            "kernel_spec": str(kernel.sharding.spec),
            "kernel_shard_shapes": sorted({tuple(s.data.shape) for s in kernel.addressable_shards}),
            "slot_spec": str(model.optimizer.variables[-1].value.sharding.spec),
            "predict": model.predict(x, verbose=0).tolist()}
    with open(out, "w") as f:
        json.dump(results, f)


def recurrent_model(dropout=0.0):
    """Masked sequences through a Bidirectional LSTM and a GRU (lamina's cells: their loops run per slice)."""
    model = keras.Sequential([
        keras.Input((7,), dtype="int32"), keras.layers.Embedding(30, 6, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True, dropout=dropout)),
        keras.layers.GRU(4), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def recurrent():
    """One-device and DataParallel fits of `recurrent_model` from the same weights (37 rows, batch 12: 3 rows per
    device, the last batch padded), and which loops run per slice of the batch (a `shard_map` in the jaxpr)."""
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, size=(37, 7)).astype("int32")
    x[np.arange(7)[None, :] < rng.integers(0, 4, size=(37, 1))] = 0  # padded in front
    y = rng.integers(0, 4, size=(37,))
    keras.utils.set_random_seed(5)
    reference = recurrent_model()
    start = reference.get_weights()
    out = {"single_loss": reference.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0).history["loss"],
           "single_weights": [w.tolist() for w in reference.get_weights()]}
    with distribution.DataParallel().scope():
        model = recurrent_model()
        model.set_weights(start)
        out["dp_loss"] = model.fit(x, y, batch_size=12, epochs=2, shuffle=False, verbose=0).history["loss"]
        out["dp_weights"] = [w.tolist() for w in model.get_weights()]
        out["dp_predict_close"] = bool(np.allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0),
                                                   rtol=2e-4, atol=1e-5))
        def loops_per_slice(network):
            def call(v):
                with StatelessScope():  # the dropout seeds advance inside the trace
                    return network(v, training=True)

            return str(jax.make_jaxpr(call)(jax.numpy.asarray(x[:8]))).count("shard_map")

        out["per_slice_loops"] = loops_per_slice(model)
        with_dropout = recurrent_model(dropout=0.3)
        out["dropout_per_slice_loops"] = loops_per_slice(with_dropout)
        out["dropout_loss"] = with_dropout.fit(x, y, batch_size=12, epochs=1, verbose=0).history["loss"]
    return out


def stream_and_keras_steps(x, y, start):
    """A generator of batches of 10 (the last has 7 rows, padded to 8 over 4 devices); a Keras-form
    train_step (exact batches: 16 rows, then a last batch of 4)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_training_keras_steps import X, Y, compiled_loss_model

    def batches():
        for i in range(0, len(x), 10):
            yield x[i:i + 10], y[i:i + 10]

    out = {}
    for name, dist in (("single", None), ("dp", distribution.DataParallel())):
        distribution.set_distribution(dist)
        try:
            model = make_model()
            model.set_weights(start)
            out[f"{name}_stream_loss"] = model.fit(batches(), epochs=1, verbose=0).history["loss"]
            keras.utils.set_random_seed(3)
            steps_model = compiled_loss_model(keras)
            out[f"{name}_keras_steps_loss"] = steps_model.fit(X[:68], Y[:68], batch_size=16, epochs=2, shuffle=False,
                                                              verbose=0).history["loss"]
            out[f"{name}_keras_steps_weights"] = [w.tolist() for w in steps_model.get_weights()]
            try:
                steps_model.fit(X, Y, batch_size=10, epochs=1, verbose=0)
                out[f"{name}_uneven_error"] = None
            except ValueError as err:
                out[f"{name}_uneven_error"] = str(err)
        finally:
            distribution.set_distribution(None)
    return out


def worker_mode(out, pid, port, data_file):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    distribution.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid)
    given = np.load(data_file)
    x, y = given["x"], given["y"]
    start = [given[f"w{i}"] for i in range(4)]
    results = {"devices": distribution.list_devices(), "local": [str(d) for d in jax.local_devices()]}
    with distribution.DataParallel().scope():  # each process is given all the data and takes its slice
        model = make_model()
        model.set_weights(start)
        hist = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
        results["auto_loss"] = np.asarray(hist["loss"])
        results["auto_eval"] = np.asarray(model.evaluate(x, y, verbose=0))
        results["auto_predict"] = model.predict(x, verbose=0)
        for i, w in enumerate(model.get_weights()):
            results[f"auto_w{i}"] = w
    mine = np.array([r for r in range(len(x)) if (r % 8) // 4 == pid])  # this process's own rows
    with distribution.DataParallel(auto_shard_dataset=False).scope():
        model = make_model()
        model.set_weights(start)
        hist = model.fit(x[mine], y[mine], batch_size=4, epochs=3, shuffle=False, verbose=0).history
        results["own_loss"] = np.asarray(hist["loss"])
        for i, w in enumerate(model.get_weights()):
            results[f"own_w{i}"] = w
    # Model parallel inside each machine, data parallel across: the kernels are split over each process's two
    # devices; saving gathers them (every process saves) into one ordinary file.
    mesh = distribution.DeviceMesh((2, 2), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*dense.*kernel"] = (None, "model")
    with distribution.ModelParallel(layout_map=layout_map).scope():
        model = make_model()
        model.set_weights(start)
        hist = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
        results["mp_loss"] = np.asarray(hist["loss"])
        results["mp_spec"] = str(model.layers[0].kernel.value.sharding.spec)
        model.save(out + ".keras")
    loaded = keras.models.load_model(out + ".keras")
    for i, w in enumerate(loaded.get_weights()):
        results[f"mp_w{i}"] = w
    np.savez(out, **{k: np.asarray(v) for k, v in results.items()})


if __name__ == "__main__":
    if MODE == "mesh":
        mesh_mode(sys.argv[2])
    else:
        worker_mode(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
