"""Convolution layers against real Keras 3: copied weights give equal outputs for every option."""

import jax
import numpy as np
import pytest
from layer_compare import check_keras_loads, compare_layer

import lamina
from lamina import layers as L

ATOL = 1e-4
RNG = np.random.default_rng(14)
X1 = RNG.normal(size=(2, 9, 4)).astype("float32")  # [batch, steps, channels]
X2 = RNG.normal(size=(2, 7, 6, 4)).astype("float32")  # [batch, rows, cols, channels]
X3 = RNG.normal(size=(1, 5, 6, 4, 2)).astype("float32")  # [batch, d1, d2, d3, channels]
CF = {"data_format": "channels_first"}


def _compare(keras, name, x, args, kwargs):
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    _, layer = compare_layer(keras, name, x, args=args, kwargs=kwargs, training=(False,), atol=ATOL)
    check_keras_loads(keras, layer, x, atol=ATOL)


CONV_CASES = [
    ("Conv1D", X1, (3, 3), {}),
    ("Conv1D", X1, (4, 3), {"padding": "same", "strides": 2, "activation": "relu"}),
    ("Conv1D", X1, (2, 3), {"padding": "causal", "dilation_rate": 2}),
    ("Conv1D", X1, (6, 2), {"groups": 2, "use_bias": False, **CF}),
    ("Conv2D", X2, (3, 3), {}),
    ("Conv2D", X2, (4, (3, 2)), {"padding": "same", "strides": (2, 3), "activation": "tanh"}),
    ("Conv2D", X2, (2, 3), {"dilation_rate": (2, 1), "padding": "same"}),
    ("Conv2D", X2, (6, 3), {"groups": 2, "strides": 2, **CF}),
    ("Conv2D", X2, (2, 1), {"use_bias": False}),
    ("Conv3D", X3, (3, 2), {}),
    ("Conv3D", X3, (2, (3, 2, 2)), {"padding": "same", "strides": (2, 1, 2), **CF}),
]

TRANSPOSE_CASES = [
    ("Conv1DTranspose", X1, (3, 3), {}),
    ("Conv1DTranspose", X1, (3, 4), {"strides": 3, "padding": "same"}),
    ("Conv1DTranspose", X1, (2, 3), {"strides": 2, "output_padding": 1, **CF}),
    ("Conv1DTranspose", X1, (2, 3), {"dilation_rate": 2, "padding": "same"}),
    ("Conv2DTranspose", X2, (3, 3), {"strides": 2}),
    ("Conv2DTranspose", X2, (2, (3, 2)), {"strides": (2, 3), "padding": "same", "output_padding": (1, 0)}),
    ("Conv2DTranspose", X2, (2, 2), {"strides": 3, "activation": "relu", **CF}),
    ("Conv2DTranspose", X2, (3, 3), {"dilation_rate": 2, "use_bias": False}),
    ("Conv3DTranspose", X3, (2, 2), {"strides": 2}),
    ("Conv3DTranspose", X3, (2, 3), {"strides": (1, 2, 2), "padding": "same", **CF}),
]

DEPTHWISE_CASES = [
    ("DepthwiseConv1D", X1, (3,), {}),
    ("DepthwiseConv1D", X1, (3,), {"depth_multiplier": 2, "padding": "same", "strides": 2, **CF}),
    ("DepthwiseConv2D", X2, (3,), {"depth_multiplier": 3}),
    ("DepthwiseConv2D", X2, ((3, 2),), {"padding": "same", "dilation_rate": 2, "activation": "relu"}),
    ("DepthwiseConv2D", X2, (2,), {"strides": (2, 1), "use_bias": False, **CF}),
    ("SeparableConv1D", X1, (5, 3), {}),
    ("SeparableConv1D", X1, (3, 3), {"depth_multiplier": 2, "padding": "same", "dilation_rate": 2, **CF}),
    ("SeparableConv2D", X2, (5, 3), {"strides": 2, "padding": "same"}),
    ("SeparableConv2D", X2, (3, (2, 3)), {"depth_multiplier": 2, "use_bias": False, **CF}),
]


