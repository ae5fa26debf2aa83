"""lamina -> file -> lamina: every model kind and format, resumed training, weights matched by
structure, custom objects, JSON, and config round trips of every serializable built-in."""

import inspect
import json

import h5py
import numpy as np
import pytest

import lamina
from lamina.backend import registry, tracking

RNG = np.random.default_rng(1)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = (X[:, :1] - X[:, 1:2]).astype("float32")
FORMATS = ["keras", "h5"]


def sequential():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.BatchNormalization(), lamina.layers.Dense(1)], name="seq")
    model.compile(lamina.optimizers.Adam(0.02), "mse", metrics=["mae"])
    return model


def functional_shared_nested():
    a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
    shared = lamina.layers.Dense(3, name="shared")
    inner_in = lamina.Input((3,))
    inner = lamina.Model(inner_in, lamina.layers.Dense(2)(inner_in), name="inner")
    stack = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], name="stack")
    out = lamina.layers.Add()([inner(shared(a)), stack(shared(b))])
    model = lamina.Model({"a": a, "b": b}, {"sum": out, "left": inner(shared(a))})
    model.compile("rmsprop", {"sum": "mse", "left": lamina.losses.Huber(delta=0.5)}, metrics={"sum": ["mae"]})
    return model


@lamina.saving.register_keras_serializable(package="RoundTrip")
class Blocks(lamina.Model):
    """A subclassed model with a get_config and sublayers in attributes and nested lists."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense1 = lamina.layers.Dense(units)
        self.blocks = [lamina.layers.Dense(2), [lamina.layers.Dense(2)]]
        self.head = lamina.layers.Dense(1)

    def call(self, x):
        return self.head(self.blocks[1][0](self.blocks[0](self.dense1(x))))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def subclassed():
    model = Blocks(units=5)
    model.compile("adam", "mse")
    return model


def data_for(model):
    if isinstance(model.input_shape, list):  # the two-input functional model
        return {"a": X, "b": X[::-1]}, {"sum": Y[:, :1].repeat(2, 1), "left": Y.repeat(2, 1)}
    return X, Y


def predictions(model, x):
    out = model.predict(x, verbose=0)
    if isinstance(out, dict):
        return [out[k] for k in sorted(out)]
    return out if isinstance(out, list) else [out]


@pytest.mark.parametrize("build", [sequential, functional_shared_nested, subclassed])
@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_keeps_architecture_weights_compile_and_optimizer(build, ext, tmp_path):
    model = build()
    x, y = data_for(model)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / f"m.{ext}"
    model.save(path)
    loaded = lamina.models.load_model(path)
    assert type(loaded) is type(model) and loaded.name == model.name
    assert loaded.get_config() == model.get_config()
    for a, b in zip(predictions(loaded, x), predictions(model, x)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert loaded.compiled and int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 6
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    uncompiled = lamina.models.load_model(path, compile=False)
    assert not uncompiled.compiled
    for a, b in zip(predictions(uncompiled, x), predictions(model, x)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def _twin_models():
    first = sequential()
    second = sequential()
    second.set_weights(first.get_weights())
    return first, second


@pytest.mark.parametrize("how", ["keras", "h5", "weights"])
def test_resumed_training_follows_the_uninterrupted_loss_curve(how, tmp_path):
    """save -> load -> fit gives the same losses and weights as one fit (optimizer state and iterations kept)."""
    straight, interrupted = _twin_models()
    full = straight.fit(X, Y, epochs=6, batch_size=8, shuffle=False, verbose=0).history["loss"]
    head = interrupted.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    if how == "weights":
        interrupted.save_weights(tmp_path / "ckpt.weights.h5")
        resumed = sequential()  # compiled anew: load_weights builds its optimizer and restores the state
        resumed.load_weights(tmp_path / "ckpt.weights.h5")
    else:
        interrupted.save(tmp_path / f"ckpt.{how}")
        resumed = lamina.models.load_model(tmp_path / f"ckpt.{how}")
    assert int(resumed.optimizer.iterations) == 18
    tail = resumed.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(head + tail, full, rtol=1e-6)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_load_weights_into_a_model_that_kept_training_rewinds_it(tmp_path):
    """The engine's cached state on the device gives way to loaded weights and optimizer state."""
    model = sequential()
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    model.save_weights(tmp_path / "at2.weights.h5")
    twin = sequential()
    twin.set_weights(model.get_weights())
    twin.load_weights(tmp_path / "at2.weights.h5")
    expected = twin.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    model.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0)  # moves on
    model.load_weights(tmp_path / "at2.weights.h5")  # and back
    assert int(model.optimizer.iterations) == 12
    again = model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(again, expected, rtol=1e-6)


