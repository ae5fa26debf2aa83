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


# ----- spatial resizing: UpSampling, ZeroPadding, Cropping ----------------------------------------------

from layer_compare import check_keras_loads  # noqa: E402

S1 = RNG.normal(size=(2, 6, 3)).astype("float32")
S2 = RNG.normal(size=(2, 5, 6, 3)).astype("float32")
S3 = RNG.normal(size=(1, 4, 5, 3, 2)).astype("float32")
CF = {"data_format": "channels_first"}


@pytest.mark.parametrize("name,x,kwargs", [
    ("UpSampling1D", S1, {}), ("UpSampling1D", S1, {"size": 3}),
    ("UpSampling2D", S2, {}), ("UpSampling2D", S2, {"size": (2, 3), **CF}),
    ("UpSampling2D", S2, {"size": (3, 2), "interpolation": "bilinear"}),
    ("UpSampling2D", S2, {"size": 2, "interpolation": "bilinear", **CF}),
    ("UpSampling2D", S2, {"size": (2, 2), "interpolation": "bicubic"}),
    ("UpSampling3D", S3, {}), ("UpSampling3D", S3, {"size": (1, 2, 3), **CF}),
    ("ZeroPadding1D", S1, {}), ("ZeroPadding1D", S1, {"padding": (2, 0)}), ("ZeroPadding1D", S1, {"padding": 2, **CF}),
    ("ZeroPadding2D", S2, {}), ("ZeroPadding2D", S2, {"padding": (1, 2)}),
    ("ZeroPadding2D", S2, {"padding": ((0, 1), (2, 3)), **CF}),
    ("ZeroPadding3D", S3, {}), ("ZeroPadding3D", S3, {"padding": (1, 0, 2), **CF}),
    ("Cropping1D", S1, {}), ("Cropping1D", S1, {"cropping": (0, 2)}), ("Cropping1D", S1, {"cropping": 2}),
    ("Cropping2D", S2, {}), ("Cropping2D", S2, {"cropping": ((1, 0), (2, 1))}),
    ("Cropping2D", S2, {"cropping": 1, **CF}), ("Cropping2D", S2, {"cropping": (1, 0), **CF}),
    ("Cropping3D", S3, {}), ("Cropping3D", S3, {"cropping": ((0, 1), (2, 0), (0, 0)), **CF}),
])
def test_spatial_resizing_matches_keras(keras, name, x, kwargs):
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _, layer = compare_layer(keras, name, x, kwargs=kwargs, training=(False,))
    check_keras_loads(keras, layer, x)


@pytest.mark.parametrize("make,shape,match", [
    (lambda: L.Cropping2D(((2, 3), (0, 0))), (1, 5, 4, 1), r"cropping=\(\(2, 3\), \(0, 0\)\) leaves nothing"),
    (lambda: L.Cropping1D((3, 3)), (1, 6, 2), r"\(Cropping1D\): cropping=\(3, 3\) leaves nothing"),
    (lambda: L.UpSampling2D(), (2, 5, 5), r"rank 4, shaped \(batch, rows, cols, channels\)"),
    (lambda: L.ZeroPadding1D(), (2, 5), r"rank 3, shaped \(batch, steps, channels\)"),
])
def test_spatial_resizing_bad_inputs(make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=match):
        make()(lamina.Input(shape[1:]))


@pytest.mark.parametrize("make,err,match", [
    (lambda: L.UpSampling1D(2.0), TypeError, "`size` must be an int"),
    (lambda: L.UpSampling2D(interpolation="area"), ValueError, "interpolation"),
    (lambda: L.ZeroPadding2D((1, 2, 3)), ValueError, "padding"),
    (lambda: L.Cropping2D(-1), ValueError, "non-negative"),
    (lambda: L.Cropping3D(((1, 1), (1, 1))), ValueError, "cropping"),
])
def test_spatial_resizing_bad_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_cropping_keeps_unknown_sizes_unknown():
    assert L.Cropping2D(((1, 1), (2, 0)))(lamina.Input((None, 7, 3))).shape == (None, None, 5, 3)
