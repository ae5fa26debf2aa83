"""lamina.wrappers: Keras 3's scikit-learn wrappers. Same weights in -> same training, labels and outputs as
Keras's own wrappers; GridSearchCV, cross_val_score and Pipeline drive them; Keras's traps avoided."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the wrappers need scikit-learn (dev dependency)")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import lamina  # noqa: E402
from lamina.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 5)).astype("float32")
LABELS = np.array(["cat", "dog", "emu"])[np.argmax(X[:, :3], axis=1)]
Y_REG = X @ rng.normal(size=5).astype("float32")
FIT = {"epochs": 3, "batch_size": 16, "shuffle": False, "verbose": 0}


def _weights(n_in, n_out):
    r = np.random.default_rng(7)
    return [r.normal(0, 0.5, (n_in, 6)).astype("float32"), np.zeros(6, "float32"),
            r.normal(0, 0.5, (6, n_out)).astype("float32"), np.zeros(n_out, "float32")]


def _builder(lib, kind):
    """A Keras-3-style model callable for `lib` (lamina or keras), with fixed initial weights."""
    def build(X, y, hidden_activation="relu"):
        n_out = y.shape[1] if y.ndim > 1 else 1
        last = "softmax" if kind == "classifier" else None
        model = lib.Sequential([lib.Input((X.shape[1],)), lib.layers.Dense(6, activation=hidden_activation),
                                lib.layers.Dense(n_out, activation=last)])
        model.set_weights(_weights(X.shape[1], n_out))
        loss = "categorical_crossentropy" if kind == "classifier" else "mse"
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss)
        return model
    return build


@pytest.mark.parametrize("kind", ["classifier", "regressor", "transformer"])
def test_same_results_as_keras_wrappers(keras, kind):
    classes = {"classifier": "SKLearnClassifier", "regressor": "SKLearnRegressor",
               "transformer": "SKLearnTransformer"}
    y = LABELS if kind == "classifier" else Y_REG
    ours = getattr(lamina.wrappers, classes[kind])(_builder(lamina, kind), fit_kwargs=dict(FIT)).fit(X, y)
    theirs = getattr(keras.wrappers, classes[kind])(_builder(keras, kind), fit_kwargs=dict(FIT)).fit(X, y)
    np.testing.assert_allclose(ours.history_["loss"], theirs.history_.history["loss"]
                               if hasattr(theirs.history_, "history") else theirs.history_["loss"], rtol=1e-4)
    if kind == "transformer":
        np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-4, atol=1e-6)
        return
    predicted = ours.predict(X)
    assert predicted.shape == theirs.predict(X).shape
    if kind == "classifier":
        assert list(ours.classes_) == list(theirs.classes_)
        np.testing.assert_array_equal(predicted, theirs.predict(X))
        np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-4, atol=1e-6)
        assert ours.score(X, LABELS) == theirs.score(X, LABELS)
    else:
        np.testing.assert_allclose(predicted, theirs.predict(X), rtol=1e-4, atol=1e-5)


def test_grid_search_cross_val_and_pipeline():
    clf = SKLearnClassifier(_builder(lamina, "classifier"), fit_kwargs={"epochs": 2, "verbose": 0})
    search = GridSearchCV(clf, {"model_kwargs": [{"hidden_activation": "relu"}, {"hidden_activation": "tanh"}]},
                          cv=2).fit(X, LABELS)
    assert search.best_params_["model_kwargs"]["hidden_activation"] in ("relu", "tanh")
    assert search.best_estimator_.epoch_ == 2  # fit_kwargs survive clone (Keras's wrapper loses them)
    scores = cross_val_score(SKLearnRegressor(_builder(lamina, "regressor"), fit_kwargs={"verbose": 0}),
                             X, Y_REG, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(X, LABELS)
    assert set(pipe.predict(X)) <= {"cat", "dog", "emu"}


def test_warm_start_continues_and_a_given_model_is_cloned():
    fit_kwargs = {"epochs": 2, "verbose": 0}
    warm = SKLearnRegressor(_builder(lamina, "regressor"), warm_start=True, fit_kwargs=fit_kwargs)
    warm.fit(X, Y_REG)
    first, losses = warm.model_, warm.history_["loss"]
    warm.fit(X, Y_REG, epochs=1)
    assert warm.model_ is first and warm.history_["loss"][0] < losses[0]
    assert fit_kwargs == {"epochs": 2, "verbose": 0}  # the caller's dict is left alone
    cold = SKLearnRegressor(_builder(lamina, "regressor"), fit_kwargs={"verbose": 0}).fit(X, Y_REG)
    model = cold.model_
    assert cold.fit(X, Y_REG).model_ is not model

    given = _builder(lamina, "regressor")(X, Y_REG.reshape(-1, 1))
    before = [np.array(w) for w in given.get_weights()]
    est = SKLearnRegressor(given, fit_kwargs={"verbose": 0}).fit(X, Y_REG)
    assert est.model_ is not given and all(np.array_equal(a, b) for a, b in zip(before, given.get_weights()))
    assert est.predict(X).shape == (60,)


def test_clear_errors():
    def uncompiled(X, y):
        return lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(1)])

    with pytest.raises(RuntimeError, match="compiled"):
        SKLearnRegressor(uncompiled).fit(X, Y_REG)
    build = _builder(lamina, "classifier")
    with pytest.raises(ValueError, match="one class"):
        SKLearnClassifier(build).fit(X, np.zeros(60))
    with pytest.raises(ValueError, match="continuous"):
        SKLearnClassifier(build).fit(X, Y_REG)
    with pytest.raises(TypeError, match="callable"):
        SKLearnRegressor("not a model").fit(X, Y_REG)