def test_save_options_and_errors(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match="'\\*.keras'"):
        model.save(tmp_path / "m.pkl")
    with pytest.raises(ValueError, match="save_weights"):
        model.save(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match=".weights.h5"):
        model.save_weights(tmp_path / "m.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "no" / "such" / "m.keras")
    model.save(tmp_path / "plain.h5", include_optimizer=False)
    with h5py.File(tmp_path / "plain.h5") as f:
        assert "optimizer_weights" not in f and "training_config" not in f.attrs
    assert not lamina.models.load_model(tmp_path / "plain.h5").compiled
    unbuilt = lamina.Sequential([lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        unbuilt.save_weights(tmp_path / "u.weights.h5")
    with pytest.raises(ValueError, match="not built"):
        unbuilt.load_weights(tmp_path / "u.weights.h5")


def test_saving_h5_does_not_drop_the_optimizer_from_the_compile_config(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.h5")  # Keras 3's .h5 writer pops "optimizer" from the model's own compile config
    assert model.get_compile_config()["optimizer"]["class_name"] == "Adam"


# ----- weights files -------------------------------------------------------------------------------


def test_weights_file_is_keras_layout_and_loads_by_structure(tmp_path):
    model = sequential()
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        assert f["vars"].attrs["name"] == "seq"
        assert f["layers/dense/vars"].attrs["name"] == model.layers[0].name
        assert f["layers/batch_normalization/vars/3"].shape == (8,)
        assert f["optimizer/vars"].attrs["name"] == model.optimizer.name
        assert len(f["optimizer/vars"]) == len(model.optimizer.variables)
        datasets = set()
        f.visititems(lambda name, obj: datasets.add(name) if isinstance(obj, h5py.Dataset) else None)
    assert datasets == set(tracking.variables_by_path(model))  # the named walk's paths, nothing else
    other = sequential()  # other layer names (dense_2, ...): matched by structure, not names
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    assert int(other.optimizer.iterations) == int(model.optimizer.iterations)


def _mismatched(units):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.BatchNormalization(), lamina.layers.Dense(units)])
    return model


def test_weights_mismatch_names_the_first_layer_and_both_shapes_and_changes_nothing(tmp_path):
    model = sequential()
    model.save_weights(tmp_path / "w.weights.h5")
    other = _mismatched(3)
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError) as info:
        other.load_weights(tmp_path / "w.weights.h5")
    message = str(info.value)
    assert "w.weights.h5" in message and other.layers[-1].name in message
    assert "(8, 3)" in message and "(8, 1)" in message
    for a, b in zip(other.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="skipping"):
        other.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].get_weights()[0], model.layers[0].get_weights()[0])


def test_weights_for_more_or_fewer_layers_are_refused(tmp_path):
    small = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8), lamina.layers.Dense(1)])
    big = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8), lamina.layers.Dense(1),
                             lamina.layers.Dense(1)])
    small.save_weights(tmp_path / "small.weights.h5")
    big.save_weights(tmp_path / "big.weights.h5")
    with pytest.raises(ValueError, match="no weights for layer"):
        big.load_weights(tmp_path / "small.weights.h5")
    with pytest.raises(ValueError, match="no place for"):
        small.load_weights(tmp_path / "big.weights.h5")


def test_optimizer_state_for_another_optimizer_is_skipped_with_a_warning(tmp_path):
    model = sequential()
    model.fit(X, Y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    other = sequential()
    other.compile("sgd", "mse")
    other.fit(X, Y, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="optimizer state was not loaded"):
        other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(other.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)


def test_legacy_h5_weights_by_order_and_by_name(tmp_path):
    model = sequential()
    model.save(tmp_path / "m.h5")
    other = sequential()
    other.load_weights(tmp_path / "m.h5")
    np.testing.assert_allclose(other.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    renamed = sequential()  # its layers have other names: by_name finds none of them
    before = renamed.get_weights()
    renamed.load_weights(tmp_path / "m.h5", by_name=True)
    for a, b in zip(renamed.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="by_name applies to legacy"):
        renamed.save_weights(tmp_path / "w.weights.h5") or renamed.load_weights(tmp_path / "w.weights.h5",
                                                                               by_name=True)


# ----- custom objects, JSON ------------------------------------------------------------------------


class Scale(lamina.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def scaled_loss(y_true, y_pred):
    return lamina.losses.mean_squared_error(y_true, y_pred) * 2.0


def test_custom_layer_and_loss_need_custom_objects(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), Scale(3.0), lamina.layers.Dense(1)])
    model.compile("adam", scaled_loss)
    model.fit(X, Y, epochs=1, verbose=0)
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match="Unknown layer 'Scale'.*custom_objects") as info:
        lamina.models.load_model(tmp_path / "c.keras")
    assert "c.keras" in str(info.value)
    loaded = lamina.models.load_model(tmp_path / "c.keras",
                                      custom_objects={"Scale": Scale, "scaled_loss": scaled_loss})
    assert loaded.layers[0].factor == 3.0
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-6)
    with lamina.saving.custom_object_scope({"Scale": Scale, "scaled_loss": scaled_loss}):
        assert isinstance(lamina.models.load_model(tmp_path / "c.keras").layers[0], Scale)


