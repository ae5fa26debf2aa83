"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax) against real Keras."""

import numpy as np
import pytest
from layer_compare import ATOL, compare_layer

import lamina
from lamina import activations
from lamina import layers as L

RNG = np.random.default_rng(4)
X = RNG.normal(scale=3.0, size=(3, 2, 5)).astype("float32")
X4 = RNG.normal(size=(2, 3, 3, 2)).astype("float32")


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.5}, {"negative_slope": 0.1},
                                    {"threshold": 0.5, "negative_slope": 0.2, "max_value": 4.0}])
def test_relu_matches_keras(keras, kwargs):
    compare_layer(keras, "ReLU", X, kwargs=kwargs, training=(False,))


@pytest.mark.parametrize("kwargs", [{}, {"negative_slope": 0.05}])
def test_leaky_relu_matches_keras(keras, kwargs):
    compare_layer(keras, "LeakyReLU", X, kwargs=kwargs, training=(False,))


def test_leaky_relu_keras2_alpha_spelling():
    np.testing.assert_allclose(L.LeakyReLU(alpha=0.5)(X), np.where(X >= 0, X, 0.5 * X), atol=ATOL)
    assert L.LeakyReLU().negative_slope == 0.3


@pytest.mark.parametrize("x,kwargs", [(X, {}), (X4, {"shared_axes": [1, 2]}), (X, {"shared_axes": 1}),
                                      (X, {"alpha_initializer": "ones", "alpha_regularizer": "l2"})])
def test_prelu_matches_keras(keras, x, kwargs):
    compare_layer(keras, "PReLU", x, kwargs=kwargs, training=(False,))


def test_prelu_errors():
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match="out of range"):
        L.PReLU(shared_axes=[3])(X)
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU()(lamina.Input(shape=(None, 4)))
    assert L.PReLU(shared_axes=[1])(lamina.Input(shape=(None, 4))).shape == (None, None, 4)


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 0.3}])
def test_elu_matches_keras(keras, kwargs):
    compare_layer(keras, "ELU", X, kwargs=kwargs, training=(False,))


@pytest.mark.parametrize("axis", [-1, 1, (1, 2)])
def test_softmax_matches_keras(keras, axis):
    compare_layer(keras, "Softmax", X, kwargs={"axis": axis}, training=(False,))


def test_softmax_mask_matches_keras(keras):
    mask = RNG.random((3, 2, 5)) > 0.3
    np.testing.assert_allclose(L.Softmax()(X, mask=mask), np.asarray(keras.layers.Softmax()(X, mask=mask)),
                               atol=ATOL)
    with pytest.raises(ValueError, match="does not broadcast"):
        L.Softmax()(X, mask=np.ones((3, 4), bool))


@pytest.mark.parametrize("name,kwargs,arg", [("ReLU", {"max_value": -1}, "max_value"),
                                             ("ReLU", {"negative_slope": -0.1}, "negative_slope"),
                                             ("ReLU", {"threshold": None}, "threshold"),
                                             ("LeakyReLU", {"negative_slope": -1}, "negative_slope"),
                                             ("ELU", {"alpha": "big"}, "alpha")])
def test_bad_arguments(name, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        getattr(L, name)(**kwargs)


def test_activation_layers_resolve_through_activations_get():
    fn = activations.get({"class_name": "LeakyReLU", "config": {"negative_slope": 0.1}})
    assert isinstance(fn, L.LeakyReLU)
    np.testing.assert_allclose(fn(X), np.where(X >= 0, X, 0.1 * X), atol=ATOL)
    dense = L.Dense(3, activation=L.ReLU(max_value=1.0))
    assert float(np.max(dense(X))) <= 1.0
