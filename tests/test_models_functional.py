"""Functional models: graphs of layer calls, checked against real Keras 3."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import Functional, Model, clone_model

RNG = np.random.default_rng(1)
XA = RNG.normal(size=(4, 3)).astype("float32")
XB = RNG.normal(size=(4, 5)).astype("float32")

needs_concatenate = pytest.mark.skipif(
    not hasattr(lamina.layers, "Concatenate"), reason="lamina.layers.Concatenate is not available yet"
)


def _two_by_two(lib, merge=False):
    """Two inputs, two outputs, a shared layer called twice, and a nested functional model."""
    a = lib.Input(shape=(3,), name="in_a")
    b = lib.Input(shape=(5,), name="in_b")
    inner_in = lib.Input(shape=(4,), name="inner_in")
    inner = lib.Model(inner_in, lib.layers.Dense(4, activation="tanh", name="inner_dense")(inner_in), name="inner")
    pa = lib.layers.Dense(4, activation="relu", name="pre_a")(a)
    pb = lib.layers.Dense(4, activation="relu", name="pre_b")(b)
    shared = lib.layers.Dense(4, name="shared")
    sa, sb = shared(pa), shared(pb)
    na = inner(sa)
    head = lib.layers.concatenate([na, sb], name="merge") if merge else na
    out1 = lib.layers.Dense(1, name="out1")(head)
    out2 = lib.layers.Dense(2, activation="softmax", name="out2")(sb)
    return lib.Model(inputs=[a, b], outputs=[out1, out2], name="two_by_two")


def _deep_shared(lib):
    """A shared layer whose first call sits on a shallow branch and second call on a deep one.

    Keras orders layers by depth, so `shared` comes before `pre` in its config:
    its node 0 cannot be rebuilt before `pre`, while node 1 can.
    """
    a = lib.Input(shape=(3,), name="a")
    b = lib.Input(shape=(4,), name="b")
    shared = lib.layers.Dense(4, name="shared")
    out1 = lib.layers.Dense(2, name="z1")(shared(lib.layers.Dense(4, name="pre")(a)))
    x = shared(b)
    for i in range(3):
        x = lib.layers.Dense(4, name=f"t{i}")(x)
    out2 = lib.layers.Dense(2, name="z2")(x)
    return lib.Model([a, b], [out2, out1])  # deep branch first: its depths are assigned last


@pytest.fixture(scope="module")
def keras_two_by_two(keras):
    return _two_by_two(keras)


@pytest.fixture(scope="module")
def keras_deep_shared(keras):
    return _deep_shared(keras)


def _assert_outputs_close(got, expected):
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == tuple(e.shape)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), atol=1e-5)


# ----- parity with Keras -------------------------------------------------------------------


def test_two_inputs_two_outputs_shared_nested_matches_keras(keras_two_by_two):
    ours = _two_by_two(lamina)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in keras_two_by_two.layers]
    assert ours.count_params() == keras_two_by_two.count_params()
    ours.set_weights(keras_two_by_two.get_weights())
    _assert_outputs_close(ours([XA, XB]), keras_two_by_two([XA, XB]))


def test_layer_and_weight_order_matches_keras(keras):
    """Branches of different depth: `model.layers` / `get_weights` follow Keras's order."""

    def build(lib):
        a = lib.Input(shape=(2,), name="a")
        b = lib.Input(shape=(3,), name="b")
        out1 = lib.layers.Dense(1, name="d1")(a)
        out2 = lib.layers.Dense(2, name="d3")(lib.layers.Dense(5, name="d2")(b))
        return lib.Model([a, b], [out1, out2])

    k, ours = build(keras), build(lamina)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in k.layers]
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in k.get_weights()]
    ours.set_weights(k.get_weights())
    x = [RNG.normal(size=(2, 2)).astype("float32"), RNG.normal(size=(2, 3)).astype("float32")]
    _assert_outputs_close(ours(x), k(x))