def test_to_json_and_model_from_json():
    for build in (sequential, functional_shared_nested):
        model = build()
        rebuilt = lamina.models.model_from_json(model.to_json())
        assert rebuilt.get_config() == model.get_config()
        assert [w.shape for w in rebuilt.get_weights()] == [w.shape for w in model.get_weights()]
    blocks = subclassed()
    rebuilt = lamina.models.model_from_json(blocks.to_json())
    assert isinstance(rebuilt, Blocks) and rebuilt.units == 5


@pytest.mark.parametrize("index", [(slice(None), slice(1, 3)), (Ellipsis, slice(None, None, 2)),
                                   (slice(None), 0), (slice(None), slice(-2, None), Ellipsis)])
def test_slicing_in_a_functional_graph_is_saved_as_keras_writes_it(index, tmp_path):
    inputs = lamina.Input((4, 3))
    model = lamina.Model(inputs, lamina.layers.Dense(2)(inputs)[index])
    nodes = json.dumps(model.get_config()["layers"][-1]["inbound_nodes"])
    assert '"__slice__"' in nodes and ('"__ellipsis__"' in nodes) == (Ellipsis in index)
    model.save(tmp_path / "sliced.keras")
    again = lamina.models.load_model(tmp_path / "sliced.keras")
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert again.output_shape == model.output_shape

# ----- config round trips of every built-in ----------------------------------------------------------

