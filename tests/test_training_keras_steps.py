"""Custom steps written for Keras 3 on JAX run unchanged in lamina's compiled loop, with Keras's numbers.

The three patterns of the keras.io guide "Customizing what happens in fit() with JAX": a `train_step`
built on `compute_loss_and_updates` + `stateless_compute_loss`, `optimizer.stateless_apply` and the
metrics' `stateless_update_state` / `stateless_result`; a lower-level one with the model's own metric
objects (a functional model subclass, compiled with an optimizer only); and a custom `test_step`.
Each model is defined once, for both libraries, and fitted on the same data from the same weights.
"""

import jax
import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(21)
X = RNG.random((70, 6)).astype("float32")  # 70 rows in batches of 16: a ragged last batch of 6
Y = RNG.random((70, 1)).astype("float32")


def compiled_loss_model(lib):
    """Pattern 1: the compiled loss and metrics, driven from a custom train_step."""

    class StepModel(lib.Model):
        def compute_loss_and_updates(self, trainable, non_trainable, metric_values, x, y, sample_weight,
                                     training=False):
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=training)
            loss, (trainable, non_trainable, metric_values) = self.stateless_compute_loss(
                trainable, non_trainable, metric_values, x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                training=training)
            return loss, (y_pred, non_trainable, metric_values)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_values, metric_values = state
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable, metric_values)), grads = grad_fn(
                trainable, non_trainable, metric_values, x, y, sample_weight, training=True)
            trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
            updated, logs = [], {}
            for metric in self.metrics:
                own = metric_values[len(updated):len(updated) + len(metric.variables)]
                if metric.name == "loss":
                    own = metric.stateless_update_state(own, loss, sample_weight=sample_weight)
                else:
                    own = metric.stateless_update_state(own, y, y_pred, sample_weight=sample_weight)
                logs[metric.name] = metric.stateless_result(own)
                updated += own
            return logs, (trainable, non_trainable, optimizer_values, updated)

    inputs = lib.Input(shape=(6,))
    model = StepModel(inputs, lib.layers.Dense(1)(lib.layers.Dense(4, activation="tanh")(inputs)))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def own_metrics_model(lib):
    """Pattern 2: no compiled loss; the model tracks its loss and MAE itself."""

    class LowLevel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def compute_loss_and_updates(self, trainable, non_trainable, x, y, sample_weight, training=False):
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=training)
            return self.loss_fn(y, y_pred, sample_weight=sample_weight), (y_pred, non_trainable)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_values, metric_values = state
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(trainable, non_trainable, x, y, sample_weight,
                                                             training=True)
            trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
            n = len(self.loss_tracker.variables)
            loss_values = self.loss_tracker.stateless_update_state(metric_values[:n], loss,
                                                                   sample_weight=sample_weight)
            mae_values = self.mae_metric.stateless_update_state(metric_values[n:], y, y_pred,
                                                                sample_weight=sample_weight)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_values),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_values)}
            return logs, (trainable, non_trainable, optimizer_values, loss_values + mae_values)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = lib.Input(shape=(6,))
    model = LowLevel(inputs, lib.layers.Dense(1)(inputs))
    model.compile(optimizer="adam")
    return model


def custom_test_step_model(lib):
    """Pattern 3: a custom test_step, used by evaluate."""

    class Evaluating(lib.Model):
        def test_step(self, state, data):
            x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            trainable, non_trainable, metric_values = state
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=False)
            loss, (trainable, non_trainable, metric_values) = self.stateless_compute_loss(
                trainable, non_trainable, metric_values, x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                training=False)
            updated, logs = [], {}
            for metric in self.metrics:
                own = metric_values[len(updated):len(updated) + len(metric.variables)]
                if metric.name == "loss":
                    own = metric.stateless_update_state(own, loss, sample_weight=sample_weight)
                else:
                    own = metric.stateless_update_state(own, y, y_pred, sample_weight=sample_weight)
                logs[metric.name] = metric.stateless_result(own)
                updated += own
            return logs, (trainable, non_trainable, updated)

    inputs = lib.Input(shape=(6,))
    model = Evaluating(inputs, lib.layers.Dense(1)(inputs))
    model.compile(loss="mse", metrics=["mae"])
    return model


def _pair(keras, build):
    theirs, ours = build(keras), build(lamina)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("build", [compiled_loss_model, own_metrics_model], ids=["compiled", "own_metrics"])
def test_custom_train_step_gives_keras_losses(keras, build):
    ours, theirs = _pair(keras, build)
    kwargs = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_ours, h_theirs = ours.fit(X, Y, **kwargs), theirs.fit(X, Y, **kwargs)
    assert list(h_ours.history) == list(h_theirs.history)
    for key in h_theirs.history:
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=2e-5, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations) == 15


def delegating_model(lib):
    """A train_step that wraps Keras's own (`super().train_step`); evaluation uses the default test_step."""

    class Delegating(lib.Model):
        def train_step(self, state, data):
            logs, state = super().train_step(state, data)
            return logs, state

    inputs = lib.Input(shape=(6,))
    model = Delegating(inputs, lib.layers.Dense(1, kernel_regularizer="l2")(inputs))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    return model


def test_custom_train_step_with_validation_and_callbacks(keras):
    ours, theirs = _pair(keras, delegating_model)
    seen = []

    class Record(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):  # `logs` required: lamina always passes it
            seen.append(sorted(logs))

    kwargs = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=(X[:20], Y[:20]))
    h_ours = ours.fit(X, Y, callbacks=[Record()], **kwargs)
    h_theirs = theirs.fit(X, Y, **kwargs)
    assert seen == [sorted(h_theirs.history)] * 2
    for key in h_theirs.history:
        np.testing.assert_allclose(h_ours.history[key], h_theirs.history[key], rtol=2e-5, err_msg=key)


def test_custom_test_step_gives_keras_results(keras):
    ours, theirs = _pair(keras, custom_test_step_model)
    mine, reference = ours.evaluate(X, Y, batch_size=16, return_dict=True, verbose=0), theirs.evaluate(
        X, Y, batch_size=16, return_dict=True, verbose=0)
    assert list(mine) == list(reference)
    for key in reference:
        assert mine[key] == pytest.approx(reference[key], rel=1e-5)


def test_custom_steps_see_exact_batches():
    """A Keras-form step never sees padding: the ragged last batch arrives with its own size."""
    sizes = []

    class Sizes(lamina.Sequential):
        def train_step(self, state, data):
            sizes.append(data[0].shape[0])
            return super().train_step(state, data)

    model = Sizes([lamina.Input(shape=(6,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    assert sorted(set(sizes)) == [6, 16]


def test_default_keras_form_train_step_matches_lamina_steps():
    """`super().train_step` (Keras's own JAX step) and lamina's compiled step give the same training."""

    class Explicit(lamina.Sequential):
        def train_step(self, state, data):
            return super().train_step(state, data)

    def build(cls):
        lamina.utils.set_random_seed(5)
        model = cls([lamina.Input(shape=(6,)), lamina.layers.Dense(3, activation="relu"),
                     lamina.layers.Dense(1, kernel_regularizer="l2")])
        model.compile(lamina.optimizers.Adam(0.01), "mse", metrics=["mae"])
        return model

    a, b = build(lamina.Sequential), build(Explicit)
    b.set_weights(a.get_weights())
    h_a = a.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_b = b.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for key in h_a.history:
        np.testing.assert_allclose(h_a.history[key], h_b.history[key], rtol=1e-5, err_msg=key)
    for w_a, w_b in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(w_a, w_b, rtol=1e-5, atol=1e-7)
