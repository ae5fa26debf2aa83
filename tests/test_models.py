"""Model-level behaviour shared by all styles, mostly exercised on Sequential.

Numbers are checked against real Keras 3 (JAX backend): same weights in, same
outputs out; parameter counts equal.
"""

import json

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import Sequential, clone_model, model_from_json

RNG = np.random.default_rng(0)
X8 = RNG.normal(size=(5, 8)).astype("float32")


def _seed_style(lib):
    """The classic Pima-indians model: Dense(12, input_dim=8) -> 8 -> 1."""
    model = lib.models.Sequential()
    model.add(lib.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(lib.layers.Dense(8, activation="relu"))
    model.add(lib.layers.Dense(1, activation="sigmoid"))
    return model


@pytest.fixture(scope="module")
def keras_seed_model(keras):
    return _seed_style(keras)


# ----- parity with Keras ------------------------------------------------------------------


def test_seed_style_matches_keras(keras, keras_seed_model):
    ours = _seed_style(lamina)
    assert ours.count_params() == keras_seed_model.count_params() == 221
    ours.set_weights(keras_seed_model.get_weights())
    expected = np.asarray(keras_seed_model(X8))
    got = np.asarray(ours(X8))
    assert got.shape == (5, 1)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_list_constructor_matches_keras(keras):
    def build(lib):
        return lib.Sequential([
            lib.Input(shape=(6,)),
            lib.layers.Dense(4, activation="tanh"),
            lib.layers.Dense(3, activation="softmax"),
        ])

    k, ours = build(keras), build(lamina)
    ours.set_weights(k.get_weights())
    x = RNG.normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(k(x)), atol=1e-5)
    assert ours.output_shape == k.output_shape == (None, 3)


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda lib: lib.Sequential([lib.layers.Dense(784, input_shape=(784,), activation="relu"),
                                     lib.layers.Dense(10, activation="softmax")]), 623_290),
        (lambda lib: lib.Sequential([lib.layers.Flatten(input_shape=(28, 28)),
                                     lib.layers.Dense(300, activation="relu"),
                                     lib.layers.Dense(100, activation="relu"),
                                     lib.layers.Dense(10, activation="softmax")]), 266_610),
    ],
    ids=["mlp_784_784_10", "flatten_300_100_10"],
)
def test_count_params_matches_keras(keras, build, expected):
    ours, theirs = build(lamina), build(keras)
    assert ours.count_params() == expected
    assert theirs.count_params() == expected
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


# ----- errors ---------------------------------------------------------------------------


def test_wrong_feature_count_names_layer_and_shapes():
    model = _seed_style(lamina)
    with pytest.raises(ValueError) as err:
        model(np.ones((4, 7), "float32"))
    msg = str(err.value)
    assert "dense" in msg.lower() and "8" in msg and "(4, 7)" in msg


def test_add_incompatible_layer_fails_at_add():
    model = Sequential([layers.Input(shape=(3, 4)), layers.Flatten()])
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    model2 = Sequential([layers.Dense(2, input_shape=(3,))])
    model2.add(layers.Dense(1))
    # A layer already built for 5 features cannot follow a 2-feature output.
    fixed = layers.Dense(1)
    fixed.build((None, 5))
    with pytest.raises(ValueError, match=r"5 features.*\(None, 1\)"):
        model2.add(fixed)


def test_set_weights_wrong_count_and_shape():
    model = _seed_style(lamina)
    weights = model.get_weights()
    with pytest.raises(ValueError, match="6 weights.*5 arrays"):
        model.set_weights(weights[:-1])
    bad = list(weights)
    bad[2] = np.zeros((8, 12), "float32")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"\(12, 8\).*\(8, 12\)"):
        model.set_weights(bad)
    # Nothing was written before the check failed.
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sequential_add_rejects_non_layer():
    with pytest.raises(TypeError, match="Layer instance"):
        Sequential().add("dense")


# ----- names, layers, pop, deferred build -------------------------------------------------


def test_default_names_are_unique_after_clear_session():
    lamina.backend.clear_session()
    names = [layers.Dense(1).name for _ in range(3)]
    assert names == ["dense", "dense_1", "dense_2"]
    assert layers.Dropout(0.1).name == "dropout"
    lamina.backend.clear_session()
    assert layers.Dense(1).name == "dense"
    assert Sequential().name == "sequential"


def test_get_layer_by_name_and_index():
    model = Sequential([layers.Dense(3, input_shape=(2,), name="first"), layers.Dense(1, name="last")])
    assert model.get_layer("last") is model.layers[1]
    assert model.get_layer(index=0).name == "first"
    assert model.get_layer(index=-1).name == "last"
    with pytest.raises(ValueError, match="no layer named 'lats'.*first, last"):
        model.get_layer("lats")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=2)
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()


