"""compile / fit / evaluate / predict checked against real Keras 3 (JAX backend) and against themselves.

Keras comparisons use the same initial weights and the same batches (shuffle off); the data sizes are not
multiples of the batch size, so the ragged last batch is part of every curve.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers as L

RTOL = 1e-4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 5)).astype("float32")
Y_SPARSE = RNG.integers(0, 3, size=(50,))
Y_BIN = (X[:, 0] + 0.5 * X[:, 1] > 0).astype("float32")


def mlp(lib, units=3, activation="softmax", hidden=8):
    return lib.Sequential([lib.Input(shape=(5,)), lib.layers.Dense(hidden, activation="relu"),
                           lib.layers.Dense(units, activation=activation)])


def pair(keras, build, *args, **kwargs):
    """The same architecture in Keras and lamina, with Keras's initial weights copied into lamina."""
    k, ours = build(keras, *args, **kwargs), build(lamina, *args, **kwargs)
    ours.set_weights(k.get_weights())
    return k, ours


def assert_history_close(ours, theirs, rtol=RTOL, atol=1e-6):
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=rtol, atol=atol, err_msg=key)


# ----- loss curves against Keras -------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD", dict(learning_rate=0.1)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(learning_rate=0.02)),
    ("RMSprop", dict(learning_rate=0.01)),
    ("Adagrad", dict(learning_rate=0.1)),
    ("Nadam", dict(learning_rate=0.02)),
]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=["sgd", "momentum", "nesterov", "adam", "rmsprop",
                                                          "adagrad", "nadam"])
