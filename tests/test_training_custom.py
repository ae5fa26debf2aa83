"""Overridable `train_step` / `test_step` (Keras 3's JAX forms) and the Callback hooks seen by fit."""

import jax
import numpy as np
import pytest

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")


def _update_metrics(model, metrics_variables, loss, y, y_pred):
    """The metric loop of a Keras-form step: (logs, new metrics variables)."""
    updated, logs = [], {}
    for metric in model.metrics:
        own = metrics_variables[len(updated):len(updated) + len(metric.variables)]
        own = (metric.stateless_update_state(own, loss) if metric.name == "loss"
               else metric.stateless_update_state(own, y, y_pred))
        logs[metric.name] = metric.stateless_result(own)
        updated += own
    return logs, updated


class PlainGradientDescent(lamina.Sequential):
    """Ignores the compiled optimizer: params -= 0.1 * grad, written with Keras's stateless pieces."""

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y, sample_weight = lamina.utils.unpack_x_y_sample_weight(data)

        def loss_fn(params):
            out, new_non_trainable = self.stateless_call(params, non_trainable, x, training=True)
            loss, _ = self.stateless_compute_loss(params, new_non_trainable, metrics_variables, x=x, y=y, y_pred=out,
                                                  sample_weight=sample_weight)
            return loss, (out, new_non_trainable)

        (loss, (out, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        trainable = [p - 0.1 * g for p, g in zip(trainable, grads)]
        logs, metrics_variables = _update_metrics(self, metrics_variables, loss, y, out)
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)


def _linear(cls=lamina.Sequential):
    model = cls([lamina.Input(shape=(3,)), L.Dense(1)])
    model.compile(lamina.optimizers.Adam(0.5), "mse", metrics=["mae"])
    return model


def _numpy_gd_step(w, b, x, y, lr=0.1):
    err = x @ w + b - y  # d mean(err^2) / d pred = 2 err / n
    return w - lr * x.T @ (2 * err) / len(x), b - lr * (2 * err).mean(0), float(np.mean(err ** 2))


def test_overridden_train_step_runs_in_fit():
    model = _linear(PlainGradientDescent)
    model.build((None, 3))
    w, b = model.get_weights()
    h = model.fit(X, Y, batch_size=20, epochs=2, shuffle=False, verbose=0)
    losses = []
    for _ in range(2):
        w, b, loss = _numpy_gd_step(w, b, X, Y)
        losses.append(loss)
    np.testing.assert_allclose(h.history["loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 0  # the custom step never called the optimizer


def test_overridden_train_step_gets_the_ragged_last_batch_on_its_own():
    """Batches of 16 over 20 rows: the step sees 16 rows, then exactly the 4 left (no padding)."""
    model = _linear(PlainGradientDescent)
    model.build((None, 3))
    w, b = model.get_weights()
    h = model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    w, b, first = _numpy_gd_step(w, b, X[:16], Y[:16])
    w, b, second = _numpy_gd_step(w, b, X[16:], Y[16:])
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    # This step's loss tracker is updated without sample weights: the epoch loss is the mean of the two.
    assert h.history["loss"][0] == pytest.approx((first + second) / 2, rel=1e-5)


def test_overridden_test_step_runs_in_evaluate_and_validation():
    class ZeroPrediction(lamina.Sequential):
        def test_step(self, state, data):
            trainable, non_trainable, metrics_variables = state
            x, y, sample_weight = lamina.utils.unpack_x_y_sample_weight(data)
            zeros = jax.numpy.zeros_like(y)
            loss, _ = self.stateless_compute_loss(trainable, non_trainable, metrics_variables, x=x, y=y, y_pred=zeros)
            logs, metrics_variables = _update_metrics(self, metrics_variables, loss, y, zeros)
            return logs, (trainable, non_trainable, metrics_variables)

    model = _linear(ZeroPrediction)
    logs = model.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)
    # The loss tracker is updated without sample weights: the mean of the batches' losses (8, 8 and 4 rows).
    batch_losses = [np.mean(Y[i:i + 8] ** 2) for i in (0, 8, 16)]
    assert logs["loss"] == pytest.approx(float(np.mean(batch_losses)), rel=1e-5)
    assert logs["mae"] == pytest.approx(float(np.mean(np.abs(Y))), rel=1e-5)
    h = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, validation_data=(X, Y))
    assert h.history["val_loss"][0] == pytest.approx(logs["loss"], rel=1e-5)
    assert h.history["loss"][0] != pytest.approx(logs["loss"], rel=1e-3)  # training used the real step


# ----- callbacks -----------------------------------------------------------------------------------

class Recorder(lamina.callbacks.Callback):
    """Records epoch-level events only (so fit may run each epoch as one compiled call)."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.weights = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(logs)))
        self.weights.append(self.model.get_weights())

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


class BatchRecorder(Recorder):
    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, round(logs["loss"], 6)))
        self.batch_weights = self.model.get_weights()

    def on_batch_end(self, batch, logs=None):  # not called: on_train_batch_end is overridden (as in Keras)
        self.events.append(("legacy_end", batch))


class LegacyRecorder(lamina.callbacks.Callback):
    """Overrides only the Keras 2 name `on_batch_end`, which the default `on_train_batch_end` calls."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_batch_end(self, batch, logs=None):
        self.batches.append(batch)


@pytest.fixture(scope="module")
def model():
    return _linear()


def test_epoch_hooks_order_logs_and_weights(model):
    rec = Recorder()
    h = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[rec])
    keys = ["loss", "mae", "val_loss", "val_mae"]
    assert rec.events == [("train_begin",), ("epoch_begin", 0), ("epoch_end", 0, keys), ("epoch_begin", 1),
                          ("epoch_end", 1, keys), ("train_end",)]
    assert rec.model is model and rec.params == {"verbose": 0, "epochs": 2, "steps": 3}
    # Weights are current between epochs: they moved during epoch 2 and equal the final ones at the end.
    assert not np.allclose(rec.weights[0][0], rec.weights[1][0])
    for a, b in zip(rec.weights[1], model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h.history["val_loss"][1] == pytest.approx(model.evaluate(X, Y, verbose=0)[0], rel=1e-5)


def test_batch_hooks_fire_for_every_batch(model):
    rec = BatchRecorder()
    h = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False, callbacks=[rec])
    batch_events = [e for e in rec.events if e[0] in ("batch_begin", "batch_end", "legacy_end")]
    assert [e[:2] for e in batch_events] == [("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1),
                                             ("batch_end", 1), ("batch_begin", 2), ("batch_end", 2)]
    # Batch logs are the running epoch averages; the last one is the epoch value.
    assert batch_events[-1][2] == pytest.approx(h.history["loss"][0], rel=1e-5)
    for a, b in zip(rec.batch_weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    legacy = LegacyRecorder()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[legacy])
    assert legacy.batches == [0, 1, 2]


def test_batch_hooks_fire_at_steps_per_execution_boundaries():
    model = lamina.Sequential([lamina.Input(shape=(3,)), L.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    rec = BatchRecorder()
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[rec])  # 5 steps: chunks of 2, 2, 1
    assert [e[:2] for e in rec.events if e[0] in ("batch_begin", "batch_end")] == [
        ("batch_begin", 0), ("batch_end", 1), ("batch_begin", 2), ("batch_end", 3), ("batch_begin", 4),
        ("batch_end", 4)]


def test_stop_training_from_epoch_end(model):
    class StopAfterTwo(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    h = model.fit(X, Y, batch_size=8, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert h.epoch == [0, 1] and len(h.history["loss"]) == 2


def test_stop_training_from_a_batch_ends_the_epoch_early(model):
    class StopAtSecondBatch(lamina.callbacks.Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1
            if batch == 1:
                self.model.stop_training = True

    cb = StopAtSecondBatch()
    h = model.fit(X, Y, batch_size=4, epochs=3, verbose=0, callbacks=[cb])
    assert cb.seen == 2 and h.epoch == [0]


def test_weights_set_by_a_callback_between_epochs_are_used(model):
    start = model.get_weights()

    class Reset(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.set_weights(start)

    model.compile(lamina.optimizers.SGD(0.05), "mse")
    h = model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[Reset()])
    np.testing.assert_allclose(h.history["loss"], [h.history["loss"][0]] * 3, rtol=1e-6)


# ----- the perceptron example (examples/perceptron.py) ------------------------------------------------

@pytest.fixture(scope="module")
def perceptron():
    import pathlib
    import runpy

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "perceptron.py"
    return runpy.run_path(str(path), run_name="perceptron_example")  # defines functions, runs nothing


def test_perceptron_rule_matches_numpy_with_a_ragged_batch(perceptron):
    x, y = perceptron["logic_gate"]("and")
    model = perceptron["make_perceptron"](2, learning_rate=0.5)
    model.fit(x, y, batch_size=3, epochs=1, shuffle=False, verbose=0)  # batches of 3 and 1 (+2 padding rows)
    w, b = np.zeros((2, 1), "float32"), np.zeros(1, "float32")
    for rows in (slice(0, 3), slice(3, 4)):
        err = y[rows] - (x[rows] @ w + b >= 0)
        w, b = w + 0.5 * x[rows].T @ err, b + 0.5 * err.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], w)
    np.testing.assert_allclose(model.get_weights()[1], b)


def test_perceptron_learns_separable_data_fails_xor_and_mlp_solves_it(perceptron):
    for x, y in (perceptron["logic_gate"]("and"), perceptron["two_blobs"]()):
        _, history, accuracy = perceptron["train_perceptron"](x, y)
        assert accuracy == 1.0
        assert history.history["loss"][-1] == 0.0  # no mistakes in the last epoch
    x, y = perceptron["logic_gate"]("xor")
    _, _, accuracy = perceptron["train_perceptron"](x, y)
    assert accuracy <= 0.75
    _, accuracy = perceptron["train_mlp"](x, y)
    assert accuracy == 1.0


def test_perceptron_script_prints_its_results(perceptron, capsys):
    perceptron["main"]()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("Perceptron on AND: accuracy 1.00")
    assert lines[1].startswith("Perceptron on two blobs: accuracy 1.00")
    assert lines[2].startswith("Perceptron on XOR: accuracy 0.") and "no line separates XOR" in lines[2]
    assert lines[3].startswith("MLP (8 tanh units) on XOR: accuracy 1.00")