@needs_concatenate
def test_concatenate_graph_matches_keras(keras):
    k, ours = _two_by_two(keras, merge=True), _two_by_two(lamina, merge=True)
    assert ours.count_params() == k.count_params()
    ours.set_weights(k.get_weights())
    _assert_outputs_close(ours([XA, XB]), k([XA, XB]))


def test_dict_inputs_and_outputs_match_keras(keras):
    def build(lib):
        x = lib.Input(shape=(3,), name="x")
        y = lib.Input(shape=(5,), name="y")
        h = lib.layers.Dense(2, name="hx")(x)
        g = lib.layers.Dense(2, name="hy")(y)
        return lib.Model({"x": x, "y": y}, {"first": lib.layers.Dense(1, name="first")(h),
                                            "second": lib.layers.Dense(3, name="second")(g)})

    k, ours = build(keras), build(lamina)
    for ours_layer in ours.layers:
        ours_layer.set_weights(k.get_layer(ours_layer.name).get_weights())
    inputs = {"y": XB, "x": XA}
    got, expected = ours(inputs), k(inputs)
    assert set(got) == {"first", "second"}
    for key in got:
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(expected[key]), atol=1e-5)
    with pytest.raises(ValueError, match="lacks.*'y'"):
        ours({"x": XA})


def test_model_from_keras_config_with_deep_shared_layer(keras_deep_shared):
    """Keras's config lists `shared` before `pre`; nodes must be rebuilt in their own order."""
    ours = Functional.from_config(keras_deep_shared.get_config())
    assert ours.count_params() == keras_deep_shared.count_params()
    assert [layer.name for layer in ours.layers] == [layer.name for layer in keras_deep_shared.layers]
    ours.set_weights(keras_deep_shared.get_weights())
    x = [XA, RNG.normal(size=(4, 4)).astype("float32")]
    _assert_outputs_close(ours(x), keras_deep_shared(x))


def test_own_config_roundtrip_with_deep_shared_layer():
    model = _deep_shared(lamina)
    clone = Functional.from_config(json.loads(json.dumps(model.get_config())))
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    clone.set_weights(model.get_weights())
    x = [XA, RNG.normal(size=(4, 4)).astype("float32")]
    _assert_outputs_close(clone(x), model(x))


# ----- config, JSON, cloning ---------------------------------------------------------------


