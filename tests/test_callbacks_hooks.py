"""Every hook fires where Keras 3 fires it: fit (with validation), evaluate and predict, with `logs` dicts."""

import numpy as np
import pytest

import lamina

X = np.random.default_rng(2).random((20, 3)).astype("float32")
Y = X.sum(1, keepdims=True)

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


def recorder(lib):
    """A callback of `lib` that overrides every hook and records (hook, [batch or epoch], sorted log keys)."""

    def make(hook, indexed):
        if indexed:
            def method(self, index, logs):  # `logs` required, as guide code often declares it
                self.events.append((hook, index, sorted(logs)))
        else:
            def method(self, logs):
                self.events.append((hook, sorted(logs)))
        return method

    methods = {hook: make(hook, "batch" in hook or "epoch" in hook) for hook in HOOKS}

    def __init__(self):
        lib.callbacks.Callback.__init__(self)
        self.events = []

    return type("Recorder", (lib.callbacks.Callback,), {"__init__": __init__, **methods})()


def model(lib):
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    m.compile("sgd", "mse", metrics=["mae"])
    return m


@pytest.fixture(scope="module")
def pair(keras):
    theirs, ours = model(keras), model(lamina)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _events(lib_model, lib, run):
    rec = recorder(lib)
    run(lib_model, rec)
    return rec.events


@pytest.mark.parametrize("what", ["fit", "evaluate", "predict"])
def test_hooks_and_logs_like_keras(keras, pair, what):
    ours, theirs = pair
    runs = {
        "fit": lambda m, cb: m.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[cb]),
        "evaluate": lambda m, cb: m.evaluate(X, Y, batch_size=8, verbose=0, callbacks=[cb]),
        "predict": lambda m, cb: m.predict(X, batch_size=8, verbose=0, callbacks=[cb]),
    }
    mine, reference = _events(ours, lamina, runs[what]), _events(theirs, keras, runs[what])
    assert mine == reference


def test_predict_batch_end_receives_the_batch_outputs():
    m = model(lamina)
    seen = []

    class Outputs(lamina.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(np.asarray(logs["outputs"]).shape)

    out = m.predict(X, batch_size=8, verbose=0, callbacks=[Outputs()])
    assert seen == [(8, 1), (8, 1), (4, 1)] and out.shape == (20, 1)


def test_learning_rate_set_in_a_batch_hook_takes_effect_at_the_next_step(keras):
    """The 1cycle / learning-rate-finder recipe: the rate changes every batch, as in Keras."""

    def run(lib):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, kernel_initializer="ones")])
        m.compile(lib.optimizers.SGD(0.1), "mse")
        rates = []

        class Grow(lib.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                self.model.optimizer.learning_rate = 0.001 * (10 ** batch)

            def on_train_batch_end(self, batch, logs=None):
                rates.append(float(np.asarray(self.model.optimizer.learning_rate)))

        h = m.fit(X, Y, batch_size=5, epochs=1, shuffle=False, verbose=0, callbacks=[Grow()])
        return rates, h.history["loss"], m.get_weights()

    (rates, loss, weights), (k_rates, k_loss, k_weights) = run(lamina), run(keras)
    np.testing.assert_allclose(rates, [0.001, 0.01, 0.1, 1.0], rtol=1e-6)
    np.testing.assert_allclose(rates, k_rates, rtol=1e-6)
    np.testing.assert_allclose(loss, k_loss, rtol=1e-5)
    for a, b in zip(weights, k_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5)
