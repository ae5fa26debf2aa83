"""Optimizers' `use_ema` and the `SwapEMAWeights` callback against Keras 3: the same averages, the same
validation logs (computed on the averages), the same final weights after `fit` (finalize_variable_values)."""

import re

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(11)
X = RNG.normal(size=(40, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32") + RNG.normal(scale=0.5, size=(40, 1))).astype("float32")
XV, YV = X[:10] * 0.9, Y[:10]


def _model(lib, **optimizer):
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="tanh"), lib.layers.Dense(1)])
    m.compile(lib.optimizers.Adam(0.05, use_ema=True, **optimizer), "mse", metrics=["mae"])
    return m


def _fit_both(keras, make_callbacks, epochs=4, **optimizer):
    theirs = _model(keras, **optimizer)
    ours = _model(lamina, **optimizer)
    ours.set_weights(theirs.get_weights())
    out = []
    for lib, m in ((lamina, ours), (keras, theirs)):
        h = m.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0, validation_data=(XV, YV),
                  callbacks=make_callbacks(lib))
        out.append((h.history, m))
    return out


def _close(a, b, rtol=2e-5):
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("optimizer", [dict(), dict(ema_momentum=0.8, ema_overwrite_frequency=3)],
                         ids=["average", "overwrite"])
def test_use_ema_like_keras(keras, optimizer):
    (h_ours, ours), (h_theirs, theirs) = _fit_both(keras, lambda lib: [], **optimizer)
    # Keras prefixes the names with the Sequential's name scope (its variables' paths at build time); the
    # layers' numbers depend on what else the process created.
    def plain(name):
        return re.sub(r"_\d+", "", re.sub(r"^sequential(_\d+)?_", "", name))

    assert [plain(v.name) for v in ours.optimizer.variables] == [plain(v.name) for v in theirs.optimizer.variables]
    _close(ours.optimizer.get_weights(), [v.numpy() for v in theirs.optimizer.variables])
    _close(ours.get_weights(), theirs.get_weights())  # fit ended with the averages in the model
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=2e-5, err_msg=key)


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_like_keras(keras, swap_on_epoch):
    (h_ours, ours), (h_theirs, theirs) = _fit_both(
        keras, lambda lib: [lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)])
    for key in h_theirs:  # val_* are the averages' scores
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=2e-5, err_msg=key)
    _close(ours.get_weights(), theirs.get_weights())
    _close(ours.optimizer.get_weights(), [v.numpy() for v in theirs.optimizer.variables])


def test_validation_scores_are_the_averages_and_training_continues_on_raw_weights():
    m = _model(lamina)
    seen = []
    probe = lamina.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(
        ([w.copy() for w in m.get_weights()], [np.asarray(v.value) for v in m.optimizer._average_variables])))
    h = m.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(XV, YV),
              callbacks=[lamina.callbacks.SwapEMAWeights(), probe])
    raw, average = seen[-1]
    assert not np.allclose(raw[0], average[0])  # the model trains on its own weights...
    m.set_weights(raw)
    assert h.history["val_loss"][-1] != pytest.approx(m.evaluate(XV, YV, verbose=0)[0], rel=1e-3)
    m.set_weights(average)  # ...and validation scored the averages
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(XV, YV, verbose=0)[0], rel=1e-5)


def test_predict_with_swap_uses_the_averages_and_restores_the_weights():
    m = _model(lamina)
    m.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    # fit ended by writing the averages into the model; train one more raw step so they differ.
    m.train_on_batch(X[:8], Y[:8])
    raw = m.get_weights()
    averages = [np.asarray(v.value) for v in m.optimizer._average_variables]
    with_swap = m.predict(X, verbose=0, callbacks=[lamina.callbacks.SwapEMAWeights()])
    _close(m.get_weights(), raw)  # restored (Keras 3.15 leaves the averages in the model here)
    m.set_weights(averages)
    _close(with_swap, m.predict(X, verbose=0))


def test_swap_needs_use_ema():
    m = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    m.compile("adam", "mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        m.fit(X, Y, epochs=1, verbose=0, validation_data=(XV, YV), callbacks=[lamina.callbacks.SwapEMAWeights()])


@pytest.mark.parametrize("kwargs, match", [(dict(use_ema=True, ema_momentum=1.5), "ema_momentum"),
                                           (dict(use_ema=True, ema_overwrite_frequency=0), "ema_overwrite_frequency")])
def test_bad_ema_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.optimizers.SGD(**kwargs)


def test_ema_config_round_trip():
    opt = lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5)
    again = lamina.optimizers.SGD.from_config(opt.get_config())
    assert (again.use_ema, again.ema_momentum, again.ema_overwrite_frequency) == (True, 0.9, 5)


def test_apply_gradients_with_ema_like_keras(keras):
    """The stateful path: averages of every built variable, also of one without a gradient this step."""
    values = [np.ones((2, 2), "float32"), np.arange(3, dtype="float32")]
    ours = [lamina.Variable(v) for v in values]
    theirs = [keras.Variable(v) for v in values]
    opt_ours = lamina.optimizers.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=2)
    opt_theirs = keras.optimizers.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=2)
    for step in range(5):
        grads = [np.full((2, 2), step + 1.0, "float32"), np.linspace(-1, 1, 3).astype("float32") * step]
        if step == 3:  # only the first variable has a gradient
            opt_ours.apply_gradients([(grads[0], ours[0])])
            opt_theirs.apply_gradients([(grads[0], theirs[0])])
        else:
            opt_ours.apply_gradients(zip(grads, ours))
            opt_theirs.apply_gradients(zip(grads, theirs))
    _close([v.value for v in ours], [v.numpy() for v in theirs], rtol=1e-6)
    _close(opt_ours.get_weights(), [v.numpy() for v in opt_theirs.variables], rtol=1e-6)


def test_pure_core_keeps_the_average_in_its_state():
    opt = lamina.optimizers.SGD(0.5, use_ema=True, ema_momentum=0.5)
    params = {"w": np.float32(1.0)}
    state = opt.init(params)
    params, state = opt.apply({"w": np.float32(1.0)}, state, params)  # first step: the average is the value
    assert float(params["w"]) == 0.5 and float(state["average"]["w"]) == 0.5
    params, state = opt.apply({"w": np.float32(1.0)}, state, params)
    assert float(params["w"]) == 0.0 and float(state["average"]["w"]) == 0.25