def test_get_config_from_config_multi_io_shared():
    model = _two_by_two(lamina)
    config = model.get_config()
    json.dumps(config)
    shared_entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(shared_entry["inbound_nodes"]) == 2
    assert config["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]
    assert config["output_layers"] == [["out1", 0, 0], ["out2", 0, 0]]
    clone = Functional.from_config(config)
    assert len(clone.inputs) == 2 and len(clone.outputs) == 2
    assert clone.count_params() == model.count_params()
    shared = clone.get_layer("shared")
    assert len(shared._inbound_nodes) == 2  # still one layer, called twice
    assert isinstance(clone.get_layer("inner"), Functional)
    clone.set_weights(model.get_weights())
    _assert_outputs_close(clone([XA, XB]), model([XA, XB]))


def test_to_json_model_from_json_and_clone():
    model = _two_by_two(lamina)
    restored = lamina.models.model_from_json(model.to_json())
    assert isinstance(restored, Functional)
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    assert restored.count_params() == model.count_params()
    clone = clone_model(model)
    assert clone.count_params() == model.count_params()
    assert not np.allclose(clone.get_layer("shared").get_weights()[0], model.get_layer("shared").get_weights()[0])
    clone.set_weights(model.get_weights())
    _assert_outputs_close(clone([XA, XB]), model([XA, XB]))


def test_keras_config_loads(keras_two_by_two):
    ours = Functional.from_config(keras_two_by_two.get_config())
    ours.set_weights(keras_two_by_two.get_weights())
    _assert_outputs_close(ours([XA, XB]), keras_two_by_two([XA, XB]))


# ----- errors ------------------------------------------------------------------------------


def test_wrong_number_of_inputs():
    model = _two_by_two(lamina)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \(in_a, in_b\).*called with 1"):
        model([XA])
    with pytest.raises(ValueError, match="expects 2 input"):
        model([XA, XB, XB])


def test_wrong_input_shape():
    model = _two_by_two(lamina)
    with pytest.raises(ValueError, match=r"Input 'in_b'.*\(None, 5\).*\(4, 6\)"):
        model([XA, np.ones((4, 6), "float32")])
    with pytest.raises(ValueError, match=r"Input 'in_a'.*\(None, 3\).*\(4, 3, 1\)"):
        model([XA[..., None], XB])


def test_graph_disconnected():
    a = layers.Input(shape=(3,), name="a")
    b = layers.Input(shape=(3,), name="b_missing")
    out = layers.Dense(1)(layers.Dense(2)(b))
    with pytest.raises(ValueError, match="Graph disconnected.*b_missing"):
        Model(inputs=a, outputs=out)


def test_inputs_must_be_input_tensors():
    a = layers.Input(shape=(3,))
    h = layers.Dense(2)(a)
    with pytest.raises(ValueError, match="keras.Input"):
        Model(inputs=np.ones((1, 3)), outputs=h)
    with pytest.raises(ValueError, match="symbolic"):
        Model(inputs=a, outputs=[])


def test_symbolic_shape_mismatch_is_caught_when_wiring():
    a = layers.Input(shape=(3,))
    dense = layers.Dense(2, name="fixed")
    dense(layers.Input(shape=(7,)))
    with pytest.raises(ValueError, match=r"fixed.*7.*\(None, 3\)"):
        dense(a)


# ----- shapes, layers, custom layers, training flag ------------------------------------------


def test_output_shapes_and_layer_accessors():
    model = _two_by_two(lamina)
    assert model.output_shape == [(None, 1), (None, 2)]
    assert model.get_layer("shared").output_shape == (None, 4)
    assert model.get_layer("inner").output_shape == (None, 4)
    assert model.input_names == ["in_a", "in_b"]
    assert model.output_names == ["out1", "out2"]
    assert [t.shape for t in model.inputs] == [(None, 3), (None, 5)]
    assert model.get_layer(index=0).name == "in_a"


def test_summary_lists_connections():
    model = _two_by_two(lamina)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    assert "shared (Dense)" in text and "inner (Functional)" in text
    shared_row = next(line for line in lines if "shared (Dense)" in line)
    assert shared_row.rstrip().endswith("pre_a[0][0], pre_b[0][0]")  # both calls of the shared layer
    out2_row = next(line for line in lines if "out2 (Dense)" in line)
    assert out2_row.rstrip().endswith("shared[1][0]")
    assert f"Total params: {model.count_params():,}" in text


class Scale(lamina.layers.Layer):
    """y = x * w (+ a non-trainable counter of calls in training), written the Keras way."""

    def __init__(self, init=1.5, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer=lamina.initializers.Constant(self.init),
                                 name="w")

    def call(self, inputs):
        return inputs * self.w

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_custom_layer_in_functional_roundtrip():
    x = layers.Input(shape=(3,))
    out = layers.Dense(2, name="d")(Scale(2.0, name="scale")(x))
    model = Model(x, out)
    assert model.count_params() == 3 + 8
    np.testing.assert_allclose(model.get_layer("scale").get_weights()[0], [2.0, 2.0, 2.0])
    expected = np.asarray(model(XA))
    kernel, bias = model.get_layer("d").get_weights()
    np.testing.assert_allclose(expected, (XA * 2.0) @ kernel + bias, atol=1e-5)
    clone = Functional.from_config(model.get_config(), custom_objects={"Scale": Scale})
    assert isinstance(clone.get_layer("scale"), Scale)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(XA)), expected, atol=1e-6)


def test_training_flag_reaches_dropout_in_graph():
    x = layers.Input(shape=(50,))
    model = Model(x, layers.Dropout(0.5)(x))
    ones = np.ones((2, 50), "float32")
    np.testing.assert_array_equal(np.asarray(model(ones)), ones)
    dropped = np.asarray(model(ones, training=True))
    assert set(np.unique(dropped)) <= {0.0, 2.0} and (dropped == 0).any()


