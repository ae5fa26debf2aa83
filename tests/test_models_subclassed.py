"""Subclassed models (`class M(Model)` with `call`), checked against real Keras 3."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import Model, Sequential, clone_model

RNG = np.random.default_rng(2)
XA = RNG.normal(size=(4, 3)).astype("float32")
XB = RNG.normal(size=(4, 5)).astype("float32")


def make_multi(lib):
    """Two inputs as a tuple, list or dict; outputs ({"cls", "reg"}, hidden)."""

    class Multi(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.enc_a = lib.layers.Dense(4, activation="relu")
            self.enc_b = lib.layers.Dense(4, activation="tanh")
            self.blocks = [lib.layers.Dense(4, activation="relu"), lib.layers.Dense(4)]
            self.cls_head = lib.layers.Dense(3, activation="softmax")
            self.reg_head = lib.layers.Dense(1)

        def call(self, inputs, training=None):
            if isinstance(inputs, dict):
                a, b = inputs["a"], inputs["b"]
            else:
                a, b = inputs
            h = self.enc_a(a) + self.enc_b(b)
            for block in self.blocks:
                h = block(h)
            return {"cls": self.cls_head(h), "reg": self.reg_head(h)}, h

    return Multi()


@pytest.fixture(scope="module")
def keras_multi(keras):
    model = make_multi(keras)
    model((XA, XB))
    return model


@pytest.fixture()
def multi(keras_multi):
    model = make_multi(lamina)
    model((XA, XB))
    model.set_weights(keras_multi.get_weights())
    return model


def _assert_same(got, expected):
    got_dict, got_h = got
    exp_dict, exp_h = expected
    assert set(got_dict) == {"cls", "reg"}
    assert got_dict["cls"].shape == (4, 3) and got_dict["reg"].shape == (4, 1)
    for key in got_dict:
        np.testing.assert_allclose(np.asarray(got_dict[key]), np.asarray(exp_dict[key]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_h), np.asarray(exp_h), atol=1e-5)


@pytest.mark.parametrize("pack", [tuple, list, lambda ab: {"a": ab[0], "b": ab[1]}], ids=["tuple", "list", "dict"])
def test_multi_input_output_matches_keras(keras_multi, multi, pack):
    inputs = pack((XA, XB))
    _assert_same(multi(inputs), keras_multi(inputs))


def test_weights_and_counts_match_keras(keras_multi, multi):
    assert multi.count_params() == keras_multi.count_params() == 3 * 4 + 4 + 5 * 4 + 4 + 2 * 20 + 15 + 5
    assert [w.shape for w in multi.get_weights()] == [tuple(w.shape) for w in keras_multi.get_weights()]
    assert len(multi.layers) == len(keras_multi.layers) == 6


def test_build_input_shape_single_input(keras):
    def make(lib):
        class Net(lib.Model):
            def __init__(self):
                super().__init__()
                self.hidden = lib.layers.Dense(5, activation="relu")
                self.out = lib.layers.Dense(2)

            def call(self, x):
                return self.out(self.hidden(x))

        return Net()

    ours, theirs = make(lamina), make(keras)
    assert not ours.built
    ours.build((None, 6))
    # Keras 3's Model.build marks a subclassed model built without creating its sublayers'
    # weights (it warns); lamina traces `call` symbolically, as tf.keras did. Build Keras on data.
    x = RNG.normal(size=(3, 6)).astype("float32")
    theirs(x)
    assert ours.built
    assert ours.count_params() == theirs.count_params() == 6 * 5 + 5 + 5 * 2 + 2
    assert ours.output_shape == (None, 2)
    lines = []
    ours.summary(print_fn=lines.append)
    assert "Total params: 47" in "\n".join(lines)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)


def test_build_with_dict_of_shapes():
    model = make_multi(lamina)
    model.build({"a": (None, 3), "b": (None, 5)})
    assert model.built
    assert [w.shape for w in model.get_weights()][:4] == [(3, 4), (4,), (5, 4), (4,)]
    out, h = model({"a": XA, "b": XB})
    assert out["reg"].shape == (4, 1) and h.shape == (4, 4)


def test_build_error_names_the_problem():
    class Bad(Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Bad()
    model.d.build((None, 8))
    with pytest.raises(ValueError, match="dense.*8 features.*3\\)"):
        model.build((None, 3))
    assert not model.built


def test_model_without_call_is_explained():
    class NoCall(Model):
        pass

    with pytest.raises(NotImplementedError, match="no `call` method"):
        NoCall()(np.ones((1, 2)))


def test_nested_sequential_and_freezing_inside_subclass():
    class Wrapper(Model):
        def __init__(self):
            super().__init__()
            self.body = Sequential([layers.Dense(4, activation="relu"), layers.Dense(4)])
            self.head = layers.Dense(1)

        def call(self, x, training=None):
            return self.head(self.body(x))

    model = Wrapper()
    model(XA)
    assert model.count_params() == (3 * 4 + 4) + (4 * 4 + 4) + 5
    assert len(model.trainable_weights) == 6
    model.body.trainable = False
    assert len(model.trainable_weights) == 2
    assert len(model.non_trainable_weights) == 4
    assert [v.shape for v in model.trainable_variables] == [(4, 1), (1,)]


def test_get_config_required_for_cloning_subclass():
    with pytest.raises(NotImplementedError, match="get_config"):
        make_multi(lamina).get_config()

    class Configurable(Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d = layers.Dense(units)

        def call(self, x):
            return self.d(x)

        def get_config(self):
            return {"units": self.units}

    model = Configurable(units=7)
    model(XA)
    clone = clone_model(model)
    assert isinstance(clone, Configurable) and clone.units == 7
    clone(XA)
    assert clone.count_params() == model.count_params() == 3 * 7 + 7


def test_training_flag_reaches_sublayers():
    class Dropper(Model):
        def __init__(self):
            super().__init__()
            self.drop = layers.Dropout(0.5)

        def call(self, x, training=None):
            return self.drop(x)

    model = Dropper()
    ones = np.ones((2, 40), "float32")
    np.testing.assert_array_equal(np.asarray(model(ones)), ones)
    dropped = np.asarray(model(ones, training=True))
    assert (dropped == 0).any() and set(np.unique(dropped)) <= {0.0, 2.0}
