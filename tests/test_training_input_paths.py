"""Bad input on every path data enters (issue 11): generators, datasets, validation data, sample weights,
frames, files and configs all get the checks in-memory arrays get, before any compute, with clear errors;
impossible sizes are refused before allocating; an interrupted quiet fit keeps what it finished."""

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina import layers as L

RNG = np.random.default_rng(11)
X = RNG.normal(size=(32, 4)).astype("float32")
LABELS = RNG.integers(0, 3, size=32)


@pytest.fixture(scope="module")
def classifier():
    model = lamina.Sequential([lamina.Input((4,)), L.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def batches(xs, ys, size=8):
    for i in range(0, len(xs), size):
        yield xs[i:i + size], ys[i:i + size]


class Sequence:
    """A PyDataset-like object: `__len__` and `__getitem__`."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


# ----- streams get the same checks as arrays ----------------------------------------------------------------

def test_labels_out_of_range_in_a_generator_are_refused(classifier):
    bad = LABELS.copy()
    bad[20:] = 5  # the third batch: labels 5 for a 3-class model
    with pytest.raises(ValueError, match="label 5 .* outside \\[0, 3\\)") as info:
        classifier.fit(batches(X, bad), epochs=1, verbose=0)
    assert "batch 3" in str(info.value)


def test_nan_in_a_dataset_object_is_refused(classifier):
    xs = X.copy()
    xs[9, 2] = np.nan
    with pytest.raises(ValueError, match="batch 2 of the data: x contains 1 non-finite value.*NaN"):
        classifier.fit(Sequence([(xs[:8], LABELS[:8]), (xs[8:16], LABELS[8:16])]), epochs=1, verbose=0)


def test_a_generator_with_fewer_targets_than_inputs_is_refused(classifier):
    def uneven():
        yield X[:16], LABELS[:15]

    with pytest.raises(ValueError, match="disagree in rows.*x: 16.*y: 15"):
        classifier.fit(uneven(), epochs=1, verbose=0)


def test_a_generator_that_changes_its_features_is_refused(classifier):
    def changing():
        yield X[:8], LABELS[:8]
        yield X[8:16, :3], LABELS[8:16]

    with pytest.raises(ValueError, match="batch 2 .*differ from the first batch"):
        classifier.fit(changing(), epochs=1, verbose=0)


def test_an_empty_dataset_object_is_refused(classifier):
    with pytest.raises(ValueError, match="empty: len\\(\\) is 0"):
        classifier.fit(Sequence([]), epochs=1, verbose=0)


# ----- validation data and sample weights ---------------------------------------------------------------------

def test_validation_data_is_checked_like_training_data(classifier):
    bad_x = X.copy()
    bad_x[3, 0] = np.inf
    with pytest.raises(ValueError, match="validation_data: x contains 1 non-finite value.*inf"):
        classifier.fit(X, LABELS, validation_data=(bad_x, LABELS), verbose=0)
    with pytest.raises(ValueError, match="validation_data: .*label 7"):
        classifier.fit(X, LABELS, validation_data=(X, np.full(32, 7)), verbose=0)
    with pytest.raises(ValueError, match="validation_data: .*label 9"):
        classifier.fit(X, LABELS, validation_data=batches(X, np.full(32, 9)), verbose=0)


def test_nan_sample_weights_are_refused(classifier):
    weights = np.ones(32, "float32")
    weights[4] = np.nan
    with pytest.raises(ValueError, match="sample_weight contains 1 non-finite value"):
        classifier.fit(X, LABELS, sample_weight=weights, verbose=0)


# ----- shapes, sizes and empty data ------------------------------------------------------------------------------

def test_targets_that_would_broadcast_against_the_output_are_refused():
    model = lamina.Sequential([lamina.Input((4,)), L.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="targets of shape \\(32, 3\\) do not match the model output"):
        model.fit(X, np.ones((32, 3), "float32"), verbose=0)
    model.fit(X, np.ones((32,), "float32"), verbose=0)  # (n,) against (n, 1) is Keras's accepted form


def test_empty_data_and_bad_counts_are_explained(classifier):
    with pytest.raises(ValueError, match="0 samples"):
        classifier.fit(X[:0], LABELS[:0], verbose=0)
    with pytest.raises(ValueError, match="0 samples"):
        classifier.evaluate(X[:0], LABELS[:0], verbose=0)
    with pytest.raises(ValueError, match="0 samples"):
        classifier.predict(X[:0], verbose=0)
    for call in (lambda: classifier.evaluate(X, LABELS, batch_size=-3, verbose=0),
                 lambda: classifier.predict(X, batch_size=0, verbose=0)):
        with pytest.raises(ValueError, match="batch_size.*positive int"):
            call()
    with pytest.raises(ValueError, match="epochs.*non-negative int.*2.5"):
        classifier.fit(X, LABELS, epochs=2.5, verbose=0)


def test_a_huge_batch_size_is_clamped_to_the_data(classifier):
    h = classifier.fit(X, LABELS, batch_size=10**7, epochs=1, verbose=0)
    assert h.params["steps"] == 1
    assert classifier.evaluate(X, LABELS, batch_size=10**8, verbose=0) is not None
    assert classifier.predict(X, batch_size=10**8, verbose=0).shape == (32, 3)


def test_a_dataframe_with_a_text_column_names_the_column(classifier):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(city=["x"] * 32)
    with pytest.raises(ValueError, match="\\['city'\\] are not numeric"):
        classifier.fit(frame, LABELS, verbose=0)


def test_fit_without_a_loss_is_refused():
    model = lamina.Sequential([lamina.Input((4,)), L.Dense(1)])
    model.compile("sgd")
    with pytest.raises(ValueError, match="compiled without a loss"):
        model.fit(X, X[:, :1], verbose=0)


# ----- labels, configs, files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.inf, 1e20, -np.inf])
def test_to_categorical_refuses_values_that_are_no_class_index(value):
    with pytest.raises(ValueError, match="not a class index"):
        lamina.utils.to_categorical(np.array([0.0, value]))


def test_a_functional_config_naming_a_missing_layer_is_explained():
    inputs = lamina.Input((4,))
    config = lamina.Model(inputs, L.Dense(2, name="head")(L.Dense(3, name="body")(inputs))).get_config()
    config["layers"] = [entry for entry in config["layers"] if entry["name"] != "body"]
    with pytest.raises(ValueError, match="'head' is called on the output of layer 'body', which is not among"):
        lamina.Model.from_config(config)


def test_a_config_nested_too_deeply_is_a_clear_error():
    nested = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    for _ in range(5000):
        nested = {"class_name": "Sequential", "config": {"name": "s", "layers": [nested]}}
    with pytest.raises(ValueError, match="nested too deeply"):
        lamina.layers.deserialize(nested)
    text = "[" * 100000 + "]" * 100000
    with pytest.raises(ValueError, match="nested too deeply"):
        lamina.models.model_from_json(text)


def _idx(shape, payload=None):
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in shape)
    return header + (bytes(int(np.prod(shape))) if payload is None else payload)


def test_idx_files_truncated_corrupt_or_claiming_too_much_are_named(tmp_path):
    from lamina.datasets._readers import read_idx

    good = tmp_path / "ok-idx1-ubyte.gz"
    good.write_bytes(gzip.compress(_idx((3, 2))))
    assert read_idx(good).shape == (3, 2)
    truncated = tmp_path / "cut-idx1-ubyte.gz"
    truncated.write_bytes(gzip.compress(_idx((3, 2)))[:-9])
    with pytest.raises(ValueError, match=f"{truncated.name}.*(damaged|truncated)"):
        read_idx(truncated)
    flipped = bytearray(gzip.compress(_idx((64, 64), bytes(range(256)) * 16)))
    flipped[len(flipped) // 2] ^= 0xFF
    corrupt = tmp_path / "flip-idx1-ubyte.gz"
    corrupt.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=corrupt.name):
        read_idx(corrupt)
    # A 400 KB gzip whose header claims 2**32 x 2**32 bytes: refused from the header, nothing inflated.
    bomb = tmp_path / "bomb-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(_idx((2**32 - 1, 2**32 - 1), b"\0" * (1 << 20))))
    with pytest.raises(ValueError, match="declares shape .* more than"):
        read_idx(bomb)


def test_npz_archives_that_are_damaged_are_named(tmp_path):
    from lamina.datasets._readers import load_npz

    path = tmp_path / "data.npz"
    np.savez(path, x=np.arange(10))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="data.npz: cannot be read"):
        load_npz(path)


# ----- resources ---------------------------------------------------------------------------------------------------------

def test_impossible_weight_sizes_are_refused_before_allocating():
    with pytest.raises(MemoryError, match="Layer 'huge'.*kernel.*needs .*TB"):
        L.Dense(10**12, name="huge")(X)
    config = {"class_name": "Embedding", "config": {"name": "table", "input_dim": 10**12, "output_dim": 8}}
    layer = lamina.layers.deserialize(config)
    with pytest.raises(MemoryError, match="Layer 'table'.*embeddings"):
        layer(np.zeros((1, 2), "int32"))


def test_ctrl_c_during_a_quiet_fit_keeps_the_finished_epochs(tmp_path):
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent("""
        import faulthandler, json, signal, sys
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test asks for the stacks if it hangs
        # Ctrl-C as a terminal gives it, whatever the parent passed down: a shell starts background jobs
        # with SIGINT ignored, and a child process inherits that (printed, for a failure's message)
        print("inherited SIGINT:", signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, []),
              file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        import numpy as np
        import lamina
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        y = x.sum(1, keepdims=True)
        model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
        model.compile("sgd", "mse")
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # compile first: the next fit starts at once
        model.optimizer.iterations.assign(0)
        print("ready", flush=True)
        try:
            model.fit(x, y, epochs=10**6, batch_size=16, verbose=0)
        except KeyboardInterrupt:
            print(json.dumps({"epochs": len(model.history.history["loss"]),
                              "iterations": int(model.optimizer.iterations)}), flush=True)
    """))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout.readline().strip() == "ready"
    import time

    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the interrupted fit did not return within 60 s; its threads:\n{err[-6000:]}\nstdout: {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["epochs"] > 0
    # The weights are those of the last finished epoch: 4 steps per epoch, and at least the epochs recorded.
    assert result["iterations"] % 4 == 0 and result["iterations"] >= 4 * result["epochs"] - 8


def test_set_weights_changes_nothing_when_a_later_array_is_bad():
    model = lamina.Sequential([lamina.Input((4,)), L.Dense(2), L.Dense(1)])
    before = model.get_weights()
    bad = [np.ones_like(w) for w in before]
    bad[-1] = np.array(["x"])  # the last array is text
    with pytest.raises(ValueError, match="not numeric"):
        model.set_weights(bad)
    wrong = [np.ones_like(w) for w in before]
    wrong[-2] = np.ones((3, 1), "float32")
    with pytest.raises(ValueError, match="shape"):
        model.set_weights(wrong)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, argument", [
    (lambda m: m.fit(batches(X, LABELS), steps_per_epoch=32 / 10, verbose=0), "steps_per_epoch"),
    (lambda m: m.fit(X, LABELS, validation_data=(X, LABELS), validation_steps=1.5, verbose=0), "validation_steps"),
    (lambda m: m.evaluate(batches(X, LABELS), steps=2.5, verbose=0), "steps"),
    (lambda m: m.predict(X, steps=0, verbose=0), "steps"),
])
def test_step_counts_must_be_positive_ints_on_every_path(classifier, call, argument):
    """Keras fails deep inside its iterator on `steps_per_epoch=len(x) / 32`; lamina says what to do."""
    with pytest.raises(ValueError, match=rf"`{argument}` must be a positive int, got .*"):
        call(classifier)
    with pytest.raises(ValueError, match=r"a float: round it"):
        classifier.fit(batches(X, LABELS), steps_per_epoch=2.5, verbose=0)