def test_keras_config_dropout_follows_model_training_flag(keras):
    """Keras records `training: False` on Dropout calls in configs; the model's flag must win."""
    x = keras.Input(shape=(50,))
    model = Functional.from_config(keras.Model(x, keras.layers.Dropout(0.5)(x)).get_config())
    ones = np.ones((2, 50), "float32")
    np.testing.assert_array_equal(np.asarray(model(ones)), ones)
    dropped = np.asarray(model(ones, training=True))
    assert set(np.unique(dropped)) <= {0.0, 2.0} and (dropped == 0).any()


def test_single_output_in_a_list_is_unpacked_like_keras(keras):
    def build(lib):
        x = lib.Input(shape=(3,), name="x")
        return lib.Model([x], [lib.layers.Dense(2, name="d")(x)])

    k, ours = build(keras), build(lamina)
    ours.set_weights(k.get_weights())
    got, expected = ours(XA), k(XA)
    assert not isinstance(got, (list, tuple)) and not isinstance(expected, (list, tuple))
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-5)
    assert ours.output_shape == k.output_shape == (None, 2)
    assert ours.input_shape == k.input_shape == (None, 3)


def test_multi_output_layer_in_graph_and_config():
    class Two(lamina.layers.Layer):
        def call(self, inputs):
            return inputs, 2.0 * inputs

    x = layers.Input(shape=(3,))
    p, q = Two(name="two")(x)
    model = Model(x, [layers.Dense(1, name="dp")(p), layers.Dense(2, name="dq")(q)])
    config = json.loads(json.dumps(model.get_config()))
    dq = next(e for e in config["layers"] if e["name"] == "dq")
    assert dq["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["two", 0, 1]
    clone = Functional.from_config(config, custom_objects={"Two": Two})
    clone.set_weights(model.get_weights())
    kernel, bias = model.get_layer("dq").get_weights()
    out = model(XA)
    np.testing.assert_allclose(np.asarray(out[1]), (2.0 * XA) @ kernel + bias, atol=1e-5)
    _assert_outputs_close(clone(XA), out)


def test_to_json_is_loadable_by_keras(keras, keras_two_by_two):
    ours = _two_by_two(lamina)
    theirs = keras.models.model_from_json(ours.to_json())
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in ours.layers]
    theirs.set_weights(ours.get_weights())
    _assert_outputs_close(ours([XA, XB]), theirs([XA, XB]))


def _topology(config):
    """(layer name, class, per call: the keras_history of each tensor argument), plus the graph ends."""
    config = json.loads(json.dumps(config))

    def histories(tree):
        if isinstance(tree, dict) and tree.get("class_name") == "__keras_tensor__":
            return [tree["config"]["keras_history"]]
        items = tree.values() if isinstance(tree, dict) else tree if isinstance(tree, list) else []
        return [h for item in items for h in histories(item)]

    layers_ = [(e["name"], e["class_name"], [histories(node["args"]) for node in e["inbound_nodes"]])
               for e in config["layers"]]
    return layers_, config["input_layers"], config["output_layers"]


@pytest.mark.parametrize("build", [_two_by_two, _deep_shared], ids=["two_by_two", "deep_shared"])
def test_graph_config_topology_matches_keras(keras, build):
    assert _topology(build(lamina).get_config()) == _topology(build(keras).get_config())


def test_shared_layer_node_indices_follow_call_order(keras):
    """Node i of a layer is its i-th call, even when the outputs list visits a later call first."""

    def build(lib):
        a = lib.Input(shape=(3,), name="a")
        b = lib.Input(shape=(3,), name="b")
        shared = lib.layers.Dense(3, name="shared")
        from_b = shared(b)  # call 0
        from_a = shared(lib.layers.Dense(3, name="pre")(a))  # call 1
        return lib.Model([a, b], [lib.layers.Dense(1, name="oa")(from_a), lib.layers.Dense(1, name="ob")(from_b)])

    ours = build(lamina)
    assert _topology(ours.get_config()) == _topology(build(keras).get_config())
    shared_entry = next(e for e in ours.get_config()["layers"] if e["name"] == "shared")
    assert shared_entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["b", 0, 0]
