"""Pooling layers against real Keras 3, every option; errors for windows that do not fit."""

import jax
import numpy as np
import pytest
from layer_compare import check_keras_loads, compare_layer

import lamina
from lamina import layers as L

RNG = np.random.default_rng(15)
X1 = RNG.normal(size=(2, 9, 3)).astype("float32")
X2 = RNG.normal(size=(2, 7, 6, 3)).astype("float32")
X3 = RNG.normal(size=(1, 5, 6, 4, 2)).astype("float32")
CF = {"data_format": "channels_first"}


def _compare(keras, name, x, args=(), kwargs=None):
    kwargs = kwargs or {}
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _, layer = compare_layer(keras, name, x, args=args, kwargs=kwargs, training=(False,))
    check_keras_loads(keras, layer, x)


WINDOW_CASES = [
    ("1D", X1, (), {}),
    ("1D", X1, (3,), {"strides": 2, "padding": "same"}),
    ("1D", X1, (2,), {"strides": 1, **CF}),
    ("2D", X2, (), {}),
    ("2D", X2, ((3, 2),), {"strides": (2, 1), "padding": "same"}),
    ("2D", X2, (3,), {"strides": 2, "padding": "same", **CF}),
    ("2D", X2, (2,), {"strides": 3}),
    ("3D", X3, (2,), {}),
    ("3D", X3, ((2, 3, 2),), {"padding": "same", "strides": (1, 2, 3)}),
    ("3D", X3, (2,), {"padding": "same", **CF}),
]


@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("dims,x,args,kwargs", WINDOW_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_window_pooling_matches_keras(keras, mode, dims, x, args, kwargs):
    if mode == "Average" and not args:
        args = (2,)  # AveragePooling's pool_size has no default in Keras
    _compare(keras, f"{mode}Pooling{dims}", x, args, kwargs)


@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("dims,x", [("1D", X1), ("2D", X2), ("3D", X3)])
@pytest.mark.parametrize("kwargs", [{}, {"keepdims": True}, {"keepdims": True, **CF}, CF])
def test_global_pooling_matches_keras(keras, mode, dims, x, kwargs):
    _compare(keras, f"Global{mode}Pooling{dims}", x, kwargs=kwargs)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_average_pooling1d_mask_matches_keras(keras, data_format):
    x = X1 if data_format == "channels_last" else np.moveaxis(X1, -1, 1)
    mask = np.array([[1] * 9, [1] * 4 + [0] * 5], bool)
    ours = L.GlobalAveragePooling1D(data_format=data_format)(x, mask=mask)
    theirs = keras.layers.GlobalAveragePooling1D(data_format=data_format)(x, mask=mask)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    np.testing.assert_allclose(ours[1], X1[1, :4].mean(0), atol=1e-6)  # padded steps do not count


def test_same_average_counts_only_real_inputs_and_max_ignores_padding():
    x = -np.ones((1, 3, 3, 1), "float32")
    np.testing.assert_array_equal(L.AveragePooling2D(2, strides=2, padding="same")(x), -np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(L.MaxPooling2D(2, padding="same")(x), -np.ones((1, 2, 2, 1)))


def test_aliases(keras):
    for alias, name in [("MaxPool2D", "MaxPooling2D"), ("AvgPool1D", "AveragePooling1D"),
                        ("GlobalAvgPool3D", "GlobalAveragePooling3D"), ("GlobalMaxPool1D", "GlobalMaxPooling1D")]:
        assert getattr(L, alias) is getattr(L, name) and hasattr(keras.layers, alias)


def test_max_pooling_gradient_flows_to_the_window_maxima():
    x = RNG.normal(size=(2, 4, 4, 3)).astype("float32")
    layer = L.MaxPooling2D()
    grad = np.asarray(jax.jit(jax.grad(lambda v: layer(v).sum()))(x))
    windows = x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4), keepdims=True)
    expected = (x.reshape(2, 2, 2, 2, 2, 3) == windows).astype("float32").reshape(x.shape)
    np.testing.assert_array_equal(grad, expected)


@pytest.mark.parametrize("make,shape,match", [
    (lambda: L.MaxPooling1D(4), (1, 3, 2), r"'max_pooling1d\w*' \(MaxPooling1D\): its 4 pool is larger"),
    (lambda: L.AveragePooling3D((1, 1, 5)), (1, 2, 2, 4, 1), r"1x1x5 pool"),
    (lambda: L.GlobalMaxPooling2D(), (2, 3, 4), r"rank 4, shaped \(batch, rows, cols, channels\)"),
    (lambda: L.MaxPooling2D(data_format="channels_first"), (2, 3, 4), r"shaped \(batch, channels, rows, cols\)"),
])
def test_bad_inputs(make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(np.zeros(shape, "float32"))


@pytest.mark.parametrize("make,match", [
    (lambda: L.MaxPooling2D(0), "pool_size"),
    (lambda: L.MaxPooling2D(2, strides=0), "strides"),
    (lambda: L.AveragePooling1D(2, padding="causal"), "padding"),
    (lambda: L.GlobalAveragePooling2D(data_format="NCHW"), "data_format"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_sizes_stay_unknown():
    inp = lamina.Input((None, None, 3))
    out = L.MaxPooling2D(3, strides=2)(L.Conv2D(4, 5, strides=2)(inp))
    assert out.shape == (None, None, None, 4)
    assert L.MaxPooling2D(2)(lamina.Input((9, None, 3))).shape == (None, 4, None, 3)