def test_loss_curve_matches_keras(keras, name, kwargs):
    k, ours = pair(keras, mlp)
    for lib, model in ((keras, k), (lamina, ours)):
        model.compile(getattr(lib.optimizers, name)(**kwargs), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    # 50 samples, batch 16: three full batches and a ragged one of 2 rows in each epoch.
    theirs = k.fit(X, Y_SPARSE, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    mine = ours.fit(X, Y_SPARSE, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    assert mine["loss"][-1] < mine["loss"][0]
    assert_history_close(mine, theirs)  # accuracy is the epoch accumulator, as in Keras
    for a, b in zip(ours.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_weighted_fit_with_validation_matches_keras(keras):
    """class_weight + validation_data + binary output: same curves as Keras."""
    k, ours = pair(keras, mlp, units=1, activation="sigmoid")
    val = (X[:20] * 0.5, Y_BIN[:20])
    hist = {}
    for lib, model in ((keras, k), (lamina, ours)):
        model.compile(lib.optimizers.SGD(0.2, momentum=0.5), "binary_crossentropy",
                      metrics=["accuracy", lib.metrics.AUC(name="auc")], weighted_metrics=["accuracy"])
        hist[lib] = model.fit(X, Y_BIN, batch_size=12, epochs=3, shuffle=False, verbose=0,
                              class_weight={0: 2.0, 1: 0.5}, validation_data=val).history
    assert "weighted_accuracy" in hist[lamina] and "val_auc" in hist[lamina]
    assert_history_close(hist[lamina], hist[keras])


def test_multi_output_dict_losses_and_metrics_match_keras(keras):
    def build(lib):
        a, b = lib.Input(shape=(3,), name="a"), lib.Input(shape=(2,), name="b")
        h = lib.layers.Dense(6, activation="tanh")(lib.layers.Concatenate()([a, b]))
        return lib.Model([a, b], [lib.layers.Dense(1, name="reg")(h),
                                  lib.layers.Dense(3, activation="softmax", name="cls")(h)])

    k, ours = pair(keras, build)
    xa, xb = X[:, :3], X[:, 3:]
    y = [X[:, :1] * 2.0, Y_SPARSE]
    sw = [np.ones(50, "float32"), np.linspace(0, 1, 50).astype("float32")]
    hist, evals = {}, {}
    for lib, model in ((keras, k), (lamina, ours)):
        model.compile(lib.optimizers.Adam(0.01), loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                      loss_weights={"reg": 0.5, "cls": 2.0}, metrics={"reg": ["mae"], "cls": ["accuracy"]},
                      weighted_metrics={"cls": ["accuracy"]})
        hist[lib] = model.fit([xa, xb], y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                              sample_weight=sw).history
        evals[lib] = model.evaluate([xa, xb], y, batch_size=16, verbose=0, return_dict=True)
    assert set(hist[lamina]) == {"loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy",
                                 "cls_weighted_accuracy"}
    assert_history_close(hist[lamina], hist[keras])
    assert_history_close(evals[lamina], evals[keras])
    # Inputs by input name and targets by output name give the same numbers as lists.
    by_name = ours.evaluate({"a": xa, "b": xb}, {"reg": y[0], "cls": y[1]}, batch_size=16, verbose=0,
                            return_dict=True)
    assert_history_close(by_name, evals[lamina], rtol=1e-6)


def test_batch_normalization_ragged_batch_matches_keras(keras):
    def build(lib):
        return lib.Sequential([lib.Input(shape=(5,)), lib.layers.Dense(6), lib.layers.BatchNormalization(),
                               lib.layers.Activation("relu"), lib.layers.Dense(1)])

    k, ours = pair(keras, build)
    y = X[:, :1] - X[:, 1:2]
    hist = {}
    for lib, model in ((keras, k), (lamina, ours)):
        model.compile(lib.optimizers.SGD(0.05), "mse", metrics=["mae"])
        hist[lib] = model.fit(X, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    assert_history_close(hist[lamina], hist[keras])
    # Moving mean/variance were updated from real rows only (the padding of the last batch is masked).
    for a, b in zip(ours.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ----- every loss and metric through compile/evaluate --------------------------------------------------

def _loss_cases(lib):
    """(output name, activation, loss, target) for every Keras loss; a function, objects and strings."""
    rng = np.random.default_rng(5)  # the same data for both libraries
    z = rng.normal(size=(40, 4)).astype("float32")
    onehot = np.eye(4, dtype="float32")[rng.integers(0, 4, 40)]
    bits = (rng.random((40, 4)) > 0.5).astype("float32")
    signs = np.where(rng.random((40, 4)) > 0.5, 1.0, -1.0).astype("float32")
    soft = np.abs(z) / np.abs(z).sum(-1, keepdims=True)
    cases = [
        ("mse", "linear", lib.losses.mean_squared_error, z * 0.5),
        ("mae", "linear", "mae", z * 0.5),
        ("mape", "linear", "mean_absolute_percentage_error", z + 3.0),
        ("msle", "softplus", "msle", np.abs(z)),
        ("cosine", "linear", "cosine_similarity", z[::-1]),
        ("huber", "linear", lib.losses.Huber(delta=0.5), z * 2.0),
        ("log_cosh", "linear", "log_cosh", z),
        ("kld", "softmax", "kl_divergence", soft),
        ("poisson", "softplus", "poisson", np.abs(z)),
        ("bce", "sigmoid", "binary_crossentropy", bits),
        ("bce_smooth", "sigmoid", lib.losses.BinaryCrossentropy(label_smoothing=0.1), bits),
        ("bfocal", "sigmoid", lib.losses.BinaryFocalCrossentropy(gamma=2.0), bits),
        ("cce", "softmax", "categorical_crossentropy", onehot),
        ("cfocal", "softmax", "categorical_focal_crossentropy", onehot),
        ("scce", "softmax", "sparse_categorical_crossentropy", onehot.argmax(-1)),
        ("hinge", "tanh", "hinge", signs),
        ("sq_hinge", "tanh", "squared_hinge", signs),
        ("cat_hinge", "linear", "categorical_hinge", onehot),
        ("dice", "sigmoid", lib.losses.Dice(), bits),
        ("tversky", "sigmoid", lib.losses.Tversky(alpha=0.3, beta=0.7), bits),
    ]
    return z, cases


def test_every_loss_matches_keras_through_evaluate(keras):
    results = {}
    for lib in (keras, lamina):
        z, cases = _loss_cases(lib)
        inp = lib.Input(shape=(4,), name="z")
        outputs = [lib.layers.Activation(act, name=name)(inp) for name, act, _, _ in cases]
        model = lib.Model(inp, outputs)
        model.compile("sgd", loss={name: loss for name, _, loss, _ in cases})
        results[lib] = model.evaluate(z, [t for *_, t in cases], batch_size=16, verbose=0, return_dict=True)
    assert len(results[lamina]) == 21  # total + one per output
    assert_history_close(results[lamina], results[keras])


def _metric_model(lib):
    inp = lib.Input(shape=(4,), name="z")
    return lib.Model(inp, [lib.layers.Activation("sigmoid", name="bin")(inp),
                           lib.layers.Activation("softmax", name="cat")(inp),
                           lib.layers.Activation("softmax", name="sp")(inp),
                           lib.layers.Activation("linear", name="reg")(inp)])


def _metrics(lib):
    # Metric objects get explicit names: default names carry process-wide counters (auc_3, ...) in both libraries.
    m = lib.metrics
    return {
        "bin": ["accuracy", "binary_accuracy", "binary_crossentropy", m.AUC(name="auc"), m.AUC(curve="PR", name="pr"),
                m.Precision(name="precision"), m.Recall(name="recall"), m.TruePositives(name="tp"),
                m.TrueNegatives(name="tn"), m.FalsePositives(name="fp"), m.FalseNegatives(name="fn"),
                m.PrecisionAtRecall(0.5, name="p_at_r"), m.RecallAtPrecision(0.5, name="r_at_p"),
                m.SensitivityAtSpecificity(0.5, name="sens"), m.SpecificityAtSensitivity(0.5, name="spec"),
                "hinge", "squared_hinge", m.F1Score(average="macro", threshold=0.5, name="f1"),
                m.FBetaScore(beta=2.0, threshold=0.5, name="f2")],
        "cat": ["accuracy", "categorical_accuracy", "top_k_categorical_accuracy", "categorical_crossentropy",
                "kl_divergence", "categorical_hinge", "poisson", m.TopKCategoricalAccuracy(k=1, name="top1")],
        "sp": ["accuracy", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
               "sparse_categorical_crossentropy", m.SparseTopKCategoricalAccuracy(k=2, name="top2")],
        "reg": ["mse", "mae", "mape", "msle", m.RootMeanSquaredError(name="rmse"), "cosine_similarity",
                m.LogCoshError(name="logcosh"), m.R2Score(name="r2")],
    }


def test_every_metric_matches_keras_through_evaluate(keras):
    z = RNG.normal(size=(40, 4)).astype("float32")
    ys = [(RNG.random((40, 4)) > 0.5).astype("float32"), np.eye(4, dtype="float32")[RNG.integers(0, 4, 40)],
          RNG.integers(0, 4, 40), z + RNG.normal(size=(40, 4)).astype("float32")]
    results = {}
    for lib in (keras, lamina):
        model = _metric_model(lib)
        model.compile("sgd", loss={"bin": "mse", "cat": "mse", "sp": "sparse_categorical_crossentropy", "reg": "mse"},
                      metrics=_metrics(lib))
        results[lib] = model.evaluate(z, ys, batch_size=16, verbose=0, return_dict=True)
    assert len(results[lamina]) > 40
    assert_history_close(results[lamina], results[keras], rtol=2e-4, atol=1e-5)


# ----- data types ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sgd_model():
    """One compiled SGD model shared by the data-type tests; each resets its weights first."""
    lamina.utils.set_random_seed(1)
    model = mlp(lamina, units=1, activation="sigmoid")
    model.compile(lamina.optimizers.SGD(0.1), "binary_crossentropy", metrics=["accuracy"])
    w0 = model.get_weights()
    reference = model.fit(X, Y_BIN, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    return model, w0, reference


def _fit_from(model, w0, *args, **kwargs):
    model.set_weights(w0)
    kwargs.setdefault("verbose", 0)
    return model.fit(*args, **kwargs)


def test_pandas_and_lists_give_the_same_run_as_numpy(sgd_model):
    pd = pytest.importorskip("pandas")
    model, w0, reference = sgd_model
    frame = pd.DataFrame(X, columns=list("abcde"))
    for x, y in ((frame, pd.Series(Y_BIN)), (X.tolist(), Y_BIN.tolist()), (X.astype("float64"), Y_BIN[:, None])):
        h = _fit_from(model, w0, x, y, batch_size=16, epochs=2, shuffle=False)
        assert_history_close(h.history, reference, rtol=1e-6)


def test_generator_and_pydataset_give_the_same_run_as_numpy(sgd_model):
    model, w0, reference = sgd_model

    def generator():
        while True:
            for i in range(0, 50, 16):
                yield X[i:i + 16], Y_BIN[i:i + 16]

    class Batches:  # PyDataset-style: __len__ / __getitem__
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return X[i * 16:(i + 1) * 16], Y_BIN[i * 16:(i + 1) * 16]

    h = _fit_from(model, w0, generator(), epochs=2, steps_per_epoch=4)
    assert_history_close(h.history, reference, rtol=1e-5)
    assert h.params["steps"] == 4
    h = _fit_from(model, w0, Batches(), epochs=2)
    assert_history_close(h.history, reference, rtol=1e-5)
    logs = model.evaluate(Batches(), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], model.evaluate(X, Y_BIN, verbose=0, return_dict=True)["loss"],
                               rtol=1e-5)


def test_tuple_and_dict_inputs_for_several_inputs():
    a, b = lamina.Input(shape=(3,), name="a"), lamina.Input(shape=(2,), name="b")
    out = L.Dense(1)(L.Concatenate()([a, b]))
    model = lamina.Model([a, b], out)
    model.compile("sgd", "mse")
    y = X[:, :1]
    as_list = model.evaluate([X[:, :3], X[:, 3:]], y, verbose=0)
    assert model.evaluate((X[:, :3], X[:, 3:]), y, verbose=0) == pytest.approx(as_list, rel=1e-6)
    assert model.evaluate({"b": X[:, 3:], "a": X[:, :3]}, y, verbose=0) == pytest.approx(as_list, rel=1e-6)
    pred = model.predict({"a": X[:, :3], "b": X[:, 3:]}, verbose=0)
    np.testing.assert_allclose(pred, np.asarray(model([X[:, :3], X[:, 3:]])), rtol=1e-5, atol=1e-6)


# ----- fit arguments and History -------------------------------------------------------------------

def test_history_object(sgd_model):
    model, w0, _ = sgd_model
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=3, shuffle=False)
    assert isinstance(h, lamina.callbacks.History)
    assert h.model is model and model.history is h
    assert h.epoch == [0, 1, 2]
    assert list(h.history) == ["accuracy", "loss"]  # Keras 3 sorts the logs' keys
    assert all(len(v) == 3 and all(isinstance(e, float) for e in v) for v in h.history.values())
    assert h.params == {"verbose": 0, "epochs": 3, "steps": 4}


def test_initial_epoch_validation_freq_and_steps_per_epoch(sgd_model):
    model, w0, _ = sgd_model
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=4, initial_epoch=1, validation_data=(X, Y_BIN),
                  validation_freq=2)
    assert h.epoch == [1, 2, 3] and len(h.history["loss"]) == 3
    assert len(h.history["val_loss"]) == 2  # after epochs 2 and 4 (1-based)
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=3, validation_data=(X, Y_BIN), validation_freq=[1, 3])
    assert len(h.history["val_loss"]) == 2
    # steps_per_epoch=2 with shuffle off trains on the first two batches only.
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=1, steps_per_epoch=2, shuffle=False)
    assert h.params["steps"] == 2
    after_fit = model.get_weights()
    model.set_weights(w0)
    model.train_on_batch(X[:16], Y_BIN[:16])
    model.train_on_batch(X[16:32], Y_BIN[16:32])
    for a, b in zip(after_fit, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_validation_split_takes_the_last_fraction_before_shuffling(sgd_model):
    model, w0, _ = sgd_model
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=1, validation_split=0.2, shuffle=True)
    val = model.evaluate(X[40:], Y_BIN[40:], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == pytest.approx(val["loss"], rel=1e-5)
    assert h.history["val_accuracy"][0] == pytest.approx(val["accuracy"], rel=1e-6)
    assert h.params["steps"] == 3  # 40 training rows / 16


def test_class_weight_equals_the_matching_sample_weight(sgd_model):
    model, w0, _ = sgd_model
    a = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=2, shuffle=False, class_weight={0: 0.3, 1: 3.0})
    sw = np.where(Y_BIN == 1, 3.0, 0.3)
    b = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=2, shuffle=False, sample_weight=sw)
    assert_history_close(a.history, b.history, rtol=1e-6)


def test_shuffle_changes_the_batches_but_not_the_data(sgd_model):
    model, w0, reference = sgd_model
    h = _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=2, shuffle=True)
    assert h.history["loss"] != reference["loss"]
    # batch_size >= n: one full batch, so the order cannot matter.
    a = _fit_from(model, w0, X, Y_BIN, batch_size=64, epochs=2, shuffle=True).history
    b = _fit_from(model, w0, X, Y_BIN, batch_size=64, epochs=2, shuffle=False).history
    assert_history_close(a, b, rtol=1e-5)


