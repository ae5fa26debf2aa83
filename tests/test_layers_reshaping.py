"""Reshaping layers (Flatten, Reshape, Permute, RepeatVector) against real Keras."""

import numpy as np
import pytest
from layer_compare import compare_layer

import lamina
from lamina import layers as L

RNG = np.random.default_rng(1)
X3 = RNG.normal(size=(2, 3, 4)).astype("float32")
X4 = RNG.normal(size=(2, 3, 4, 2)).astype("float32")


@pytest.mark.parametrize("x,kwargs", [(X3, {}), (X4, {}), (X4, {"data_format": "channels_first"})])
def test_flatten_matches_keras(keras, x, kwargs):
    compare_layer(keras, "Flatten", x, kwargs=kwargs, training=(False,))


@pytest.mark.parametrize("target", [(12,), (4, 3), (-1, 2), (2, -1, 3)])
def test_reshape_matches_keras(keras, target):
    compare_layer(keras, "Reshape", X3, args=(target,), training=(False,))


def test_reshape_unknown_dims_symbolic():
    inp = lamina.Input(shape=(None, 4))
    assert L.Reshape((-1, 2))(inp).shape == (None, None, 2)
    assert L.Reshape((2, 2, -1))(lamina.Input(shape=(3, 4))).shape == (None, 2, 2, 3)


def test_reshape_size_mismatch_errors():
    with pytest.raises(ValueError, match=r"Reshape.*12 values per example.*target_shape=\(5, 2\)"):
        L.Reshape((5, 2))(X3)
    with pytest.raises(ValueError, match="not divisible by 5"):
        L.Reshape((-1, 5))(lamina.Input(shape=(3, 4)))


@pytest.mark.parametrize("bad,err", [((2, -1, -1), ValueError), ((0, 3), ValueError), (("a",), ValueError),
                                     (None, TypeError)])
def test_reshape_rejects_bad_target(bad, err):
    with pytest.raises(err, match="target_shape"):
        L.Reshape(bad)


@pytest.mark.parametrize("dims,x", [((2, 1), X3), ((3, 1, 2), X4), ((1, 2), X3)])
def test_permute_matches_keras(keras, dims, x):
    compare_layer(keras, "Permute", x, args=(dims,), training=(False,))


def test_permute_errors():
    with pytest.raises(ValueError, match="permutation of 1..2"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match="rank 4"):
        L.Permute((2, 1, 3))(X3)


def test_repeat_vector_matches_keras(keras):
    compare_layer(keras, "RepeatVector", X3[:, 0, :], args=(3,), training=(False,))


def test_repeat_vector_errors():
    with pytest.raises(TypeError, match="`n` must be an int"):
        L.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        L.RepeatVector(0)
    with pytest.raises(ValueError, match="rank 2"):
        L.RepeatVector(2)(X3)
