"""Runs in a child process for tests/test_training_cores.py, started with LAMINA_CPU_DEVICES=2 (the parent
keeps one CPU device): a recurrent fit over both cores against the same fit on one device.

    python tests/cores_child.py OUT.json
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import jax  # noqa: E402
import numpy as np  # noqa: E402

import lamina as keras  # noqa: E402
from lamina.training import cores  # noqa: E402


def model(units=48, batch_size=None, **lstm):
    net = keras.Sequential([keras.Input((40,), dtype="int32", batch_size=batch_size),
                            keras.layers.Embedding(50, 16, mask_zero=True),
                            keras.layers.LSTM(units, **lstm), keras.layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return net


def fit(start, x, y, on_cores):
    """A shuffled fit with validation (100 rows: the last batch of 32 is ragged) of a new model from `start`;
    `on_cores` False keeps it on one device."""
    saved = cores.MIN_WORK
    cores.MIN_WORK = saved if on_cores else float("inf")
    try:
        net = model()
        net.set_weights(start)
        keras.utils.set_random_seed(11)
        history = net.fit(x, y, batch_size=32, epochs=2, validation_split=0.2, verbose=0).history
    finally:
        cores.MIN_WORK = saved
    return {"history": history, "weights": [w.tolist() for w in net.get_weights()],
            "kernel_devices": len(net.layers[1].cell.kernel.value.sharding.device_set)}


def main(out):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, size=(125, 40)).astype("int32")
    x[np.arange(40)[None, :] < rng.integers(0, 20, size=(125, 1))] = 0  # padded in front
    y = (rng.random(125) > 0.5).astype("float32")
    keras.utils.set_random_seed(3)
    net = model()
    start = net.get_weights()
    def data(batch_size):  # what distribution_for reads of a fit's ArrayData
        return type("Data", (), {"x": x, "batch_size": batch_size})()

    chosen = cores.distribution_for(net, data(32), exact=False)
    results = {
        "devices": jax.device_count(),
        "chosen": None if chosen is None else chosen.num_model_replicas,
        "cores": fit(start, x, y, True),
        "one_device": fit(start, x, y, False),
        "small_batch": cores.distribution_for(net, data(8), exact=False) is not None,
        "keras_steps": cores.distribution_for(net, data(32), exact=True) is not None,
        "dropout": cores.distribution_for(model(dropout=0.2), data(32), exact=False) is not None,
        "stateful": cores.distribution_for(model(batch_size=32, stateful=True), data(32), exact=False) is not None,
        "tiny": cores.distribution_for(model(units=4), data(32), exact=False) is not None,
    }
    dense = keras.Sequential([keras.Input((40,)), keras.layers.Dense(64), keras.layers.Dense(1)])
    results["dense"] = cores.distribution_for(dense, data(32), exact=False) is not None
    with open(out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1])