@pytest.mark.parametrize("verbose", [0, 1, 2, "auto"])
def test_verbose_modes(sgd_model, capsys, verbose):
    model, w0, _ = sgd_model
    _fit_from(model, w0, X, Y_BIN, batch_size=16, epochs=2, verbose=verbose)
    out = capsys.readouterr().out
    if verbose == 0:
        assert out == ""
        return
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4" in out and "loss:" in out and "accuracy:" in out
    # Not a terminal (pytest captures): clean lines, no bar drawing or control characters at any verbosity.
    assert "━" not in out and "\r" not in out and "\x1b" not in out and "\b" not in out
    assert out.count("4/4") == 2


def test_evaluate_predict_and_single_batch_methods(sgd_model):
    model, w0, _ = sgd_model
    model.set_weights(w0)
    logs = model.evaluate(X, Y_BIN, batch_size=7, verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss"]  # sorted, as Keras 3 returns them
    assert model.evaluate(X, Y_BIN, batch_size=50, verbose=0) == pytest.approx([logs["loss"], logs["accuracy"]],
                                                                                rel=1e-5)
    assert model.metrics_names == ["loss", "compile_metrics"]
    probs = np.asarray(model(X))
    expected_loss = -np.mean(Y_BIN * np.log(probs[:, 0]) + (1 - Y_BIN) * np.log(1 - probs[:, 0]))
    assert logs["loss"] == pytest.approx(expected_loss, rel=1e-4)
    assert logs["accuracy"] == pytest.approx(np.mean((probs[:, 0] > 0.5) == Y_BIN))
    for bs in (None, 7, 100):
        pred = model.predict(X, batch_size=bs, verbose=0)
        assert isinstance(pred, np.ndarray) and pred.shape == (50, 1)
        np.testing.assert_allclose(pred, probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(X[:5]), probs[:5], rtol=1e-5, atol=1e-6)
    test = model.test_on_batch(X[:16], Y_BIN[:16], return_dict=True)
    assert test == pytest.approx(model.evaluate(X[:16], Y_BIN[:16], verbose=0, return_dict=True), rel=1e-6)
    loss, acc = model.train_on_batch(X[:16], Y_BIN[:16])
    assert loss == pytest.approx(test["loss"], rel=1e-5) and acc == pytest.approx(test["accuracy"])
    assert model.train_on_batch(X[:16], Y_BIN[:16], return_dict=True)["loss"] < loss


# ----- compile options ---------------------------------------------------------------------------------

def test_steps_per_execution_and_eager_give_the_same_curve():
    def run(**compile_kwargs):
        lamina.utils.set_random_seed(3)
        model = mlp(lamina)
        model.compile(lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"],
                      **compile_kwargs)
        return model.fit(X, Y_SPARSE, batch_size=16, epochs=2, shuffle=False, verbose=0).history

    base = run()
    assert_history_close(run(steps_per_execution=3), base, rtol=1e-6)
    assert_history_close(run(run_eagerly=True), base, rtol=1e-5)
    assert_history_close(run(jit_compile=False), base, rtol=1e-5)


def test_loss_and_metric_as_functions_and_objects():
    def my_loss(y_true, y_pred):
        return jnp.mean((y_true - y_pred) ** 2, axis=-1)

    def my_metric(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)

    lamina.utils.set_random_seed(4)
    model = mlp(lamina, units=1, activation=None)
    y = X[:, :1]
    model.compile(lamina.optimizers.SGD(0.05), loss=my_loss,
                  metrics=[my_metric, lamina.metrics.MeanAbsoluteError(name="mae_object")])
    logs = model.evaluate(X, y, batch_size=16, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae_object", "my_metric"]
    pred = np.asarray(model(X))
    assert logs["loss"] == pytest.approx(np.mean((y - pred) ** 2), rel=1e-5)
    assert logs["my_metric"] == pytest.approx(np.mean(np.abs(y - pred)), rel=1e-5)
    assert logs["mae_object"] == pytest.approx(logs["my_metric"], rel=1e-6)
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss=lamina.losses.MeanSquaredError())
    h = model.fit(X, y, batch_size=16, epochs=2, verbose=0)
    assert h.history["loss"][1] < logs["loss"]


# ----- determinism and learning-rate changes -----------------------------------------------------------

def _dropout_run():
    lamina.utils.set_random_seed(123)
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(8, activation="relu"), L.Dropout(0.3),
                               L.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(X, Y_SPARSE, batch_size=8, epochs=2, shuffle=True, verbose=0)
    return model.get_weights(), h.history["loss"]


def test_fixed_seed_gives_bit_identical_runs():
    w1, l1 = _dropout_run()
    w2, l2 = _dropout_run()
    assert l1 == l2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("with_dropout", [True, False])
def test_random_state_lives_in_the_non_trainable_variables(with_dropout):
    """Dropout's seed state is a non-trainable variable (as in Keras 3) that advances once per training step;
    a model without random layers has none, so its steps do no random-number work."""
    extra = [L.Dropout(0.5)] if with_dropout else []
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(8), *extra, L.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    seeds = [v for v in model.non_trainable_variables if v.name == "seed_generator_state"]
    assert len(seeds) == (1 if with_dropout else 0)
    assert len(model.non_trainable_variables) == len(seeds) and model.non_trainable_weights == []
    if with_dropout:
        before = seeds[0].numpy().copy()
        model.fit(X[:16], Y_SPARSE[:16], batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert seeds[0].numpy()[1] == before[1] + 2  # two steps, one draw each


def test_learning_rate_set_by_a_callback_takes_effect_without_retrace():
    traces = []

    class Counting(lamina.Sequential):
        def train_step(self, state, data):
            traces.append(1)
            return super().train_step(state, data)

    class Schedule(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = 0.0 if epoch == 1 else 0.1

        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    snapshots = []
    model = Counting([lamina.Input(shape=(5,)), L.Dense(1, activation="sigmoid")])
    model.compile(lamina.optimizers.SGD(0.1), "binary_crossentropy")
    model.fit(X, Y_BIN, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[Schedule()])
    traced = len(traces)  # a Keras-form step is traced for the full batches and the ragged last one
    snapshots.clear()
    model.fit(X, Y_BIN, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[Schedule()])
    assert len(traces) == traced <= 2
    # lr 0 in the second epoch: no change; lr 0.1 in the third: weights move again.
    for a, b in zip(snapshots[0], snapshots[1]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(snapshots[1][0], snapshots[2][0])
    assert model.optimizer.learning_rate == pytest.approx(0.1)
