"""BackupAndRestore: a training process killed with SIGKILL (between epochs, mid-epoch, or in the middle of
writing a backup) resumes on restart and ends bit for bit where an uninterrupted run ends: weights, optimizer
state, history."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import lamina as keras

    backup, out, save_freq, kill = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    save_freq = "epoch" if save_freq == "epoch" else int(save_freq)
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = (x[:, :1] * 2 - x[:, 1:2] > 0).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])

    class Kill(keras.callbacks.Callback):  # also records what this process ran: [epoch, first batch end]
        def __init__(self, where):
            super().__init__()
            self.where, self.ran = where, []
        def on_epoch_begin(self, epoch, logs=None):
            self.ran.append([epoch, None])
        def on_epoch_end(self, epoch, logs=None):
            if self.where == f"epoch:{epoch}":
                os.kill(os.getpid(), signal.SIGKILL)
        def on_train_batch_end(self, batch, logs=None):
            if self.ran[-1][1] is None:
                self.ran[-1][1] = batch
            if self.where == f"batch:{self.ran[-1][0]}:{batch}":
                os.kill(os.getpid(), signal.SIGKILL)
        def batch_interval(self, kind="train"):
            return None if save_freq == "epoch" else save_freq

    if kill.startswith("save:"):  # die inside the n-th backup, after its first rename
        n, calls, real = int(kill.split(":")[1]), [0], os.replace
        def replace(a, b):
            real(a, b)
            if str(b).endswith(".bkp"):
                calls[0] += 1
                if calls[0] == n:
                    os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
    killer = Kill(kill)
    history = model.fit(x, y, batch_size=16, epochs=5, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup, save_freq=save_freq), killer])
    np.savez(os.path.join(out, "final.npz"), *model.get_weights(), *model.optimizer.get_weights())
    with open(os.path.join(out, "history.json"), "w") as f:
        json.dump({"epoch": history.epoch, "history": history.history}, f)
    with open(os.path.join(out, "ran.json"), "w") as f:
        json.dump(killer.ran, f)
""")


def _run(tmp_path, name, save_freq, kill="none"):
    out = tmp_path / name
    out.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / f"backup-{save_freq}"), str(out),
                           str(save_freq), kill], capture_output=True, text=True, timeout=300)
    return proc, out


def _result(out):
    with np.load(out / "final.npz") as f:
        arrays = [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]
    return arrays, json.loads((out / "history.json").read_text())


def _assert_same(a, b):
    arrays_a, history_a = a
    arrays_b, history_b = b
    assert len(arrays_a) == len(arrays_b)
    for x, y in zip(arrays_a, arrays_b):
        np.testing.assert_array_equal(x, y)  # bit for bit
    assert history_a == history_b


# (kill, where the restarted process begins: [epoch, first batch end it sees]). 72 training rows in batches of
# 16: 5 steps per epoch; with save_freq=2 the engine runs chunks of steps 0-1, 2-3, 4 and backs up after
# steps 1 and 3 of every epoch.
@pytest.mark.parametrize("save_freq, kills", [
    ("epoch", [("epoch:1", [2, None]),  # killed after epoch 2 and its backup
               ("save:3", [2, None])]),  # killed inside epoch 3's backup: epoch 2's is whole
    (2, [("batch:2:3", [2, 4])]),  # killed mid-epoch 3, after the backup at its step 4
], ids=["epoch", "batches"])
def test_killed_runs_resume_to_the_same_end(tmp_path, save_freq, kills):
    proc, reference = _run(tmp_path, "reference", save_freq)
    assert proc.returncode == 0, proc.stderr
    assert not os.path.exists(tmp_path / f"backup-{save_freq}")  # deleted at the end of a finished fit
    expected = _result(reference)
    assert len(expected[1]["epoch"]) == 5
    for kill, begins in kills:
        proc, _ = _run(tmp_path, f"killed-{kill}", save_freq, kill)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert os.listdir(tmp_path / f"backup-{save_freq}")
        proc, resumed = _run(tmp_path, f"resumed-{kill}", save_freq)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((resumed / "ran.json").read_text())[0] == begins  # it resumed, it did not start over
        _assert_same(_result(resumed), expected)


RNG = np.random.default_rng(1)
X = RNG.normal(size=(32, 3)).astype("float32")
Y = X.sum(1, keepdims=True)


def _model():
    m = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    m.compile("sgd", "mse")
    return m


def test_backup_files_are_keras_layout_and_load_in_keras(keras, tmp_path):
    m = _model()

    def check(epoch, logs):
        meta = json.loads((tmp_path / "b" / "training_metadata.json").read_text())
        assert meta["epoch"] == epoch + 1 and meta["batch"] == 0
        theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        theirs.load_weights(tmp_path / "b" / "latest.weights.h5")
        for a, b in zip(theirs.get_weights(), m.get_weights()):
            np.testing.assert_array_equal(a, b)
        seen.append(epoch)

    seen = []
    m.fit(X, Y, epochs=2, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b",
                                                                                   delete_checkpoint=False),
                                                 lamina.callbacks.LambdaCallback(on_epoch_end=check)])
    assert seen == [0, 1] and sorted(os.listdir(tmp_path / "b")) == ["latest.weights.h5", "training_metadata.json"]


def test_a_finished_backup_resumes_with_nothing_left_to_do(tmp_path):
    m = _model()
    m.fit(X, Y, epochs=3, verbose=0,
          callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    again = _model()
    h = again.fit(X, Y, epochs=3, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b")])
    assert h.epoch == [0, 1, 2] and len(h.history["loss"]) == 3
    for a, b in zip(again.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "b").exists()
    # the resume point holds for that fit only: the next fit starts from its own initial_epoch
    assert again.fit(X, Y, epochs=2, verbose=0).epoch == [0, 1]


def test_other_files_in_the_folder_are_kept(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b")])
    assert os.listdir(tmp_path / "b") == ["notes.txt"]


def test_a_backup_of_another_model_is_refused(tmp_path):
    _model().fit(X, Y, epochs=1, verbose=0,
                 callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)])
    other = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4), lamina.layers.Dense(1)])
    other.compile("sgd", "mse")
    with pytest.raises(ValueError):
        other.fit(X, Y, epochs=2, verbose=0, callbacks=[lamina.callbacks.BackupAndRestore(tmp_path / "b")])


@pytest.mark.parametrize("kwargs, match", [(dict(backup_dir=""), "backup_dir"),
                                           (dict(backup_dir="b", save_freq="batch"), "save_freq")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.callbacks.BackupAndRestore(**kwargs)
