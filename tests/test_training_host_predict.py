"""`predict` on a few rows runs the model with NumPy; it must agree with XLA and follow the model's changes."""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.training import host_predict, steps
from lamina.training.state import PredictState

RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 6)).astype("float32")
Y = RNG.integers(0, 3, size=(40,))


def xla_outputs(model, x):
    import jax

    state = PredictState([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables])
    outputs, _ = jax.jit(lambda s, x: steps.predict_step(model, s, x))(state, x)
    return jax.tree_util.tree_map(np.asarray, outputs)


def runners(model):
    return [r for k, r in model._engine.programs.items() if isinstance(k, tuple) and k[0] == "host"]


@pytest.fixture(scope="module")
def mlp():
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(6,)), L.Dense(16, activation="relu"), L.BatchNormalization(),
                               L.Dropout(0.3), L.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("rows", [1, 3, 8])
def test_small_batches_run_on_numpy_and_agree_with_xla(mlp, rows):
    x = X[:rows]
    first = mlp.predict(x, verbose=0)
    again = mlp.predict(x, verbose=0)
    assert [r.program is not None for r in runners(mlp)] and all(r.program is not None for r in runners(mlp))
    np.testing.assert_allclose(again, xla_outputs(mlp, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again, first, rtol=1e-5, atol=1e-6)
    assert again.dtype == np.float32 and again.flags.writeable


def test_training_and_set_weights_are_seen_by_the_next_prediction(mlp):
    x = X[:2]
    before = mlp.predict(x, verbose=0)
    mlp.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    after_fit = mlp.predict(x, verbose=0)
    assert not np.allclose(before, after_fit)
    np.testing.assert_allclose(after_fit, xla_outputs(mlp, x), rtol=1e-5, atol=1e-6)
    mlp.set_weights([w * 0.5 for w in mlp.get_weights()])
    np.testing.assert_allclose(mlp.predict(x, verbose=0), xla_outputs(mlp, x), rtol=1e-5, atol=1e-6)


def test_float64_and_list_inputs_give_the_float32_answer(mlp):
    x = X[:2]
    np.testing.assert_allclose(mlp.predict(x.astype("float64"), verbose=0), mlp.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(mlp.predict(x.tolist(), verbose=0), mlp.predict(x, verbose=0), rtol=1e-6)


def test_adding_and_popping_layers_changes_what_predict_computes():
    model = lamina.Sequential([lamina.Input(shape=(6,)), L.Dense(4)])
    x = X[:1]
    assert model.predict(x, verbose=0).shape == (1, 4)
    model.add(L.Dense(2))
    assert model.predict(x, verbose=0).shape == (1, 2)
    np.testing.assert_allclose(model.predict(x, verbose=0), xla_outputs(model, x), rtol=1e-5, atol=1e-6)
    model.pop()
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ model.get_weights()[0] + model.get_weights()[1],
                               rtol=1e-5, atol=1e-6)


def test_multi_input_multi_output_models_keep_their_structure():
    a, b = lamina.Input(shape=(6,), name="a"), lamina.Input(shape=(2,), name="b")
    h = L.Concatenate()([L.Dense(5, activation="tanh")(a), b])
    model = lamina.Model({"a": a, "b": b}, {"score": L.Dense(1)(h), "probs": L.Dense(3, activation="softmax")(h)})
    x = {"a": X[:2], "b": X[:2, :2]}
    model.predict(x, verbose=0)
    out = model.predict(x, verbose=0)
    assert all(r.program is not None for r in runners(model))
    ref = xla_outputs(model, x)
    assert set(out) == {"score", "probs"}
    for k in out:
        np.testing.assert_allclose(out[k], ref[k], rtol=1e-5, atol=1e-6)


def test_a_model_numpy_cannot_run_keeps_using_xla():
    model = lamina.Sequential([lamina.Input(shape=(3,), dtype="int32"), L.Embedding(10, 4), L.Flatten(), L.Dense(2)])
    x = np.array([[1, 2, 3]], np.int32)
    model.predict(x, verbose=0)
    out = model.predict(x, verbose=0)
    assert [r.program for r in runners(model)] == [None]
    np.testing.assert_allclose(out, xla_outputs(model, x), rtol=1e-6)


def test_larger_batches_do_not_use_numpy(mlp):
    mlp._engine.programs.clear()
    mlp.predict(X[:host_predict.MAX_ROWS + 1], verbose=0)
    assert runners(mlp) == []
