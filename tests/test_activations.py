import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import activations
from lamina.backend import registry as serialization


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((5, 8)) * 3).astype("float32")
    # exact break points of the piecewise functions
    values[0] = [0.0, -1.0, 1.0, 0.5, -0.5, 6.0, -3.0, 3.0]
    return values


KERAS_NAMES = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
]


def test_names_cover_keras(keras):
    from keras.src.activations import ALL_OBJECTS_DICT as keras_names

    assert set(keras_names) <= set(activations.ALL_OBJECTS_DICT)
    assert set(activations.ALL_OBJECTS_DICT) - set(keras_names) == {"step"}


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_matches_keras(keras, x, name):
    kwargs = {"threshold": 0.3, "default_value": -2.0} if name == "threshold" else {}
    expected = np.asarray(keras.activations.get(name)(x, **kwargs))
    got = np.asarray(activations.get(name)(x, **kwargs))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        ("relu", dict(negative_slope=0.1)),
        ("relu", dict(max_value=6.0)),
        ("relu", dict(max_value=2.5)),
        ("relu", dict(threshold=0.5)),
        ("relu", dict(negative_slope=0.1, max_value=3.0, threshold=0.5)),
        ("relu", dict(negative_slope=0.3, max_value=6)),
        ("relu", dict(negative_slope=0.2, threshold=-1.0)),
        ("leaky_relu", dict(negative_slope=0.01)),
        ("elu", dict(alpha=0.5)),
        ("celu", dict(alpha=2.0)),
        ("gelu", dict(approximate=True)),
        ("softmax", dict(axis=0)),
        ("softmax", dict(axis=(0, 1))),
        ("log_softmax", dict(axis=0)),
        ("glu", dict(axis=0)),
        ("squareplus", dict(b=1.0)),
        ("hard_shrink", dict(threshold=1.5)),
        ("soft_shrink", dict(threshold=1.0)),
    ],
)
def test_arguments_match_keras(keras, x, fn, kwargs):
    x = x[:4]
    expected = np.asarray(getattr(keras.activations, fn)(x, **kwargs))
    got = np.asarray(getattr(activations, fn)(x, **kwargs))
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-6)


def _sparsemax_reference(row):
    z = np.sort(row)[::-1]
    k = np.arange(1, len(z) + 1)
    support = 1 + k * z > np.cumsum(z)
    size = k[support][-1]
    tau = (z[:size].sum() - 1) / size
    return np.maximum(row - tau, 0)


def test_sparsemax_projects_onto_simplex(x):
    # Keras 3.15's JAX sparsemax mis-computes the threshold when more than one entry
    # survives; we follow the definition (Martins & Astudillo 2016) checked by hand.
    sparsemax = jax.jit(activations.sparsemax, static_argnames="axis")  # one compile per shape
    expected = np.stack([_sparsemax_reference(r) for r in x])
    got = np.asarray(sparsemax(x))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, atol=1e-6)
    small = np.array([0.1, 0.2, 0.3, 0.4], "float32")
    np.testing.assert_allclose(sparsemax(small), small, atol=1e-7)
    np.testing.assert_allclose(sparsemax(small * 10), [0, 0, 0, 1], atol=1e-6)
    got0 = np.asarray(sparsemax(x.T, axis=0))
    np.testing.assert_allclose(got0, expected.T, atol=1e-6)


def test_sparsemax_agrees_with_keras_when_one_entry_survives(keras):
    x = np.array([[0.5, 1.0, 3.0, -1.0], [4.0, 0.1, 0.2, 0.3]], "float32")
    np.testing.assert_allclose(activations.sparsemax(x), keras.activations.sparsemax(x), atol=1e-6)


def test_step_is_heaviside_with_zero_gradient():
    x = jnp.array([-2.0, -1e-8, 0.0, 1e-8, 3.0])
    np.testing.assert_array_equal(activations.step(x), [0.0, 0.0, 1.0, 1.0, 1.0])
    assert activations.get("step") is activations.step
    assert activations.step(jnp.array([1, -1])).dtype == jnp.float32
    grad = jax.grad(lambda v: activations.step(v).sum())(x)
    np.testing.assert_array_equal(grad, np.zeros(5))


def test_get_resolves_every_name_and_identity():
    for name, fn in activations.ALL_OBJECTS_DICT.items():
        assert activations.get(name) is fn
    assert activations.get("softmax") is activations.softmax
    assert activations.get("sigmoid") is activations.sigmoid
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get(None) is activations.linear

    def custom(v):
        return v * 2

    assert activations.get(custom) is custom


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="Did you mean 'softmax'"):
        activations.get("sofmax")
    with pytest.raises(TypeError, match="activation"):
        activations.get(3)


def test_serialize_round_trip_matches_keras(keras):
    for name in activations.ALL_OBJECTS_DICT:
        fn = activations.get(name)
        text = activations.serialize(fn)
        assert activations.deserialize(text) is fn
        if name != "step":
            assert text == keras.activations.serialize(keras.activations.get(name))
    assert activations.serialize(activations.swish) == "silu"


def test_custom_function_serialization(keras):
    def my_act(v):
        return v * 3

    data = activations.serialize(my_act)
    assert data == keras.activations.serialize(my_act)  # same dict shape as Keras
    with pytest.raises(ValueError, match="my_act"):
        activations.deserialize(data)
    assert activations.deserialize(data, custom_objects={"my_act": my_act}) is my_act

    def plus_one(v):
        return v + 1

    registered = serialization.register_keras_serializable(package="lamina_test")(plus_one)
    data = activations.serialize(registered)
    assert data["config"] == "lamina_test>plus_one"
    assert activations.get(data) is registered


def test_builtin_function_dict_form():
    config = {"module": "keras.activations", "class_name": "function", "config": "relu",
              "registered_name": "function"}
    assert activations.get(config) is activations.relu


def test_softmax_size_one_axis_warns():
    with pytest.warns(UserWarning, match="sigmoid"):
        out = activations.softmax(jnp.ones((3, 1)))
    np.testing.assert_array_equal(out, np.ones((3, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        activations.softmax(jnp.ones((3, 2)))


def test_glu_needs_even_axis():
    with pytest.raises(ValueError, match="even"):
        activations.glu(jnp.ones((2, 3)))


def test_activations_jit_and_grad(x):
    fns = [activations.relu, activations.gelu, activations.softmax]
    for fn in fns:
        out = jax.jit(fn)(x)
        np.testing.assert_allclose(out, fn(x), atol=1e-6)
    g = jax.grad(lambda v: activations.relu(v, negative_slope=0.1, max_value=2.0).sum())(x)
    expected = np.where(x > 2.0, 0.0, np.where(x > 0, 1.0, 0.1))
    mask = (np.abs(x) > 1e-6) & (np.abs(x - 2.0) > 1e-6)
    np.testing.assert_allclose(np.asarray(g)[mask], expected[mask])


def test_callable_object_round_trip():
    @serialization.register_keras_serializable(package="lamina_test")
    class Scaled:
        def __init__(self, factor=2.0):
            self.factor = factor

        def __call__(self, v):
            return v * self.factor

        def get_config(self):
            return {"factor": self.factor}

    data = activations.serialize(Scaled(3.0))
    assert data["class_name"] == "Scaled" and data["config"] == {"factor": 3.0}
    back = activations.get(data)
    assert isinstance(back, Scaled) and back.factor == 3.0
    with pytest.raises(ValueError, match="Unknown activation 'NoSuchThing'"):
        activations.get({"class_name": "NoSuchThing", "config": {}})
