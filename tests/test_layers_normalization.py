"""BatchNormalization, LayerNormalization, Normalization and Rescaling against real Keras."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from layer_compare import ATOL, check_config, compare_layer

import lamina
from lamina import layers as L
from lamina.backend.scope import StatelessScope

RNG = np.random.default_rng(3)
X2 = RNG.normal(1.0, 2.0, size=(6, 4)).astype("float32")
X4 = RNG.normal(size=(3, 2, 2, 4)).astype("float32")
X3 = RNG.normal(size=(3, 2, 4)).astype("float32")


def bn_weights(weights):
    """Perturbed weights with a positive moving variance."""
    rng = np.random.default_rng(7)
    out = [w + rng.uniform(-0.5, 0.5, size=w.shape).astype(w.dtype) for w in weights]
    out[-1] = np.abs(out[-1]) + 0.2
    return out


# ----- BatchNormalization ---------------------------------------------------------------

@pytest.mark.parametrize("x,kwargs", [
    (X2, {}),
    (X2, {"momentum": 0.5, "epsilon": 1e-2}),
    (X4, {"center": False}),
    (X4, {"axis": 1, "scale": False}),
    (X3, {"axis": -2, "center": False, "scale": False}),
])
def test_batchnorm_matches_keras_inference_and_training(keras, x, kwargs):
    # compare_layer runs inference, then training (which updates the moving stats), then
    # checks outputs and the moving statistics after each call against Keras.
    compare_layer(keras, "BatchNormalization", x, kwargs=kwargs, training=(False, True, True, False),
                  weights_fn=bn_weights)


def test_frozen_batchnorm_runs_in_inference_mode(keras):
    k, l = compare_layer(keras, "BatchNormalization", X2, kwargs={"trainable": False},
                         training=(True,), weights_fn=bn_weights)
    before = l.get_weights()
    out = l(X2, training=True)
    np.testing.assert_allclose(out, l(X2, training=False))
    for a, b in zip(before, l.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert l.trainable_weights == [] and len(l.non_trainable_weights) == 4


def test_batchnorm_training_normalizes_the_batch():
    layer = L.BatchNormalization()
    out = np.asarray(layer(X2, training=True))
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(0), X2.var(0) / (X2.var(0) + 1e-3), atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.01 * X2.mean(0), atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.99 + 0.01 * X2.var(0), atol=1e-6)


def test_batchnorm_mask_argument_matches_keras(keras):
    mask = np.array([[1, 0], [1, 1], [0, 1]], dtype=bool)
    k, l = keras.layers.BatchNormalization(), L.BatchNormalization()
    k(X3), l(X3)
    w = bn_weights(k.get_weights())
    k.set_weights(w), l.set_weights(w)
    np.testing.assert_allclose(l(X3, training=True, mask=mask), np.asarray(k(X3, training=True, mask=mask)),
                               atol=ATOL)
    for a, b in zip(k.get_weights(), l.get_weights()):
        np.testing.assert_allclose(b, a, atol=ATOL)


def test_batchnorm_ignores_padded_rows_of_the_batch_mask():
    """A ragged batch padded to full size with batch_mask gives the unpadded outputs and moving stats."""
    real, pad = X2[:4], 100.0 * np.ones((3, 4), "float32")
    padded = np.concatenate([real, pad])
    mask = jnp.array([1.0] * 4 + [0.0] * 3)
    reference = L.BatchNormalization(momentum=0.5)
    model = lamina.Sequential([lamina.Input(shape=(4,)), L.BatchNormalization(momentum=0.5)])
    reference(real)
    weights = bn_weights(reference.get_weights())
    reference.set_weights(weights)
    model.set_weights(weights)
    expected = np.asarray(reference(real, training=True))

    def call(tv, ntv, x, m):  # the engine's padded last batch: the mask rides on the StatelessScope
        with StatelessScope(batch_mask=m):
            return model.stateless_call(tv, ntv, x, training=True)

    step = jax.jit(call)
    tv, ntv = [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]
    out, new_ntv = step(tv, ntv, padded, mask)
    np.testing.assert_allclose(np.asarray(out)[:4], expected, atol=ATOL)
    moving = [np.asarray(v) for v in new_ntv]
    np.testing.assert_allclose(moving[0], reference.moving_mean.numpy(), atol=ATOL)
    np.testing.assert_allclose(moving[1], reference.moving_variance.numpy(), atol=ATOL)

    # without the mask the padding rows would change the statistics
    _, unmasked = step(tv, ntv, padded, jnp.ones(7))
    assert not np.allclose(np.asarray(unmasked[0]), moving[0], atol=1e-2)


def test_batchnorm_stateless_scope_records_updates_not_assigns():
    layer = L.BatchNormalization()
    layer(X2)
    variables = layer.weights
    before = layer.get_weights()
    with StatelessScope([(v, v.value) for v in variables]) as scope:
        layer(X2, training=True)
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.asarray(scope.get_current_value(layer.moving_mean)), before[2])


def test_batchnorm_errors_and_input_spec():
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        L.BatchNormalization(epsilon=0)
    with pytest.raises(ValueError, match="renorm"):
        L.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match=r"axis=3 is out of range.*\(6, 4\)"):
        L.BatchNormalization(axis=3)(X2)
    layer = L.BatchNormalization()
    layer(X2)
    with pytest.raises(ValueError, match="4 features"):
        layer(np.ones((2, 5), "float32"))


# ----- LayerNormalization ----------------------------------------------------------------

@pytest.mark.parametrize("x,kwargs", [
    (X2, {}),
    (X3, {"epsilon": 1e-5}),
    (X4, {"axis": [1, 3]}),
    (X3, {"center": False}),
    (X3, {"rms_scaling": True}),
    (X4, {"axis": (-1, -2), "scale": False}),
])
def test_layernorm_matches_keras(keras, x, kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_layer(keras, "LayerNormalization", x, kwargs=kwargs, training=(False,))


def test_layernorm_errors():
    with pytest.raises(TypeError, match="axis"):
        L.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="out of range"):
        L.LayerNormalization(axis=4)(X3)


# ----- Normalization --------------------------------------------------------------------

def _keras_norm(keras, **kwargs):
    return keras.layers.Normalization(**kwargs)


@pytest.mark.parametrize("kwargs,data", [
    ({}, X2),
    ({"axis": None}, X2),
    ({"axis": (1, 2)}, X3),
    ({"axis": 1}, X3),
    ({"invert": True}, X2),
])
def test_normalization_adapt_matches_keras(keras, kwargs, data):
    k, l = _keras_norm(keras, **kwargs), L.Normalization(**kwargs)
    k.adapt(data)
    l.adapt(data)
    for a, b in zip(k.get_weights(), l.get_weights()):
        np.testing.assert_allclose(b, a, atol=ATOL, rtol=1e-5)
    np.testing.assert_allclose(l(data), np.asarray(k(data)), atol=ATOL, rtol=1e-5)
    assert l.count_params() == k.count_params()
    check_config(l, data, keras_config=k.get_config())


def test_normalization_adapt_batches_matches_keras_on_the_whole_array(keras):
    batches = [X2[:2], X2[2:5], X2[5:]]
    k, l = _keras_norm(keras), L.Normalization()
    k.adapt(X2)  # Keras adapts on iterables only through tf.data; its result equals adapting on the array
    l.adapt(batches)
    for a, b in zip(k.get_weights(), l.get_weights()):
        np.testing.assert_allclose(b, a, atol=ATOL)
    np.testing.assert_allclose(l.get_weights()[0], X2.mean(0), atol=1e-5)
    np.testing.assert_allclose(l.get_weights()[1], X2.var(0), atol=1e-5)
    gen = L.Normalization()
    gen.adapt((b, np.zeros(len(b))) for b in batches)  # (x, y) batches from a generator
    np.testing.assert_allclose(gen.get_weights()[0], X2.mean(0), atol=1e-5)


def test_normalization_fixed_mean_variance_matches_keras(keras):
    kwargs = {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 4.0, 0.25, 2.0]}
    k, l = _keras_norm(keras, **kwargs), L.Normalization(**kwargs)
    np.testing.assert_allclose(l(X2), np.asarray(k(X2)), atol=ATOL)
    assert l.get_weights() == [] and l.count_params() == 0
    check_config(l, X2, keras_config=k.get_config())
    scalar = L.Normalization(mean=2.0, variance=4.0, invert=True)
    np.testing.assert_allclose(scalar(X2), X2 * 2.0 + 2.0, atol=ATOL)


def test_normalization_state_is_saved_in_weights_and_works_in_stateless_call():
    layer = L.Normalization()
    layer.adapt(X2)
    clone = L.Normalization.from_config(layer.get_config())
    clone(X2)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(X2), layer(X2))
    model = lamina.Sequential([lamina.Input(shape=(4,)), layer])
    tv, ntv = [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]
    out, _ = jax.jit(lambda t, n, x: model.stateless_call(t, n, x))(tv, ntv, X2)
    np.testing.assert_allclose(out, (X2 - X2.mean(0)) / X2.std(0), atol=1e-4)


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        L.Normalization(mean=[1.0, 2.0], variance=[1.0])
    layer = L.Normalization()
    layer.adapt(X2)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(6, 4\).*\(6, 3\)"):
        layer.adapt(X2[:, :3])
    with pytest.raises(ValueError, match="empty"):
        L.Normalization().adapt([])
    with pytest.raises(ValueError, match="cannot be adapted"):
        L.Normalization(mean=0.0, variance=1.0).adapt(X2)


# ----- Rescaling -----------------------------------------------------------------------

@pytest.mark.parametrize("args,kwargs", [((1 / 255,), {}), ((2.0,), {"offset": -1.0}),
                                         (([0.5, 1.0, 2.0, 3.0],), {"offset": [0.0, 1.0, 0.0, 1.0]})])
def test_rescaling_matches_keras(keras, args, kwargs):
    compare_layer(keras, "Rescaling", X2, args=args, kwargs=kwargs, training=(False,))


def test_rescaling_casts_integer_inputs():
    out = L.Rescaling(1 / 255)(np.array([[0, 255]], dtype="uint8"))
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, [[0.0, 1.0]])
    with pytest.raises(TypeError, match="scale"):
        L.Rescaling("big")
