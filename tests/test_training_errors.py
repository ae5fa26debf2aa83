"""Bad input to compile/fit/evaluate/predict fails before any training with a message that says what to fix;
likely mistakes that Keras lets through give warnings."""

import warnings

import numpy as np
import pytest

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 5)).astype("float32")
LABELS = RNG.integers(0, 3, size=(20,))


@pytest.fixture(scope="module")
def classifier():
    """A compiled 3-class model; the error tests must leave its weights untouched."""
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(4, activation="relu"),
                               L.Dense(3, activation="softmax", name="probs")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit_fails(model, *args, match, error=ValueError, **kwargs):
    before = model.get_weights() if model.built else None
    kwargs.setdefault("verbose", 0)
    with pytest.raises(error, match=match) as info:
        model.fit(*args, **kwargs)
    if before is not None:
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)  # nothing was trained
    return str(info.value)


def test_x_and_y_lengths_differ(classifier):
    msg = _fit_fails(classifier, X, LABELS[:19], match="same number of samples")
    assert "20" in msg and "19" in msg
    with pytest.raises(ValueError, match="sample_weight has 5 entries but x has 20"):
        classifier.fit(X, LABELS, sample_weight=np.ones(5), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        classifier.evaluate(X, LABELS[:3], verbose=0)


def test_feature_count_the_model_does_not_take(classifier):
    msg = _fit_fails(classifier, X[:, :4], LABELS, match="expects inputs with 5 features")
    assert "dense" in msg and "4" in msg  # the layer, expected and received
    with pytest.raises(ValueError, match="expects inputs with 5 features"):
        classifier.predict(X[:, :4], verbose=0)


def test_sparse_label_out_of_range_is_named(classifier):
    y = LABELS.copy()
    y[7] = 3
    msg = _fit_fails(classifier, X, y, match=r"label 3 at index 7 is outside \[0, 3\)")
    assert "3 output units" in msg
    y[7] = -1
    _fit_fails(classifier, X, y, match=r"label -1 at index 7")


def test_integer_labels_with_categorical_crossentropy():
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    msg = _fit_fails(model, X, LABELS, match="looks like class indices")
    assert "sparse_categorical_crossentropy" in msg and "to_categorical" in msg


@pytest.mark.parametrize("where", ["x", "y"])
def test_nan_or_inf_is_located(classifier, where):
    x, y = X.copy(), LABELS.astype("float32")
    if where == "x":
        x[6, 2] = np.nan
        msg = _fit_fails(classifier, x, y, match="x contains 1 non-finite")
        assert "NaN at index (6, 2)" in msg
    else:
        y[11] = np.inf
        msg = _fit_fails(classifier, x, y, match="y contains 1 non-finite")
        assert "inf at index (11,)" in msg


def test_nan_in_one_of_several_inputs_names_it():
    a, b = lamina.Input(shape=(3,), name="a"), lamina.Input(shape=(2,), name="b")
    model = lamina.Model([a, b], L.Dense(1)(L.Concatenate()([a, b])))
    model.compile("sgd", "mse")
    xb = X[:, 3:].copy()
    xb[4, 1] = np.inf
    msg = _fit_fails(model, {"a": X[:, :3], "b": xb}, X[:, :1], match="non-finite")
    assert "['b']" in msg and "(4, 1)" in msg


@pytest.mark.parametrize("kind,kwargs,typo,fix", [
    ("optimizer", dict(optimizer="adamm", loss="mse"), "adamm", "adam"),
    ("loss", dict(optimizer="adam", loss="mean_sqared_error"), "mean_sqared_error", "mean_squared_error"),
    ("metric", dict(optimizer="adam", loss="mse", metrics=["acuracy"]), "acuracy", "accuracy"),
    ("metric", dict(optimizer="adam", loss="mse", weighted_metrics=["mse", "precison"]), "precison", "precision"),
    ("loss", dict(optimizer="adam", loss={"out": "binary_crossentopy"}), "binary_crossentopy",
     "binary_crossentropy"),
])
def test_unknown_names_suggest_the_closest(kind, kwargs, typo, fix):
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(1, name="out")])
    with pytest.raises(ValueError, match=f"Unknown {kind} '{typo}'. Did you mean '{fix}'"):
        model.compile(**kwargs)


def test_other_misuse_is_explained(classifier):
    fresh = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        fresh.fit(X, X[:, :1], verbose=0)
    _fit_fails(classifier, X, None, match="y")
    _fit_fails(classifier, X, LABELS, batch_size=0, match="batch_size")
    _fit_fails(classifier, X, LABELS, validation_split=1.5, match="validation_split")
    _fit_fails(classifier, X, LABELS, validation_data=X, match="validation_data must be a tuple")
    _fit_fails(classifier, X, LABELS, class_weight={0: 1.0, 1: 2.0}, match=r"class\(es\) \[2\]")

    def gen():
        yield X, LABELS

    _fit_fails(classifier, gen(), LABELS, match="must yield")
    _fit_fails(classifier, gen(), validation_split=0.2, match="validation_data instead")
    with pytest.raises(TypeError, match="expected a NumPy array"):
        classifier.fit(object(), LABELS, verbose=0)
    with pytest.raises(ValueError, match="steps_per_execution"):
        fresh.compile("sgd", "mse", steps_per_execution=0)


def test_multi_output_target_structure_errors():
    inp = lamina.Input(shape=(5,))
    model = lamina.Model(inp, [L.Dense(1, name="a")(inp), L.Dense(2, name="b")(inp)])
    model.compile("sgd", {"a": "mse", "b": "mse"})
    with pytest.raises(ValueError, match=r"no entry for output\(s\) \['b'\]"):
        model.fit(X, {"a": X[:, :1]}, verbose=0)
    with pytest.raises(ValueError, match="2 output"):
        model.fit(X, [X[:, :1]], verbose=0)
    with pytest.raises(ValueError, match="not outputs of the model"):
        model.compile("sgd", {"a": "mse", "c": "mse"})
        model.fit(X, [X[:, :1], X[:, :2]], verbose=0)


# ----- warnings about likely mistakes --------------------------------------------------------------------

def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


def test_softmax_with_binary_crossentropy_on_several_units_warns():
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(3, activation="softmax")])
    model.compile("adam", "binary_crossentropy")
    msgs = _warnings_of(lambda: model.fit(X, np.eye(3)[LABELS], epochs=1, verbose=0))
    assert any("softmax over 3 units" in m and "categorical_crossentropy" in m for m in msgs), msgs
    single = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(1, activation="sigmoid")])
    single.compile("adam", "binary_crossentropy")
    assert not _warnings_of(lambda: single.fit(X, LABELS.clip(0, 1), epochs=1, verbose=0))


def test_single_sigmoid_unit_with_categorical_crossentropy_warns():
    model = lamina.Sequential([lamina.Input(shape=(5,)), L.Dense(1, activation="sigmoid")])
    model.compile("adam", "categorical_crossentropy")
    msgs = _warnings_of(lambda: model.fit(X, np.ones((20, 1)), epochs=1, verbose=0))
    assert any("single sigmoid unit" in m and "binary_crossentropy" in m for m in msgs), msgs


def test_unscaled_inputs_in_the_thousands_warn(classifier):
    msgs = _warnings_of(lambda: classifier.evaluate(X * 5000, LABELS, verbose=0))
    assert any("unscaled inputs in the thousands" in m for m in msgs), msgs
    assert not any("unscaled" in m for m in _warnings_of(lambda: classifier.evaluate(X * 50, LABELS, verbose=0)))
