"""The built-in callbacks against Keras 3 on the same run: the epoch EarlyStopping stops at and the weights it
restores, the learning rates ReduceLROnPlateau and LearningRateScheduler set, CSVLogger's rows, TerminateOnNaN,
LambdaCallback."""

import csv

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(5)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0], [0.5], [2.0]], "float32") + RNG.normal(scale=2.0, size=(48, 1))).astype("float32")
XV, YV = X[:16] + 0.1, Y[:16]


def model(lib, lr=0.05):
    m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(8, activation="tanh"), lib.layers.Dense(1)])
    m.compile(lib.optimizers.SGD(lr), "mse", metrics=["mae"])
    return m


def _run(keras, make_callbacks, epochs=12, **fit):
    """Fit the same model from the same weights in Keras and lamina; returns [(history, model, callbacks)]."""
    out = []
    theirs = model(keras)
    weights = theirs.get_weights()
    for lib, m in ((lamina, model(lamina)), (keras, theirs)):
        m.set_weights(weights)
        callbacks = make_callbacks(lib)
        h = m.fit(X, Y, batch_size=16, epochs=epochs, shuffle=False, verbose=0, validation_data=(XV, YV),
                  callbacks=callbacks, **fit)
        out.append((h.history, m, callbacks))
    return out


def _same_history(a, b):
    assert list(a) == list(b)
    for key in b:
        np.testing.assert_allclose(a[key], b[key], rtol=2e-5, err_msg=key)


@pytest.mark.parametrize("kwargs", [
    dict(monitor="val_loss", patience=1),
    dict(monitor="val_mae", patience=2, min_delta=0.05, restore_best_weights=True),
    dict(monitor="loss", patience=0, baseline=0.1, restore_best_weights=True),
    dict(monitor="val_loss", patience=1, start_from_epoch=4, mode="min"),
], ids=["patience", "restore", "baseline", "start_from_epoch"])
def test_early_stopping_like_keras(keras, kwargs):
    (ours, m_ours, (es_ours,)), (theirs, m_theirs, (es_theirs,)) = _run(
        keras, lambda lib: [lib.callbacks.EarlyStopping(**kwargs)], epochs=30, )
    _same_history(ours, theirs)
    assert es_ours.stopped_epoch == es_theirs.stopped_epoch and es_ours.best_epoch == es_theirs.best_epoch
    for a, b in zip(m_ours.get_weights(), m_theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_early_stopping_needs_a_mode_for_an_unknown_direction(keras):
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    m.compile("sgd", "mse", metrics=[lamina.metrics.TruePositives()])
    with pytest.raises(ValueError, match="mode='max'"):
        m.fit(X, Y > 0, epochs=1, verbose=0, callbacks=[lamina.callbacks.EarlyStopping(monitor="true_positives")])


def test_reduce_lr_on_plateau_like_keras(keras):
    (ours, m_ours, _), (theirs, m_theirs, _) = _run(
        keras, lambda lib: [lib.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1,
                                                            min_delta=0.01, min_lr=0.005)], epochs=14)
    _same_history(ours, theirs)
    assert ours["learning_rate"][-1] < 0.05  # it did reduce
    assert float(np.asarray(m_ours.optimizer.learning_rate)) == pytest.approx(
        float(np.asarray(m_theirs.optimizer.learning_rate)))


def test_learning_rate_scheduler_like_keras(keras):
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.5

    (ours, _, _), (theirs, _, _) = _run(keras, lambda lib: [lib.callbacks.LearningRateScheduler(schedule)], epochs=5)
    _same_history(ours, theirs)
    np.testing.assert_allclose(ours["learning_rate"], [0.05, 0.05, 0.025, 0.0125, 0.00625], rtol=1e-6)


def test_csv_logger_rows_like_keras(keras, tmp_path):
    paths = {}

    def make(lib):
        paths[lib.__name__] = tmp_path / f"{lib.__name__}.csv"
        return [lib.callbacks.CSVLogger(str(paths[lib.__name__]))]

    _run(keras, make, epochs=3)
    rows = {name: list(csv.reader(open(path))) for name, path in paths.items()}
    assert rows["lamina"][0] == rows["keras"][0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    np.testing.assert_allclose(np.asarray(rows["lamina"][1:], float), np.asarray(rows["keras"][1:], float),
                               rtol=2e-5)
    m = model(lamina)  # append mode adds rows under the existing header
    m.fit(X, Y, epochs=2, verbose=0, callbacks=[lamina.callbacks.CSVLogger(str(paths["lamina"]), append=True)])
    again = list(csv.reader(open(paths["lamina"])))
    assert len(again) == 1 + 3 + 2 and again[4][0] == "0"


def test_terminate_on_nan_stops_at_the_bad_batch(keras):
    x = X.copy()
    y = Y.copy()
    y[20] = 1e30  # batch 1 overflows the loss
    for lib in (lamina, keras):
        m = model(lib, lr=0.5)
        h = m.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0,
                  callbacks=[lib.callbacks.TerminateOnNaN()])
        assert len(h.history["loss"]) == 1 and int(m.optimizer.iterations) == 2
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1"):
        model(lamina, lr=0.5).fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0,
                                  callbacks=[lamina.callbacks.TerminateOnNaN(raise_error=True)])


def test_lambda_callback_functions_are_called():
    events = []
    cb = lamina.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch)),
                                         on_train_batch_end=lambda batch, logs: events.append(("batch", batch)),
                                         on_train_end=lambda logs: events.append(("end",)))
    model(lamina).fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert events == [("batch", 0), ("batch", 1), ("batch", 2), ("epoch", 0), ("batch", 0), ("batch", 1),
                      ("batch", 2), ("epoch", 1), ("end",)]
