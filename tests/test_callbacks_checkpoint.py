"""ModelCheckpoint against Keras 3 on the same run: which files exist, what the best one holds, batch-level
saves; the files load in Keras."""

import os

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(7)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [0.5], [2.0]], "float32") + RNG.normal(scale=2.0, size=(48, 1))).astype("float32")
XV, YV = X[:16] + 0.3, Y[:16]


def _model(lib):
    m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(8, activation="tanh"), lib.layers.Dense(1)])
    m.compile(lib.optimizers.SGD(0.05), "mse", metrics=["mae"])
    return m


def _run_both(keras, tmp_path, make_callback, epochs=8):
    """The same fit in lamina and Keras, each with its own folder; returns {lib: (folder, model, history)}."""
    theirs = _model(keras)
    ours = _model(lamina)
    ours.set_weights(theirs.get_weights())
    out = {}
    for name, lib, m in (("lamina", lamina, ours), ("keras", keras, theirs)):
        folder = tmp_path / name
        folder.mkdir()
        h = m.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, validation_data=(XV, YV),
                  callbacks=[make_callback(lib, folder)])
        out[name] = (folder, m, h.history)
    return out


@pytest.mark.parametrize("kwargs, name", [
    (dict(), "m-{epoch:02d}-{val_loss:.2f}.keras"),
    (dict(save_best_only=True, monitor="val_mae"), "best-{epoch:02d}.keras"),
    (dict(save_best_only=True, save_weights_only=True, mode="max", monitor="val_loss"), "w-{epoch}.weights.h5"),
    (dict(save_freq=3), "b-{epoch}-{batch}.keras"),
], ids=["every_epoch", "best_only", "weights_max", "batches"])
def test_files_like_keras(keras, tmp_path, kwargs, name):
    runs = _run_both(keras, tmp_path, lambda lib, folder: lib.callbacks.ModelCheckpoint(str(folder / name),
                                                                                        **kwargs))
    ours, theirs = (sorted(os.listdir(runs[k][0])) for k in ("lamina", "keras"))
    assert ours == theirs and ours
    for a, b in zip(runs["lamina"][2]["val_loss"], runs["keras"][2]["val_loss"]):
        assert a == pytest.approx(b, rel=2e-5)


def test_best_checkpoint_holds_the_best_epoch_and_loads_in_keras(keras, tmp_path):
    runs = _run_both(keras, tmp_path, lambda lib, folder: lib.callbacks.ModelCheckpoint(
        str(folder / "best.keras"), save_best_only=True, monitor="val_loss"), epochs=10)
    history = runs["lamina"][2]
    best = int(np.argmin(history["val_loss"]))
    ours = lamina.saving.load_model(runs["lamina"][0] / "best.keras")
    theirs = keras.saving.load_model(runs["keras"][0] / "best.keras")
    from_ours_in_keras = keras.saving.load_model(runs["lamina"][0] / "best.keras")
    assert ours.evaluate(XV, YV, verbose=0)[0] == pytest.approx(history["val_loss"][best], rel=1e-5)
    for a, b, c in zip(ours.get_weights(), theirs.get_weights(), from_ours_in_keras.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(a, c)


def test_verbose_messages_like_keras(keras, tmp_path, capsys):
    _run_both(keras, tmp_path, lambda lib, folder: lib.callbacks.ModelCheckpoint(
        str(folder / "best.keras"), save_best_only=True, verbose=1), epochs=4)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Epoch ")]
    half = len(lines) // 2  # lamina's run printed first
    ours = [line.replace(str(tmp_path / "lamina"), "<dir>") for line in lines[:half]]
    theirs = [line.replace(str(tmp_path / "keras"), "<dir>") for line in lines[half:]]
    assert ours == theirs and any("improved from" in line for line in ours)


@pytest.mark.parametrize("kwargs, match", [
    (dict(filepath="m.h5", save_weights_only=True), r"\.weights\.h5"),
    (dict(filepath="m.txt"), r"\.keras"),
    (dict(filepath="m.keras", save_freq="batch"), "save_freq"),
    (dict(filepath="m.keras", save_freq=0), "save_freq"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.callbacks.ModelCheckpoint(**kwargs)


def test_missing_log_key_in_the_file_name(tmp_path):
    m = _model(lamina)
    with pytest.raises(KeyError, match="val_acc"):
        m.fit(X, Y, epochs=1, verbose=0,
              callbacks=[lamina.callbacks.ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))])


def test_a_folder_as_file_name_is_refused(tmp_path):
    (tmp_path / "taken.keras").mkdir()
    m = _model(lamina)
    with pytest.raises(IsADirectoryError, match="non-directory"):
        m.fit(X, Y, epochs=1, verbose=0,
              callbacks=[lamina.callbacks.ModelCheckpoint(str(tmp_path / "taken.keras"))])
