"""Run-ahead: with epoch-level callbacks, `fit` dispatches epoch e+1 before epoch e's hooks run, and uses it
only when the hooks changed nothing. Every run here is compared bit for bit with the same fit where run-ahead
is off, and counts how many run-ahead epochs were used, so a silent loss of the overlap fails too."""

import re

import numpy as np
import pytest

import lamina
from lamina.training import engine

RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 4)).astype("float32")
Y = (X[:, 0] - X[:, 2] > 0).astype("float32")
EPOCHS = 6


@pytest.fixture
def counted(monkeypatch):
    """{"started": n, "used": n} for the run-ahead epochs of the fits that follow."""
    counts = {"started": 0, "used": 0}
    start, take = engine._RunAhead.start, engine._RunAhead.take

    def counting_start(self, base, result):
        counts["started"] += 1
        return start(self, base, result)

    def counting_take(self, state):
        result = take(self, state)
        counts["used"] += result is not None
        return result

    monkeypatch.setattr(engine._RunAhead, "start", counting_start)
    monkeypatch.setattr(engine._RunAhead, "take", counting_take)
    monkeypatch.setattr(engine._RunAhead, "MAX_SECONDS", 60.0)  # every epoch counts as short here
    return counts


def _fit(callback_factory, run_ahead, monkeypatch, optimizer="adam", verbose=0):
    monkeypatch.setattr(engine._RunAhead, "MAX_SECONDS", 60.0 if run_ahead else 0.0)
    lamina.utils.set_random_seed(7)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(6, activation="relu"),
                               lamina.layers.Dropout(0.2), lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=EPOCHS, batch_size=8, verbose=verbose, callbacks=[callback_factory(model)])
    return model, history.history


def _same_as_without_run_ahead(callback_factory, monkeypatch, optimizer="adam", verbose=0):
    model, history = _fit(callback_factory, True, monkeypatch, optimizer, verbose)
    weights = [w.copy() for w in model.get_weights()] + [np.asarray(v.value) for v in model.optimizer.variables]
    plain, plain_history = _fit(callback_factory, False, monkeypatch, optimizer, verbose)
    plain_weights = plain.get_weights() + [np.asarray(v.value) for v in plain.optimizer.variables]
    assert history == plain_history
    for ours, reference in zip(weights, plain_weights, strict=True):
        np.testing.assert_array_equal(ours, reference)
    return history


class Logs(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, dict(logs), [w.copy() for w in self.model.get_weights()]))


def test_epochs_run_ahead_when_the_hooks_change_nothing(counted, monkeypatch):
    recorders = []

    def make(model):
        recorders.append(Logs())
        return recorders[-1]

    _same_as_without_run_ahead(make, monkeypatch)
    assert counted["used"] == EPOCHS - 2  # the first epoch times itself; from the third on, each ran ahead
    # each hook saw its own epoch's weights, not the run-ahead epoch's
    for (epoch, logs, weights), (_, plain_logs, plain_weights) in zip(*(r.seen for r in recorders), strict=True):
        assert logs == plain_logs
        for a, b in zip(weights, plain_weights, strict=True):
            np.testing.assert_array_equal(a, b)


class ZeroTheBias(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            bias = self.model.layers[0].bias
            bias.assign(np.zeros(bias.shape, "float32"))


class HalveTheRate(lamina.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            self.model.optimizer.learning_rate = float(self.model.optimizer.learning_rate) / 2


class StopAfterThree(lamina.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 2:
            self.model.stop_training = True


@pytest.mark.parametrize("hook", [ZeroTheBias, HalveTheRate])
def test_a_hook_that_assigns_drops_the_run_ahead_epoch(hook, counted, monkeypatch):
    _same_as_without_run_ahead(lambda model: hook(), monkeypatch, optimizer="sgd")
    assert counted["started"] > counted["used"] > 0  # used before the hook assigned, dropped once after


def test_stopping_keeps_the_stopping_epochs_weights_and_step_count(counted, monkeypatch):
    history = _same_as_without_run_ahead(lambda model: StopAfterThree(), monkeypatch)
    assert len(history["loss"]) == 3
    assert counted["started"] == counted["used"] + 1  # the epoch started ahead of the stop was dropped


def test_no_run_ahead_with_batch_hooks(counted, monkeypatch):
    class Batches(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    _same_as_without_run_ahead(lambda model: Batches(), monkeypatch)
    assert counted["started"] == 0


def test_a_progress_bar_over_whole_epochs_keeps_run_ahead_and_prints_the_same_lines(counted, monkeypatch, capsys):
    """verbose=1 into a pipe: each epoch is one chunk, so its bar shows nothing between the epoch's hooks."""
    _same_as_without_run_ahead(lambda model: Logs(), monkeypatch, verbose=1)
    assert counted["used"] == EPOCHS - 2
    out = capsys.readouterr().out.splitlines()
    timeless = [re.sub(r" - \d+s - [\d.]+\w+/step", " - T", line) for line in out]
    first, second = timeless[:len(timeless) // 2], timeless[len(timeless) // 2:]
    assert first == second and len(first) == 2 * EPOCHS, out  # "Epoch i/N" and "5/5 - T - logs" per epoch
    assert all("\r" not in line and "\x1b" not in line for line in out)
