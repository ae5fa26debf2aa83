"""Core layers (Dense, Activation, Identity, Lambda, Embedding) against real Keras."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_compare import ATOL, check_config, compare_layer

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(4, 5)).astype("float32")
X3 = RNG.normal(size=(3, 2, 5)).astype("float32")
IDS = RNG.integers(0, 10, size=(4, 6)).astype("int32")


@pytest.mark.parametrize("kwargs,x", [
    ({"units": 3}, X2),
    ({"units": 4, "activation": "relu", "use_bias": False, "kernel_initializer": "ones"}, X2),
    ({"units": 2, "activation": "tanh", "kernel_initializer": "ones"}, X3),
])
def test_dense_matches_keras(keras, kwargs, x):
    compare_layer(keras, "Dense", x, kwargs=kwargs)


@pytest.mark.parametrize("activation", ["relu", "softmax", "sigmoid", "gelu"])
def test_activation_matches_keras(keras, activation):
    compare_layer(keras, "Activation", X3, args=(activation,))


def test_identity_matches_keras(keras):
    compare_layer(keras, "Identity", X3)
    out = L.Identity()([X2, X3])
    np.testing.assert_array_equal(out[1], X3)


@pytest.mark.parametrize("kwargs", [{}, {"mask_zero": True, "embeddings_initializer": "ones"}])
def test_embedding_matches_keras(keras, kwargs):
    compare_layer(keras, "Embedding", IDS, args=(10, 3), kwargs=kwargs)


def test_embedding_default_init_and_float_ids(keras):
    layer = L.Embedding(1000, 8)
    layer(IDS)
    w = layer.get_weights()[0]
    assert w.shape == (1000, 8) and w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.02
    np.testing.assert_array_equal(layer(IDS.astype("float32")), layer(IDS))
    assert keras.layers.Embedding(10, 3).get_config()["embeddings_initializer"] == layer.get_config()[
        "embeddings_initializer"]


def test_embedding_symbolic_and_mask():
    inp = lamina.Input(shape=(6,), dtype="int32")
    layer = L.Embedding(10, 4, mask_zero=True)
    assert layer(inp).shape == (None, 6, 4)
    np.testing.assert_array_equal(layer.compute_mask(IDS), IDS != 0)
    assert L.Embedding(10, 4).compute_mask(IDS) is None


def test_embedding_out_of_range_id_names_the_id():
    layer = L.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"input id 7 is out of range.*\[0, 5\)"):
        layer(np.array([[1, 7, 2]]))
    with pytest.raises(ValueError, match="input id -1"):
        layer(np.array([[-1, 0]]))


def test_embedding_out_of_range_under_jit_gives_nan_like_keras():
    layer = L.Embedding(5, 2)
    layer(np.array([[0]]))
    out = jax.jit(lambda ids: layer(ids))(jnp.array([[1, 9]]))
    assert np.isfinite(out[0, 0]).all() and np.isnan(out[0, 1]).all()


def test_embedding_weights_argument_and_input_length():
    table = RNG.normal(size=(4, 3)).astype("float32")
    layer = L.Embedding(4, 3, weights=[table])
    np.testing.assert_allclose(layer(np.array([[2]]))[0, 0], table[2])
    model = lamina.Sequential([L.Embedding(4, 3, input_length=5), L.Flatten()])
    assert model.count_params() == 12
    assert model.layers[-1].output_shape == (None, 15)


@pytest.mark.parametrize("bad", [{"input_dim": 0, "output_dim": 2}, {"input_dim": 3, "output_dim": -1},
                                 {"input_dim": 2.5, "output_dim": 2}])
def test_embedding_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="must be a positive integer"):
        L.Embedding(**bad)


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="units"):
        L.Dense(0)


def _double(x):
    return x * 2.0


def test_lambda_matches_keras_and_passes_arguments(keras):
    k = keras.layers.Lambda(lambda x, k: x * k + 1.0, arguments={"k": 3.0})
    l = L.Lambda(lambda x, k: x * k + 1.0, arguments={"k": 3.0})
    np.testing.assert_allclose(l(X3), np.asarray(k(X3)), atol=ATOL)
    summed = L.Lambda(lambda xs: xs[0] + xs[1])([X2, X2])
    np.testing.assert_allclose(summed, 2 * X2)
    inp = lamina.Input(shape=(2, 5))
    assert L.Lambda(lambda x: x[:, 0, :3])(inp).shape == (None, 3)


def test_lambda_training_argument():
    layer = L.Lambda(lambda x, training=False: x + (1.0 if training else 0.0))
    np.testing.assert_allclose(layer(X2, training=True), X2 + 1)
    np.testing.assert_allclose(layer(X2), X2)


def test_lambda_named_function_config_round_trip():
    layer = L.Lambda(_double, output_shape=(5,))
    cfg = layer.get_config()
    assert cfg["function"]["class_name"] == "function" and cfg["function"]["config"] == "_double"
    clone = L.Lambda.from_config(cfg, custom_objects={"_double": _double})
    np.testing.assert_allclose(clone(X2), 2 * X2)
    assert clone.get_config() == cfg
    with pytest.raises(ValueError, match=r"unknown function '_double'.*custom_objects"):
        L.Lambda.from_config(cfg)
    builtin = L.Lambda.from_config(L.Lambda(lamina.activations.relu).get_config())
    np.testing.assert_allclose(builtin(X2), np.maximum(X2, 0))


def test_lambda_python_lambda_needs_unsafe_mode_or_custom_objects():
    offset = 0.5
    layer = L.Lambda(lambda x: x * 3.0 + offset, name="triple")
    cfg = layer.get_config()
    assert cfg["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe mode.*custom_objects=\\{'triple': fn\\}"):
        L.Lambda.from_config(cfg)
    via_custom = L.Lambda.from_config(cfg, custom_objects={"triple": lambda x: x * 3.0 + offset})
    np.testing.assert_allclose(via_custom(X2), X2 * 3 + 0.5, atol=ATOL)
    unsafe = L.Lambda.from_config(cfg, safe_mode=False)
    np.testing.assert_allclose(unsafe(X2), X2 * 3 + 0.5, atol=ATOL)


def test_lambda_loads_keras_named_function_config(keras):
    cfg = keras.layers.Lambda(_double).get_config()
    layer = L.Lambda.from_config(cfg, custom_objects={"_double": _double})
    np.testing.assert_allclose(layer(X2), 2 * X2)


def test_lambda_rejects_non_callable():
    with pytest.raises(TypeError, match="callable"):
        L.Lambda(3)


def test_layer_serialize_deserialize_new_layers():
    for layer in (L.Embedding(3, 2), L.Identity(), L.Dense(2)):
        back = L.deserialize(L.serialize(layer))
        assert type(back) is type(layer) and back.get_config() == layer.get_config()


def test_embedding_config_round_trip_with_regularizer():
    layer = L.Embedding(6, 2, embeddings_regularizer="l2", mask_zero=True)
    check_config(layer, IDS % 6)
    assert len(layer.losses) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_shape": {"a": (None, 3)}}, r"`batch_shape` must be a tuple of ints .*got dict.*one Input each"),
    ({"shape": {"a": 3}}, r"`shape` must be a tuple of ints .*got dict"),
    ({"shape": "28x28"}, r"`shape` must be a tuple of ints .*got str '28x28'\.$"),
    ({"shape": (3, 0)}, r"every dimension must be a positive int or None"),
])
def test_input_layer_rejects_shapes_that_are_not_tuples_of_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lamina.layers.InputLayer(**kwargs)
