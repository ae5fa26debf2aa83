"""Dropout, SpatialDropout, GaussianNoise, GaussianDropout and ActivityRegularization."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_compare import check_config, check_keras_loads, compare_layer

import lamina
from lamina import layers as L

RNG = np.random.default_rng(5)
BIG = np.ones((200, 50), "float32") * 2.0
X3 = RNG.normal(size=(4, 6, 8)).astype("float32")
X4 = RNG.normal(size=(4, 3, 3, 8)).astype("float32")


@pytest.mark.parametrize("name,args,x", [
    ("Dropout", (0.3,), X3),
    ("SpatialDropout1D", (0.3,), X3),
    ("SpatialDropout2D", (0.3,), X4),
    ("GaussianNoise", (0.5,), X3),
    ("GaussianDropout", (0.4,), X3),
])
def test_inference_is_identity_and_matches_keras(keras, name, args, x):
    compare_layer(keras, name, x, args=args, training=(False,))
    np.testing.assert_array_equal(getattr(L, name)(*args)(x), x)


def test_dropout_statistics_and_seed_determinism():
    out = np.asarray(L.Dropout(0.3, seed=1)(BIG, training=True))
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out[kept], 2.0 / 0.7, rtol=1e-6)
    a, b = L.Dropout(0.3, seed=1), L.Dropout(0.3, seed=1)
    first = np.asarray(a(BIG, training=True))
    np.testing.assert_array_equal(first, b(BIG, training=True))
    assert not np.array_equal(first, a(BIG, training=True))  # the next call draws a new mask


def test_dropout_noise_shape_and_errors():
    out = np.asarray(L.Dropout(0.5, noise_shape=(None, 1, 8), seed=0)(X3, training=True))
    dropped = out == 0
    assert (dropped == dropped[:, :1, :]).all()
    with pytest.raises(ValueError, match="rate"):
        L.Dropout(1.5)


@pytest.mark.parametrize("name,x,kwargs,channel_axis", [
    ("SpatialDropout1D", X3, {}, -1),
    ("SpatialDropout2D", X4, {}, -1),
    ("SpatialDropout2D", X4, {"data_format": "channels_first"}, 1),
    ("SpatialDropout3D", X4[:, :, :, None, :], {}, -1),
])
def test_spatial_dropout_drops_whole_channels(name, x, kwargs, channel_axis):
    x = np.abs(x) + 1.0
    out = np.asarray(getattr(L, name)(0.5, seed=3, **kwargs)(x, training=True))
    dropped = np.moveaxis(out == 0, channel_axis, -1).reshape(x.shape[0], -1, x.shape[channel_axis])
    assert (dropped == dropped[:, :1, :]).all() and dropped.any() and not dropped.all()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] * 2.0, rtol=1e-6)


def test_spatial_dropout_errors_and_config():
    with pytest.raises(ValueError, match="rank 3"):
        L.SpatialDropout1D(0.2)(X4)
    with pytest.raises(ValueError, match="data_format"):
        L.SpatialDropout2D(0.2, data_format="NHWC")
    layer = L.SpatialDropout2D(0.2, data_format="channels_first", seed=4)
    check_config(layer, X4)
    assert "noise_shape" not in layer.get_config()


def test_gaussian_noise_statistics_and_determinism():
    out = np.asarray(L.GaussianNoise(0.5, seed=2)(BIG, training=True)) - BIG
    assert abs(out.mean()) < 0.02 and abs(out.std() - 0.5) < 0.02
    np.testing.assert_array_equal(L.GaussianNoise(0.5, seed=2)(BIG, training=True),
                                  L.GaussianNoise(0.5, seed=2)(BIG, training=True))
    with pytest.raises(ValueError, match="stddev"):
        L.GaussianNoise(-1.0)


def test_gaussian_dropout_statistics():
    rate = 0.2
    out = np.asarray(L.GaussianDropout(rate, seed=2)(BIG, training=True)) / BIG
    assert abs(out.mean() - 1.0) < 0.02 and abs(out.std() - np.sqrt(rate / (1 - rate))) < 0.02
    with pytest.raises(ValueError, match="rate"):
        L.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="rate"):
        L.GaussianDropout(-0.1)


@pytest.mark.parametrize("name,args", [("Dropout", (0.5,)), ("GaussianNoise", (0.3,)), ("GaussianDropout", (0.3,)),
                                       ("SpatialDropout1D", (0.5,))])
def test_random_layers_in_stateless_call_follow_their_seed_state(name, args):
    model = lamina.Sequential([lamina.Input(shape=(6, 8)), getattr(L, name)(*args)])
    step = jax.jit(lambda n, x: model.stateless_call([], n, x, training=True))
    seed_state = [v.value for v in model.non_trainable_variables]
    assert len(seed_state) == 1
    a, advanced = step(seed_state, X3)
    np.testing.assert_array_equal(a, step(seed_state, X3)[0])
    assert not np.array_equal(a, step(advanced, X3)[0])
    assert not np.array_equal(a, X3)
    np.testing.assert_array_equal(model.stateless_call([], seed_state, X3)[0], X3)


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.02), (0.1, 0.3)])
def test_activity_regularization_loss_matches_keras(keras, l1, l2):
    x = X3[:, 0, :]
    k, l = keras.layers.ActivityRegularization(l1=l1, l2=l2), L.ActivityRegularization(l1=l1, l2=l2)
    np.testing.assert_array_equal(l(x), x)
    k(x)
    assert len(l.losses) == len(k.losses) == 1
    expected = (l1 * np.abs(x).sum() + l2 * np.square(x).sum()) / x.shape[0]
    np.testing.assert_allclose(float(l.losses[0]), float(k.losses[0]), rtol=1e-5)
    np.testing.assert_allclose(float(l.losses[0]), expected, rtol=1e-5)
    check_config(l, x, keras_config=k.get_config())


def test_activity_regularization_in_stateless_call():
    model = lamina.Sequential([lamina.Input(shape=(8,)), L.ActivityRegularization(l2=0.5)])
    x = X3[:, 0, :]
    _, _, losses = model.stateless_call([], [], jnp.asarray(x), return_losses=True)
    np.testing.assert_allclose(float(sum(losses)), 0.5 * np.square(x).sum() / 4, rtol=1e-5)


@pytest.mark.parametrize("name,x,kwargs", [
    ("SpatialDropout1D", X3, {}),
    ("SpatialDropout2D", X4, {}),
    ("SpatialDropout2D", np.moveaxis(X4, -1, 1), {"data_format": "channels_first"}),
    ("SpatialDropout3D", X4[:, :, :, None, :], {}),
    ("SpatialDropout3D", np.moveaxis(X4[:, :, :, None, :], -1, 1), {"data_format": "channels_first"}),
])
def test_spatial_dropout_draws_keras_masks_and_configs_load_both_ways(keras, name, x, kwargs):
    ours, theirs = getattr(L, name)(0.5, seed=3, **kwargs), getattr(keras.layers, name)(0.5, seed=3, **kwargs)
    for _ in range(2):  # the same seed gives Keras's masks, call after call
        np.testing.assert_array_equal(ours(x, training=True), np.asarray(theirs(x, training=True)))
    check_keras_loads(keras, ours, x)
    assert set(ours.get_config()) == set(theirs.get_config())