# Constructor arguments for the built-ins that have required ones.
REQUIRED = {
    "Activation": {"activation": "relu"}, "Dense": {"units": 3}, "Embedding": {"input_dim": 5, "output_dim": 2},
    "InputLayer": {"shape": (4,)}, "Lambda": {"function": lamina.activations.relu}, "Dot": {"axes": 1},
    "Rescaling": {"scale": 0.5}, "Dropout": {"rate": 0.2}, "AlphaDropout": {"rate": 0.2},
    "GaussianDropout": {"rate": 0.2},
    "GaussianNoise": {"stddev": 0.1}, "SpatialDropout1D": {"rate": 0.2}, "SpatialDropout2D": {"rate": 0.2},
    "SpatialDropout3D": {"rate": 0.2}, "Permute": {"dims": (2, 1)}, "RepeatVector": {"n": 2},
    "Reshape": {"target_shape": (2, 2)}, "LossFunctionWrapper": {"fn": lamina.losses.mean_squared_error},
    "MeanMetricWrapper": {"fn": lamina.losses.mean_absolute_error}, "PrecisionAtRecall": {"recall": 0.5},
    "RecallAtPrecision": {"precision": 0.5}, "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5}, "OpLayer": {"op": "relu"},
    **{f"{kind}Pooling{n}D": {"pool_size": 2} for kind in ("Max", "Average") for n in (1, 2, 3)},
    **{name.format(n): {"filters": 2, "kernel_size": 3} for name in ("Conv{}D", "SeparableConv{}D", "Conv{}DTranspose")
       for n in (1, 2, 3)},
    **{f"DepthwiseConv{n}D": {"kernel_size": 3} for n in (1, 2, 3)},
    **{name: {"units": 2} for name in ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell")},
    **{name: {"height": 4, "width": 5} for name in ("Resizing", "CenterCrop", "RandomCrop")},
    **{name: {"factor": 0.2} for name in ("RandomRotation", "RandomContrast", "RandomBrightness")},
    "RandomZoom": {"height_factor": 0.2}, "RandomTranslation": {"height_factor": 0.2, "width_factor": 0.1},
}
#: Required arguments that are layers, made afresh for each construction.
FRESH = {
    "RNN": lambda: {"cell": lamina.layers.LSTMCell(2)},
    "StackedRNNCells": lambda: {"cells": [lamina.layers.SimpleRNNCell(2), lamina.layers.GRUCell(3)]},
    "Bidirectional": lambda: {"layer": lamina.layers.GRU(2)},
    "TimeDistributed": lambda: {"layer": lamina.layers.Dense(2)},
}
# Abstract bases and models (models are covered by the tests above).
SKIP = {"Layer", "Model", "Functional", "Sequential", "Regularizer", "Constraint", "Initializer", "Loss", "Metric"}
KINDS = ["layer", "loss", "metric", "optimizer", "initializer", "regularizer", "constraint"]


def _classes(kind):
    import lamina.losses  # noqa: F401 - registers its built-ins
    import lamina.metrics  # noqa: F401
    import lamina.optimizers  # noqa: F401

    found = {}
    for cls in registry.builtins(kind).values():
        if inspect.isclass(cls) and cls.__name__ not in SKIP:
            found[cls.__name__] = cls
    return sorted(found.values(), key=lambda c: c.__name__)


@pytest.mark.parametrize("kind", KINDS)
def test_every_builtin_config_survives_json_and_the_registry(kind):
    classes = _classes(kind)
    assert len(classes) >= {"layer": 30, "loss": 20, "metric": 35, "optimizer": 10}.get(kind, 4)
    for cls in classes:
        obj = cls(**(FRESH[cls.__name__]() if cls.__name__ in FRESH else REQUIRED.get(cls.__name__, {})))
        config = obj.get_config()
        stored = json.loads(json.dumps(registry.serialize_keras_object(obj)))
        assert stored["class_name"] == cls.__name__
        again = registry.deserialize_keras_object(stored, None, kind)
        assert type(again) is cls, cls.__name__
        assert json.loads(json.dumps(again.get_config())) == json.loads(json.dumps(config)), cls.__name__


# ----- optimizer layouts ------------------------------------------------------------------------------


def test_optimizer_state_layouts_of_keras3_and_tf_keras2():
    from lamina.saving import optimizer_state

    model = sequential()
    model.fit(X, Y, epochs=1, verbose=0)
    opt = model.optimizer
    shapes = [v.shape for v in opt.variables]
    assert optimizer_state.match(opt, shapes) == list(zip(opt.variables, range(len(shapes))))  # Keras 3 / lamina
    assert optimizer_state.match(opt, shapes[:2]) == list(zip(opt.variables[:2], range(2)))  # saved unbuilt
    without_lr = [shapes[0]] + shapes[2:]  # tf.keras 2: no learning-rate variable
    assert [i for _, i in optimizer_state.match(opt, without_lr)] == [0] + list(range(1, len(without_lr)))
    # tf.keras 2's legacy optimizers group the slots by kind ("Adam/<param>/m:0" for all, then "v"): by name.
    params = [v.path for v in model.trainable_variables]
    names = ["iter"] + [f"Adam/{p}/m:0" for p in params] + [f"Adam/{p}/v:0" for p in params]
    legacy_shapes = [()] + [v.shape for v in model.trainable_variables] * 2
    pairs = optimizer_state.match(opt, legacy_shapes, names)
    by_variable = {v.name: names[i] for v, i in pairs}
    assert by_variable[f"{params[0].replace('/', '_')}_velocity"] == f"Adam/{params[0]}/v:0"
    assert by_variable["iteration"] == "iter"
    with pytest.raises(ValueError, match="has 14 variables for this model, but the file holds 5"):
        optimizer_state.match(opt, shapes[:5])
    wrong = list(shapes)
    wrong[3] = (7,)
    with pytest.raises(ValueError, match=r"has shape \(4, 8\), but the saved value 3 has shape \(7,\)"):
        optimizer_state.match(opt, wrong)


def test_a_zero_learning_rate_is_saved_and_loaded_like_any_other(tmp_path):
    """(Found by the fuzz test: a learning-rate Variable holding 0.0 dropped out of `optimizer.variables`.)"""
    model = sequential()
    model.compile(lamina.optimizers.SGD(0.0), "mse")
    model.fit(X, Y, epochs=1, verbose=0)
    assert len(model.optimizer.variables) == 2
    model.save(tmp_path / "frozen.keras")
    loaded = lamina.models.load_model(tmp_path / "frozen.keras")
    assert float(loaded.optimizer.learning_rate) == 0.0 and int(loaded.optimizer.iterations) == 2
