"""TensorBoard event files written without TensorFlow, read back with the tensorboard package's own reader."""

import importlib.util
import os

import numpy as np
import pytest

import lamina

pytest.importorskip("tensorboard", reason="the TensorBoard callback needs the tensorboard package (dev extra)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

RNG = np.random.default_rng(4)
X = RNG.normal(size=(40, 3)).astype("float32")
Y = X.sum(1, keepdims=True)


def _read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: [(e.step, e.tensor_proto) for e in acc.Tensors(tag)] for tag in acc.Tags()["tensors"]}


def _values(events):
    from tensorboard.util import tensor_util

    return [(step, tensor_util.make_ndarray(proto)) for step, proto in events]


def test_tensorflow_is_not_installed():
    assert importlib.util.find_spec("tensorflow") is None


def test_scalars_histograms_and_graph_are_written_and_read_back(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4, activation="relu"), lamina.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    tb = lamina.callbacks.TensorBoard(tmp_path / "run", histogram_freq=1, update_freq=2)
    history = model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(X[:8], Y[:8]),
                        callbacks=[tb])
    assert sorted(os.listdir(tmp_path / "run")) == ["train", "validation"]
    train, validation = _read(tmp_path / "run" / "train"), _read(tmp_path / "run" / "validation")
    for name in ("loss", "mae"):
        epochs = _values(train[f"epoch_{name}"])
        assert [s for s, _ in epochs] == [0, 1, 2]
        np.testing.assert_allclose([float(v) for _, v in epochs], history.history[name], rtol=1e-6)
        val = _values(validation[f"epoch_{name}"])
        np.testing.assert_allclose([float(v) for _, v in val], history.history[f"val_{name}"], rtol=1e-6)
    assert [float(v) for _, v in _values(train["epoch_learning_rate"])] == pytest.approx([0.01] * 3)
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8, 10, 12, 14]  # every 2nd of 5 x 3 batches, as Keras
    assert [s for s, _ in validation["evaluation_loss_vs_iterations"]] == [5, 10, 15]
    for weight in model.weights:
        histograms = _values(train[f"{weight.path}/histogram"])
        assert [s for s, _ in histograms] == [0, 1, 2] and histograms[-1][1].shape[1] == 3  # bucket rows
    graph = train["keras"][0][1]
    assert b"Sequential" in graph.string_val[0]


def test_epoch_logging_keeps_the_one_program_per_epoch_loop(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    tb = lamina.callbacks.TensorBoard(tmp_path / "logs")
    assert tb.batch_interval("train") is None
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[tb])
    assert [name for name in model._engine.programs if "gather" in name] == [
        ("lamina", "train", "gather", 5, 8, False)]  # one program of 5 steps: the whole epoch


def test_unsupported_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="write_images"):
        lamina.callbacks.TensorBoard(tmp_path, write_images=True)
    with pytest.raises(ValueError, match="embeddings"):
        lamina.callbacks.TensorBoard(tmp_path, embeddings_freq=1)
    with pytest.raises(ValueError, match="profile_batch"):
        lamina.callbacks.TensorBoard(tmp_path, profile_batch=(4, 2))


@pytest.mark.parametrize("value", [0.5, 1e-7, np.float64(3.3), np.int64(3), np.float32(np.nan), True])
def test_scalar_summaries_equal_the_tensorboard_packages_own(value):
    """lamina copies a cached summary per tag instead of building each one; the protos must be the same."""
    from tensorboard.plugins.scalar import summary_v2

    from lamina.callbacks.tensorboard import _scalar_summary

    assert _scalar_summary({"epoch_loss": value}).SerializeToString() == \
        summary_v2.scalar_pb("epoch_loss", np.float32(value)).SerializeToString()
    assert _scalar_summary({"epoch_loss": 2.0}).value[0].tensor.float_val[0] == 2.0  # the template is not changed
    # an epoch's scalars share one summary: its values are the package's own, in order
    both = _scalar_summary({"epoch_loss": value, "epoch_accuracy": 0.25})
    assert [v.SerializeToString() for v in both.value] == [
        summary_v2.scalar_pb("epoch_loss", np.float32(value)).value[0].SerializeToString(),
        summary_v2.scalar_pb("epoch_accuracy", np.float32(0.25)).value[0].SerializeToString()]