def test_pop_removes_last_layer_and_updates_output():
    model = Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(4), layers.Dense(1)])
    popped = model.pop()
    assert popped.units == 1
    assert len(model.layers) == 2
    assert model.output_shape == (None, 4)
    assert model(np.ones((2, 2))).shape == (2, 4)
    assert model.count_params() == 3 * 3 + 4 * 4
    model.pop()
    model.pop()
    with pytest.raises(ValueError, match="no layers"):
        model.pop()


def test_deferred_build_on_first_call():
    model = Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="not built"):
        model.count_params()
    out = model(np.ones((3, 5), "float32"))
    assert out.shape == (3, 2)
    assert model.built
    assert model.count_params() == 5 * 4 + 4 + 4 * 2 + 2
    assert [w.shape for w in model.get_weights()] == [(5, 4), (4,), (4, 2), (2,)]


def test_deferred_build_via_build():
    model = Sequential([layers.Dense(4), layers.Dense(2)])
    model.build((None, 3))
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    assert model.output_shape == (None, 2)


def test_summary_unbuilt_model_explains_fix():
    with pytest.raises(ValueError, match="build"):
        Sequential([layers.Dense(2)]).summary(print_fn=lambda *a, **k: None)


# ----- freezing ----------------------------------------------------------------------------


def test_trainable_false_moves_weights_to_non_trainable():
    model = _seed_style(lamina)
    first = model.layers[0]
    first.trainable = False
    assert len(model.trainable_weights) == 4
    assert len(model.non_trainable_weights) == 2
    assert {id(v) for v in model.non_trainable_weights} == {id(first.kernel), id(first.bias)}
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable params: 113" in text
    assert "Non-trainable params: 108" in text
    assert len(model.trainable_variables) == 4 and len(model.non_trainable_variables) == 2
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True  # unfreezing the model unfreezes every layer, as in Keras
    assert len(model.trainable_weights) == 6


# ----- summary --------------------------------------------------------------------------------


def test_summary_content():
    lamina.backend.clear_session()
    model = _seed_style(lamina)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "sequential"' in text
    for name, shape, params in [("dense", "(None, 12)", "108"), ("dense_1", "(None, 8)", "104"),
                                ("dense_2", "(None, 1)", "9")]:
        row = next(line for line in lines if line.strip().startswith(f"{name} (Dense)"))
        assert shape in row and row.rstrip().endswith(params)
    assert "Total params: 221" in text
    assert "Trainable params: 221" in text
    assert "Non-trainable params: 0" in text


# ----- serialization and cloning -------------------------------------------------------------


def test_sequential_get_config_from_config_roundtrip():
    model = _seed_style(lamina)
    config = model.get_config()
    json.dumps(config)
    clone = Sequential.from_config(config)
    assert [type(layer).__name__ for layer in clone.layers] == ["Dense"] * 3
    assert [layer.units for layer in clone.layers] == [12, 8, 1]
    assert clone.layers[2].get_config()["activation"] == "sigmoid"
    assert clone.count_params() == 221
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(X8)), np.asarray(model(X8)), atol=1e-6)


def test_to_json_model_from_json_roundtrip():
    model = Sequential([layers.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(5, activation="relu"),
                        layers.Dropout(0.3), layers.Dense(2)])
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    restored = model_from_json(text)
    assert isinstance(restored, Sequential)
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    assert restored.layers[2].rate == pytest.approx(0.3)
    assert restored.count_params() == model.count_params()
    x = RNG.normal(size=(2, 28, 28)).astype("float32")
    restored.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(restored(x)), np.asarray(model(x)), atol=1e-6)


def test_to_json_is_loadable_by_keras(keras):
    model = _seed_style(lamina)
    theirs = keras.models.model_from_json(model.to_json())
    assert theirs.count_params() == 221
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(theirs(X8)), np.asarray(model(X8)), atol=1e-5)


def test_keras_json_is_loadable(keras_seed_model):
    restored = model_from_json(keras_seed_model.to_json())
    assert restored.count_params() == 221
    restored.set_weights(keras_seed_model.get_weights())
    np.testing.assert_allclose(np.asarray(restored(X8)), np.asarray(keras_seed_model(X8)), atol=1e-5)


def test_clone_model_new_weights_same_architecture():
    model = _seed_style(lamina)
    clone = clone_model(model)
    assert clone is not model
    assert clone.count_params() == model.count_params()
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])
    assert {id(v) for v in clone.weights}.isdisjoint({id(v) for v in model.weights})
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(X8)), np.asarray(model(X8)), atol=1e-6)


def test_clone_model_with_clone_function():
    model = _seed_style(lamina)
    seen = []

    def fn(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())

    clone = clone_model(model, clone_function=fn)
    assert seen == [layer.name for layer in model.layers]
    assert clone.count_params() == 221
