"""The background writer: newest version per path wins, every write lands before `wait` returns, errors reach
the caller, and a bounded queue."""

import threading
import time

import pytest

from lamina.utils.atomic import BackgroundWriter, atomic_write


def _writer_of(path, text, log, gate=None):
    def write():
        if gate is not None:
            gate.wait()
        with atomic_write(path) as tmp, open(tmp, "w") as f:
            f.write(text)
        log.append(text)
    return write


def test_the_newest_version_of_a_path_wins_and_is_written(tmp_path):
    writer, log = BackgroundWriter(min_interval=60.0), []
    path = tmp_path / "best.txt"
    for version in range(20):
        writer.submit(path, _writer_of(path, f"v{version}", log))
    writer.wait([path])
    assert path.read_text() == "v19"
    assert log[-1] == "v19" and len(log) < 20  # versions that waited were replaced, not all written


def test_a_path_is_rewritten_at_most_every_min_interval_unless_waited_for(tmp_path):
    writer, log = BackgroundWriter(min_interval=60.0), []
    path = tmp_path / "best.txt"
    writer.submit(path, _writer_of(path, "first", log))
    writer.wait([path])
    writer.submit(path, _writer_of(path, "second", log))
    time.sleep(0.2)
    assert log == ["first"] and writer.pending(path)  # held back by min_interval
    writer.wait([path])  # ...but written at once when someone waits for it
    assert log == ["first", "second"] and path.read_text() == "second" and not writer.pending(path)


def test_distinct_paths_are_all_written_in_order_with_a_bounded_queue(tmp_path):
    writer, log = BackgroundWriter(max_pending=2), []
    gate = threading.Event()
    paths = [tmp_path / f"e{i}.txt" for i in range(6)]
    writer.submit(paths[0], _writer_of(paths[0], "0", log, gate))
    time.sleep(0.1)  # the worker holds 0; two more may wait, the next submit blocks
    writer.submit(paths[1], _writer_of(paths[1], "1", log))
    writer.submit(paths[2], _writer_of(paths[2], "2", log))
    blocked = threading.Thread(target=writer.submit, args=(paths[3], _writer_of(paths[3], "3", log)))
    blocked.start()
    time.sleep(0.2)
    assert blocked.is_alive()
    gate.set()
    blocked.join(timeout=10)
    for i in (4, 5):
        writer.submit(paths[i], _writer_of(paths[i], str(i), log))
    writer.wait()
    assert log == ["0", "1", "2", "3", "4", "5"]
    assert [p.read_text() for p in paths] == [str(i) for i in range(6)]


def test_an_error_reaches_the_caller_once(tmp_path):
    writer = BackgroundWriter()
    path = tmp_path / "x.txt"

    def broken():
        raise OSError("disk on fire")

    writer.submit(path, broken)
    with pytest.raises(OSError, match="disk on fire") as info:
        writer.wait([path])
    assert "in the background" in " ".join(getattr(info.value, "__notes__", []))
    writer.wait([path])  # reported once


def test_checkpoints_hold_the_weights_of_their_epoch_while_training_goes_on(tmp_path, monkeypatch):
    """Snapshots: every file is written after training has moved on (held back until the last epoch), yet
    each holds its own epoch's weights."""
    import numpy as np

    import lamina
    from lamina.callbacks import model_checkpoint

    gate = threading.Event()

    class Held(BackgroundWriter):
        def submit(self, path, write):
            super().submit(path, lambda: (gate.wait(), write()))

    monkeypatch.setattr(model_checkpoint, "background", Held(max_pending=10))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(0.1), "mse")
    seen = {}

    def record(epoch, logs):
        seen[epoch] = model.get_weights()
        if epoch == 4:
            assert not list(tmp_path.glob("*.weights.h5"))  # nothing written yet
            gate.set()

    model.fit(x, y, epochs=5, verbose=0, callbacks=[
        lamina.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"), save_weights_only=True),
        lamina.callbacks.LambdaCallback(on_epoch_end=record)])
    assert len(list(tmp_path.glob("*.weights.h5"))) == 5  # fit returned with every file written
    for epoch, weights in seen.items():
        model.load_weights(tmp_path / f"w{epoch + 1}.weights.h5")
        for a, b in zip(model.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