@pytest.mark.parametrize("name,x,args,kwargs", CONV_CASES + TRANSPOSE_CASES + DEPTHWISE_CASES,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_matches_keras(keras, name, x, args, kwargs):
    _compare(keras, name, x, args, kwargs)


def test_aliases_are_the_same_classes(keras):
    for alias, name in [("Convolution2D", "Conv2D"), ("Convolution1DTranspose", "Conv1DTranspose"),
                        ("SeparableConvolution2D", "SeparableConv2D")]:
        assert getattr(L, alias) is getattr(L, name) and hasattr(keras.layers, alias)


def test_regularizers_constraints_and_initializers_match_keras(keras):
    l1 = {"class_name": "L1", "config": {"l1": 0.125}}  # exact in float32 (Keras stores L1's factor as float32)
    kwargs = {"kernel_regularizer": "l2", "bias_regularizer": l1, "activity_regularizer": l1,
              "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 0.5}},
              "bias_constraint": "non_neg", "kernel_initializer": "he_normal", "bias_initializer": "ones"}
    k_layer, l_layer = compare_layer(keras, "Conv2D", X2, args=(3, 3), kwargs=kwargs, training=(False,), atol=ATOL)
    k_layer(X2), l_layer(X2)
    np.testing.assert_allclose(sorted(float(v) for v in l_layer.losses), sorted(float(v) for v in k_layer.losses),
                               rtol=1e-4)
    sep = {"depthwise_regularizer": "l2", "pointwise_regularizer": l1, "pointwise_constraint": "unit_norm",
           "pointwise_initializer": "zeros"}
    k_sep, l_sep = compare_layer(keras, "SeparableConv1D", X1, args=(2, 3), kwargs=sep, training=(False,), atol=ATOL)
    np.testing.assert_allclose(sorted(float(v) for v in l_sep.losses), sorted(float(v) for v in k_sep.losses),
                               rtol=1e-4)

    def model(lib):  # penalties in the loss, constraints after each step
        m = lib.Sequential([lib.Input(X2.shape[1:]), lib.layers.Conv2D(3, 3, **kwargs),
                            lib.layers.GlobalAveragePooling2D()])
        m.compile(lib.optimizers.SGD(0.5), "mse")
        return m

    ours, theirs = model(lamina), model(keras)
    ours.set_weights(theirs.get_weights())
    y = RNG.normal(size=(2, 3)).astype("float32")
    h_ours = ours.fit(X2, y, batch_size=1, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X2, y, batch_size=1, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert (ours.get_weights()[1] >= 0).all() and np.sqrt((ours.get_weights()[0] ** 2).sum(0)).max() <= 0.5 + 1e-6


def test_default_initialization_has_keras_scale():
    layer = L.Conv2D(64, 3)
    layer(np.zeros((1, 5, 5, 32), "float32"))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6.0 / (9 * 32 + 9 * 64))  # glorot_uniform over the receptive field
    assert kernel.shape == (3, 3, 32, 64) and np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_array_equal(bias, 0)


# ----- bad input: clear errors naming the layer and the expected shape, before any compute -------------


def test_conv2d_fed_a_rank3_batch_names_the_layer_and_layout():
    layer = L.Conv2D(8, 3, name="features")
    with pytest.raises(ValueError, match=r"'features' \(Conv2D\) expects inputs of rank 4, shaped \(batch, rows, "
                                         r"cols, channels\), but received input 0 with shape \(2, 28, 28\)"):
        layer(np.zeros((2, 28, 28), "float32"))
    assert not layer.built  # nothing was made from the wrong shape
    with pytest.raises(ValueError, match=r"shaped \(batch, channels, steps\)"):
        L.Conv1D(2, 3, data_format="channels_first")(lamina.Input((4, 5, 6)))


@pytest.mark.parametrize("make,shape,match", [
    (lambda: L.Conv2D(4, 5), (1, 3, 8, 2), r"5x5 kernel is larger than the input with padding='valid'.*\(3, 8\)"),
    (lambda: L.Conv1D(4, 3, dilation_rate=3), (1, 6, 2), r"3 kernel \(dilated: 7\)"),
    (lambda: L.DepthwiseConv2D((2, 9)), (1, 4, 4, 3), r"2x9 kernel"),
    (lambda: L.MaxPooling2D(4), (1, 3, 3, 1), r"4x4 pool is larger"),
])
def test_window_larger_than_the_padded_input(make, shape, match):
    layer = make()
    with pytest.raises(ValueError, match=match):
        layer(lamina.Input(shape[1:]))
    with pytest.raises(ValueError, match=match):
        make()(np.zeros(shape, "float32"))


def test_same_padding_fits_any_kernel_and_unknown_sizes_are_checked_per_call():
    assert L.Conv2D(2, 5, padding="same")(np.zeros((1, 3, 3, 1), "float32")).shape == (1, 3, 3, 2)
    inp = lamina.Input((None, None, 1))
    model = lamina.Model(inp, L.Conv2D(2, 3)(inp))
    assert model.predict(np.zeros((1, 5, 5, 1), "float32"), verbose=0).shape == (1, 3, 3, 2)
    with pytest.raises(ValueError, match="3x3 kernel is larger"):
        model(np.zeros((1, 2, 5, 1), "float32"))


def test_channel_mismatch_after_build():
    layer = L.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"expects inputs with 3 features \(last axis\)"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


@pytest.mark.parametrize("make,match", [
    (lambda: L.Conv2D(0, 3), "`filters` must be positive"),
    (lambda: L.Conv2D(4, (3, 3, 3)), r"`kernel_size` must be an int or a tuple of 2 ints"),
    (lambda: L.Conv2D(4, 3, padding="causal"), "`padding` must be one of 'valid', 'same'"),
    (lambda: L.Conv2D(4, 3, strides=2, dilation_rate=2), "cannot be combined"),
    (lambda: L.Conv2D(5, 3, groups=2), r"`filters` \(5\) must be divisible by `groups` \(2\)"),
    (lambda: L.Conv2D(4, 3, data_format="NHWC"), "data_format"),
    (lambda: L.Conv2DTranspose(4, 3, strides=2, output_padding=2), "smaller than the matching stride"),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_groups_must_divide_the_input_channels():
    with pytest.raises(ValueError, match=r"3 channels must be divisible by groups=2"):
        L.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))


# ----- in models: fit, summary, configs, jit --------------------------------------------------------------


def _cnn(lib):
    return lib.Sequential([
        lib.Input((8, 8, 1)),
        lib.layers.Conv2D(4, 3, activation="relu"),
        lib.layers.MaxPooling2D(),
        lib.layers.Conv2D(6, 2, padding="same", activation="relu"),
        lib.layers.GlobalAveragePooling2D(),
        lib.layers.Dense(3, activation="softmax"),
    ])


def test_cnn_trains_like_keras(keras):
    x = RNG.random((40, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean((1, 2, 3)) > x[:, 4:].mean((1, 2, 3))).astype("int32") + (x.mean((1, 2, 3)) > 0.5)
    ours, theirs = _cnn(lamina), _cnn(keras)
    ours.set_weights(theirs.get_weights())
    for m, lib in ((ours, lamina), (theirs, keras)):
        m.compile(lib.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h_ours = ours.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)


def test_summary_and_model_config_round_trip_with_keras(keras, capsys):
    ours = _cnn(lamina)
    ours.summary()
    text = capsys.readouterr().out
    assert "(None, 6, 6, 4)" in text and "(None, 3, 3, 6)" in text and "max_pooling2d" in text
    assert ours.count_params() == _cnn(keras).count_params()
    theirs = keras.Sequential.from_config(ours.get_config())
    back = lamina.Sequential.from_config(theirs.get_config())
    theirs.set_weights(ours.get_weights())
    back.set_weights(ours.get_weights())
    x = RNG.random((3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)


def test_stateless_call_under_jit_and_grad():
    model = lamina.Sequential([lamina.Input((6, 6, 2)), L.Conv2D(3, 3, padding="same"),
                               L.Conv2DTranspose(2, 2, strides=2), L.SeparableConv2D(2, 3), L.DepthwiseConv2D(2),
                               L.GlobalMaxPooling2D()])
    x = RNG.random((2, 6, 6, 2)).astype("float32")
    trainable = [v.value for v in model.trainable_variables]

    def loss(params):
        out, _ = model.stateless_call(params, [], x)
        return (out ** 2).sum()

    value, grads = jax.jit(jax.value_and_grad(loss))(trainable)
    np.testing.assert_allclose(value, (np.asarray(model(x)) ** 2).sum(), rtol=1e-5)
    assert all(np.isfinite(g).all() and g.shape == p.shape for g, p in zip(grads, trainable))
    assert any(np.abs(g).sum() > 0 for g in grads)
