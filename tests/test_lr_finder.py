"""find_learning_rate: the range test's schedule, each step's loss as a plain training step gives it,
the divergence stop, the suggestion, the plot, and the model and optimizer put back bit for bit."""

import sys

import numpy as np
import pytest

import lamina as keras
from lamina.tuners import find_learning_rate

rng = np.random.default_rng(0)
X = rng.normal(size=(96, 6)).astype("float32")
Y = (X @ rng.normal(size=(6, 1)) + 0.1).astype("float32")


def _model(optimizer=None, extras=False):
    layers = [keras.Input((6,)), keras.layers.Dense(8, activation="relu")]
    if extras:  # non-trainable state and a seed: both must come back too
        layers += [keras.layers.BatchNormalization(), keras.layers.Dropout(0.2)]
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01), loss="mse")
    return model


def _state(model):
    return [np.array(v.value) for v in model.weights] + [np.array(v.value) for v in model.optimizer.variables]


def test_weights_and_optimizer_state_come_back_bit_for_bit():
    model = _model(keras.optimizers.Adam(1e-3), extras=True)
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)  # Adam's slots and iterations are not zero
    before = _state(model)
    found = find_learning_rate(model, X, Y, batch_size=8, max_rate=100.0)
    after = _state(model)
    assert len(found.rates) > 1
    assert len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))
    assert float(np.asarray(model.optimizer.learning_rate)) == np.float32(1e-3)
    history = model.fit(X, Y, epochs=1, batch_size=16, verbose=0, shuffle=False)  # and training goes on
    assert np.isfinite(history.history["loss"][0])


def test_schedule_and_losses_are_plain_training_steps():
    model = _model()
    start = [np.array(w) for w in model.get_weights()]
    found = find_learning_rate(model, X, Y, epochs=2, batch_size=16, min_rate=1e-4, max_rate=1e-2, shuffle=False)
    steps = 2 * (96 // 16)
    assert len(found.rates) == steps and not found.stopped_early
    np.testing.assert_allclose(found.rates[[0, -1]], [1e-4, 1e-2], rtol=1e-12)
    np.testing.assert_allclose(found.rates[1:] / found.rates[:-1], (1e-2 / 1e-4) ** (1 / (steps - 1)), rtol=1e-9)
    # Replay the first two steps with ordinary training: same losses, so each step used its own rate.
    replay = _model(keras.optimizers.SGD(float(found.rates[0])))
    replay.set_weights(start)
    first = replay.train_on_batch(X[:16], Y[:16])
    replay.optimizer.learning_rate = float(found.rates[1])
    second = replay.train_on_batch(X[16:32], Y[16:32])
    np.testing.assert_allclose(found.raw_losses[:2], [first, second], rtol=1e-5)
    # Smoothed losses: the bias-corrected moving average of the raw ones.
    average, smooth = 0.0, []
    for i, loss in enumerate(found.raw_losses):
        average = 0.98 * average + 0.02 * loss
        smooth.append(average / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(found.losses, smooth, rtol=1e-12)
    assert found.suggested == pytest.approx(found.rates[np.argmin(found.losses)] / 10)


def test_stops_when_the_loss_diverges():
    model = _model()
    found = find_learning_rate(model, X, Y, epochs=3, batch_size=4, min_rate=1e-3, max_rate=1e3)
    assert found.stopped_early and len(found.rates) < 3 * 24
    last = found.losses[-1]
    assert not np.isfinite(last) or last > 4 * np.min(found.losses[:-1])
    assert np.all(found.losses[:-1] <= 4 * np.minimum.accumulate(found.losses[:-1]) + 1e-9)
    assert 1e-4 <= found.suggested < found.rates[-1]


def test_plot(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    found = find_learning_rate(_model(), X, Y, batch_size=16, max_rate=1.0)
    from pictures import assert_picture

    assert found.plot(tmp_path / "lr.png") == str(tmp_path / "lr.png")
    assert_picture(tmp_path / "lr.png")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"lamina\[plot\]"):
        found.plot(tmp_path / "again.png")


def test_bad_calls_are_refused_before_compute():
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        find_learning_rate(model, X, Y)
    scheduled = _model(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)))
    with pytest.raises(ValueError, match="schedule"):
        find_learning_rate(scheduled, X, Y)
    with pytest.raises(ValueError, match="min_rate"):
        find_learning_rate(_model(), X, Y, min_rate=1.0, max_rate=0.1)
    with pytest.raises(ValueError, match="samples"):
        find_learning_rate(_model(), X, Y[:10])
