"""The `Layer` contract: weights, building, calling, shapes, names, config, errors."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.layers import Input, InputLayer, InputSpec, Layer
from lamina.backend.naming import to_snake_case
from lamina.layers.symbolic import KerasTensor
from lamina.models import Functional, Model, Sequential

RNG = np.random.default_rng(4)
X = RNG.normal(size=(3, 4)).astype("float32")


def make_linear(lib):
    """A custom layer written the Keras way: build / add_weight / call / get_config."""

    class Linear(lib.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                     trainable=True, name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b")
            self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")

        def call(self, inputs):
            return lib.ops.matmul(inputs, self.w) + self.b if hasattr(lib, "ops") else inputs @ self.w + self.b

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return Linear


def _three_styles(lib, Linear):
    seq = lib.Sequential([lib.Input(shape=(4,)), Linear(5, name="lin"), lib.layers.Dense(2, name="out")])
    x = lib.Input(shape=(4,))
    fn = lib.Model(x, lib.layers.Dense(2, name="out")(Linear(5, name="lin")(x)))

    class Sub(lib.Model):
        def __init__(self):
            super().__init__()
            self.lin = Linear(5, name="lin")
            self.out = lib.layers.Dense(2, name="out")

        def call(self, inputs):
            return self.out(self.lin(inputs))

    sub = Sub()
    sub(X)
    return {"sequential": seq, "functional": fn, "subclassed": sub}


@pytest.fixture(scope="module")
def keras_styles(keras):
    return _three_styles(keras, make_linear(keras))


@pytest.mark.parametrize("style", ["sequential", "functional", "subclassed"])
def test_custom_layer_in_every_style_matches_keras(keras_styles, style):
    theirs = keras_styles[style]
    ours = _three_styles(lamina, make_linear(lamina))[style]
    assert ours.count_params() == theirs.count_params() == 4 * 5 + 5 + 1 + 5 * 2 + 2
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    lin = ours.get_layer("lin") if style != "subclassed" else ours.lin
    assert [v.name for v in lin.trainable_weights] == ["w", "b"]
    assert [v.name for v in lin.non_trainable_weights] == ["steps"]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(X)), np.asarray(theirs(X)), atol=1e-5)


def test_custom_layer_config_roundtrip_in_sequential():
    Linear = make_linear(lamina)
    model = Sequential([Input(shape=(4,)), Linear(5, name="lin")])
    config = json.loads(json.dumps(model.get_config()))
    clone = Sequential.from_config(config, custom_objects={"Linear": Linear})
    assert isinstance(clone.layers[0], Linear) and clone.layers[0].units == 5
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(X)), np.asarray(model(X)), atol=1e-6)


# ----- weights -------------------------------------------------------------------------------


def test_weights_trainable_first_and_freezing():
    layer = make_linear(lamina)(2)
    layer.build((None, 4))
    assert [v.name for v in layer.weights] == ["w", "b", "steps"]
    assert layer.count_params() == 4 * 2 + 2 + 1
    layer.trainable = False
    assert layer.trainable_weights == []
    assert [v.name for v in layer.non_trainable_weights] == ["w", "b", "steps"]
    assert layer.count_params() == 11


def test_set_weights_checks_count_and_shape():
    layer = layers.Dense(3)
    layer.build((None, 2))
    with pytest.raises(ValueError, match="has 2 weights.*received 1 arrays"):
        layer.set_weights([np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"kernel.*\(2, 3\).*\(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    layer.set_weights([np.ones((2, 3)), np.arange(3.0)])
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2)))), [[2.0, 3.0, 4.0]])


def test_count_params_before_build_explains():
    with pytest.raises(ValueError, match="not built yet"):
        layers.Dense(2).count_params()


# ----- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", None])
def test_dense_units_must_be_positive_int(units):
    with pytest.raises((ValueError, TypeError), match="units"):
        layers.Dense(units)


def test_unknown_activation_suggests_closest():
    with pytest.raises(ValueError, match="Unknown activation 'rleu'. Did you mean 'relu'"):
        layers.Dense(2, activation="rleu")


def test_unknown_initializer_suggests_closest():
    with pytest.raises(ValueError, match="glorot_unifrom'. Did you mean 'glorot_uniform'"):
        layers.Dense(2, kernel_initializer="glorot_unifrom")


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="Dense.*unexpected keyword.*unitz"):
        layers.Dense(2, unitz=3)


def test_call_without_inputs():
    with pytest.raises(TypeError, match="without inputs"):
        layers.Dense(2)()


# ----- input checks ---------------------------------------------------------------------------------


def test_wrong_feature_count_names_layer_expected_and_received():
    dense = layers.Dense(2, name="clf")
    dense(np.ones((1, 4)))
    with pytest.raises(ValueError) as err:
        dense(np.ones((5, 3)))
    msg = str(err.value)
    assert "'clf'" in msg and "4 features" in msg and "(5, 3)" in msg


def test_rank_check():
    with pytest.raises(ValueError, match=r"rank >= 2.*\(3,\)"):
        layers.Dense(2)(np.ones(3))


def test_input_spec_fixed_shape():
    class Fixed(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = InputSpec(shape=(None, 2, 3))

        def call(self, inputs):
            return inputs

    layer = Fixed(name="fixed")
    assert layer(np.ones((4, 2, 3))).shape == (4, 2, 3)
    with pytest.raises(ValueError, match="'fixed'.*rank 3"):
        layer(np.ones((4, 6)))
    with pytest.raises(ValueError, match="'fixed'.*3 features.*\\(4, 2, 4\\)"):
        layer(np.ones((4, 2, 4)))
    with pytest.raises(ValueError, match="'fixed'.*2 entries on axis 1"):
        layer(np.ones((4, 5, 3)))


def test_input_layer_argument_errors():
    with pytest.raises(ValueError, match="give `shape`"):
        InputLayer()
    with pytest.raises(ValueError, match="not both"):
        InputLayer(shape=(2,), batch_shape=(None, 2))
    with pytest.raises(ValueError, match="positive int or None"):
        Input(shape=(0, 3))
    with pytest.raises(ValueError, match="`optional=True`"):
        InputLayer.from_config({"batch_shape": [None, 2], "optional": True, "name": "x"})
    restored = InputLayer.from_config({"batch_shape": [None, 2], "sparse": False, "ragged": False,
                                       "optional": False, "dtype": "float32", "name": "x"})
    assert restored.batch_shape == (None, 2)


def test_from_config_skips_null_keras_only_keys_and_rejects_set_ones():
    config = layers.Dense(3, name="d").get_config()
    restored = layers.Dense.from_config({**config, "quantization_config": None, "lora_rank": None})
    assert restored.units == 3
    with pytest.raises(ValueError, match="quantization_config"):
        layers.Dense.from_config({**config, "quantization_config": {"mode": "int8"}})


# ----- symbolic calls and shapes ----------------------------------------------------------------------


def test_output_shape_and_compute_output_shape():
    dense = layers.Dense(7)
    with pytest.raises(AttributeError, match="never called"):
        dense.output_shape
    x = Input(shape=(3,))
    y = dense(x)
    assert isinstance(y, KerasTensor) and y.shape == (None, 7)
    assert dense.output_shape == (None, 7)
    assert dense.output is y and dense.input is x
    assert layers.Flatten().compute_output_shape((None, 2, 3)) == (None, 6)
    assert layers.Dense(4).compute_output_shape((None, 5, 3)) == (None, 5, 4)


def test_symbolic_tensor_has_no_truth_value():
    with pytest.raises(TypeError, match="no truth value"):
        bool(Input(shape=(2,)))


def test_layer_input_before_call():
    with pytest.raises(AttributeError, match="not been called"):
        layers.Dense(2).output


# ----- names ------------------------------------------------------------------------------------------


def test_snake_case_names():
    assert to_snake_case("BatchNormalization") == "batch_normalization"
    assert to_snake_case("Dense") == "dense"
    assert to_snake_case("Conv2D") == "conv2d"


def test_unique_names_and_explicit_names():
    lamina.backend.clear_session()
    first, second = layers.Dense(1), layers.Dense(1)
    named = layers.Dense(1, name="head")
    assert (first.name, second.name, named.name) == ("dense", "dense_1", "head")
    Linear = make_linear(lamina)
    assert Linear().name == "linear"
    inp = Input(shape=(2,))
    assert inp.name == "input_layer"
    model = Model(inp, layers.Dense(1)(inp))
    assert model.name == "functional" and isinstance(model, Functional)


# ----- losses ----------------------------------------------------------------------------------------


def test_add_loss_and_activity_regularizer():
    class Penalized(Layer):
        def call(self, inputs):
            self.add_loss(0.5 * (inputs**2).sum())
            return inputs

    layer = Penalized()
    layer(np.full((2, 2), 2.0))
    assert [float(v) for v in layer.losses] == [8.0]
    layer(np.ones((1, 1)))
    assert [float(v) for v in layer.losses] == [0.5]  # reset each eager call

    reg = layers.Dense(1, kernel_initializer="ones", activity_regularizer="l2")
    reg(np.ones((2, 3)))
    # activity penalty = 0.01 * sum(y**2) / batch: y = 3 for both rows
    assert float(reg.losses[0]) == pytest.approx(0.01 * 18 / 2)


def test_a_layer_without_call_raises_like_keras(keras):
    """Keras's base `call` raises; returning the input unchanged would hide a forgotten `call`."""
    for base in (keras.layers.Layer, Layer):
        class NoCall(base):
            pass

        with pytest.raises(NotImplementedError, match="does not have a `call(\\(\\))?` method implemented"):
            NoCall()(np.ones((2, 3), "float32"))
