"""Helpers for the layer tests: run the same layer in real Keras and in lamina and compare."""

import numpy as np

import lamina
from lamina import layers as L

ATOL = 1e-5


def as_list(out):
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]


def perturbed(weights, seed=0):
    """Keras's weights moved off their initial values (so 0/1 initializers cannot hide bugs)."""
    rng = np.random.default_rng(seed)
    out = []
    for w in weights:
        if w.dtype.kind == "f":
            w = w + rng.uniform(0.1, 0.5, size=w.shape).astype(w.dtype) * rng.choice([-1, 1], size=w.shape)
        out.append(w)
    return out


def make_pair(keras, name, args=(), kwargs=None):
    kwargs = dict(kwargs or {})
    return getattr(keras.layers, name)(*args, **kwargs), getattr(L, name)(*args, **kwargs)


def compare_layer(keras, name, inputs, args=(), kwargs=None, training=(False, True), weights_fn=None,
                  atol=ATOL):
    """Build `name` in Keras and lamina, share Keras's (perturbed) weights, compare everything.

    Checks weight shapes in `get_weights` order, `count_params`, outputs for each
    `training` flag, weights after each call (moving statistics), the symbolic
    output shape, and that the layer's config round-trips and loads Keras's config.
    Returns (keras_layer, lamina_layer).
    """
    k_layer, l_layer = make_pair(keras, name, args, kwargs)
    as_inputs = inputs
    k_layer(as_inputs)
    l_layer(as_inputs)
    k_weights = k_layer.get_weights()
    assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in k_weights]
    assert l_layer.count_params() == k_layer.count_params()
    shared = (weights_fn or perturbed)(k_weights)
    k_layer.set_weights(shared)
    l_layer.set_weights(shared)
    for flag in training:
        k_out = as_list(k_layer(inputs, training=flag))
        l_out = as_list(l_layer(inputs, training=flag))
        assert len(k_out) == len(l_out)
        for a, b in zip(k_out, l_out):
            assert a.shape == b.shape, (flag, a.shape, b.shape)
            np.testing.assert_allclose(b, a, atol=atol, rtol=1e-5, err_msg=f"{name} training={flag}")
        for a, b in zip(k_layer.get_weights(), l_layer.get_weights()):
            np.testing.assert_allclose(b, a, atol=atol, rtol=1e-5, err_msg=f"{name} weights after training={flag}")
    check_symbolic_shape(keras, name, inputs, args, kwargs)
    check_config(l_layer, inputs, keras_config=k_layer.get_config())
    return k_layer, l_layer


def _input_shapes(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(np.shape(x)) for x in inputs]
    return tuple(np.shape(inputs))


def check_symbolic_shape(keras, name, inputs, args=(), kwargs=None):
    """Calling fresh layers on symbolic inputs gives the same output shape (batch None)."""
    k_layer, l_layer = make_pair(keras, name, args, kwargs)

    def sym(mod, x):
        dtype = "int32" if np.asarray(x).dtype.kind in "iu" else "float32"
        return mod.Input(shape=np.shape(x)[1:], dtype=dtype)

    if isinstance(inputs, (list, tuple)):
        k_in = [sym(keras, x) for x in inputs]
        l_in = [sym(lamina, x) for x in inputs]
    else:
        k_in, l_in = sym(keras, inputs), sym(lamina, inputs)
    assert tuple(l_layer(l_in).shape) == tuple(k_layer(k_in).shape)


def check_config(layer, inputs, keras_config=None):
    """`from_config(get_config())` gives a layer with the same config and outputs; Keras's config loads."""
    layer(inputs)
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    clone(inputs)
    clone.set_weights(layer.get_weights())
    for a, b in zip(as_list(layer(inputs)), as_list(clone(inputs))):
        np.testing.assert_allclose(b, a, atol=ATOL)
    if keras_config is not None:
        from_keras = type(layer).from_config(keras_config)
        ours = {k: v for k, v in cfg.items() if k not in ("name", "dtype")}
        theirs = {k: v for k, v in from_keras.get_config().items() if k not in ("name", "dtype")}
        assert theirs == ours


def check_keras_loads(keras, layer, inputs, atol=ATOL):
    """Keras builds the same layer from lamina's config after a JSON round trip (as from a file), and
    lamina loads Keras's JSON config back: same config both ways, equal outputs on shared weights."""
    import json

    ours = json.loads(json.dumps(layer.get_config()))
    theirs = getattr(keras.layers, type(layer).__name__).from_config(ours)
    back = type(layer).from_config(json.loads(json.dumps(theirs.get_config())))
    assert back.get_config() == layer.get_config()
    theirs(inputs)
    theirs.set_weights(layer.get_weights())
    for a, b in zip(as_list(theirs(inputs)), as_list(layer(inputs))):
        np.testing.assert_allclose(b, a, atol=atol, rtol=1e-5)
