"""Program keys: sound both ways. What changes a program changes its key (exact callables, whole arrays,
every config argument, the names a program returns); what does not (auto-generated names) does not,
so identical models share their programs; user code gets no key."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import jax.scipy.special
import jax.scipy.stats
import numpy as np
import pytest

import lamina as keras
from lamina.backend import program_store, programs, registry
from lamina.training import program_key as pk
from lamina.training.program_key import anonymous, exact, program_key

SIG = programs.signature((np.zeros((8, 4), np.float32), 0))
X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.float32)


def mlp(units=5, activation="relu", loss="binary_crossentropy", optimizer=None, metrics=("accuracy",), extra=None,
        name=None, fitted=True):
    """A small compiled model with auto names, prepared for (X, Y) so its log names are known (as in `fit`)."""
    layers = [keras.Input(shape=(4,)), keras.layers.Dense(units, activation=activation)]
    layers += list(extra or []) + [keras.layers.Dense(1, activation="sigmoid")]
    model = keras.Sequential(layers, name=name)
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), loss=loss, metrics=list(metrics))
    if fitted:
        model._engine.prepare(X, Y)
    return model


def key(model, name=("train", 7, 8, False), sig=SIG):
    return program_key(model, name, sig)


@pytest.fixture(scope="module")
def base_key():
    return key(mlp())


def test_a_model_of_lamina_parts_has_a_stable_key(base_key):
    assert isinstance(base_key, str) and len(base_key) == 64
    assert key(mlp()) == base_key


def test_auto_generated_and_given_names_are_not_in_the_key(base_key):
    named = mlp(name="my_model", optimizer=keras.optimizers.Adam(1e-3, name="my_adam"))
    for i, layer in enumerate(named.layers):
        layer.name = f"renamed_{i}"
    assert key(named) == base_key


@pytest.mark.parametrize("change", [
    lambda: mlp(units=6),
    lambda: mlp(activation="tanh"),
    lambda: mlp(activation=jax.nn.softmax),
    lambda: mlp(loss="mse"),
    lambda: mlp(metrics=("accuracy", "auc")),
    lambda: mlp(metrics=(keras.metrics.AUC(name="auc_roc"),)),  # the log key differs
    lambda: mlp(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0)),
    lambda: mlp(optimizer=keras.optimizers.SGD(1e-3)),
    lambda: mlp(extra=[keras.layers.Dropout(0.5)]),
    lambda: mlp(loss=keras.losses.BinaryCrossentropy(dtype="float16")),  # not in Keras's config: in the key
], ids=["units", "activation", "jax-activation", "loss", "metrics", "metric-name", "clipnorm", "optimizer",
        "dropout", "loss-dtype"])
def test_what_changes_the_program_changes_the_key(change, base_key):
    assert key(change()) != base_key


def test_predicting_and_training_keep_the_key():
    model = mlp()
    before = key(model)
    model.predict(np.zeros((2, 4), np.float32), verbose=0)
    model.fit(np.zeros((8, 4), np.float32), np.zeros((8,), np.float32), epochs=1, verbose=0)
    assert key(model) == before


def test_freezing_a_layer_or_another_signature_or_step_count_changes_the_key(base_key):
    frozen = mlp()
    frozen.layers[0].trainable = False
    assert key(frozen) != base_key
    assert key(mlp(), sig=programs.signature((np.zeros((9, 4), np.float32), 0))) != base_key
    assert key(mlp(), name=("train", 8, 8, False)) != base_key


def test_weights_and_a_float_learning_rate_are_inputs_not_part_of_the_key(base_key):
    model = mlp()
    model.set_weights([w + 1.0 for w in model.get_weights()])
    model.optimizer.learning_rate = 0.5
    assert key(model) == base_key


# ----- exact callables and arrays -------------------------------------------------------------------


@pytest.mark.parametrize("first, second", [
    (jax.nn.softmax, jax.scipy.special.softmax),
    (jax.scipy.stats.norm.cdf, jax.scipy.stats.logistic.cdf),
], ids=["softmax", "cdf"])
def test_functions_with_the_same_bare_name_get_different_keys(first, second):
    assert first.__name__ == second.__name__
    assert keras.activations.serialize(first) == keras.activations.serialize(second)  # Keras's lossy form
    assert key(mlp(activation=first)) != key(mlp(activation=second))
    assert key(mlp(extra=[keras.layers.Lambda(first)])) != key(mlp(extra=[keras.layers.Lambda(second)]))


def test_configs_written_to_files_keep_keras_form():
    cfg = keras.layers.Dense(3, activation=jax.nn.softmax).get_config()
    assert cfg["activation"] == {"module": "builtins", "class_name": "function", "config": "softmax",
                                 "registered_name": "function"}
    with registry.exact_names():
        cfg = keras.layers.Dense(3, activation=jax.nn.softmax).get_config()
    assert cfg["activation"] == {"function": "jax._src.nn.functions:softmax"}


def test_lambda_arguments_are_keyed_by_their_whole_content():
    w = np.zeros((5, 300), np.float32)
    other = w.copy()
    other[2, 150] = 1.0
    assert repr(w) == repr(other)  # what the old key used: NumPy abbreviates arrays over 1,000 elements

    def with_argument(b):
        return mlp(extra=[keras.layers.Lambda(jnp.matmul, arguments={"b": b})])

    assert key(with_argument(w)) != key(with_argument(other))
    assert key(with_argument(w)) == key(with_argument(w.copy()))


@pytest.mark.parametrize("function", [
    lambda x: x * 2,
    functools.partial(jax.nn.gelu, approximate=False),
    jnp.tanh.__call__,
], ids=["lambda", "partial", "method"])
def test_code_that_cannot_be_named_exactly_gets_no_key(function):
    assert key(mlp(extra=[keras.layers.Lambda(function)], fitted=False)) is None


def test_exact_tells_apart_what_json_would_merge():
    def text(value):
        return json.dumps(exact(value))

    assert text((1, 2)) != text([1, 2])
    assert len({text(1), text(1.0), text(True)}) == 3
    assert text(0.0) != text(-0.0)
    assert text({"a": 1}) != text([["a", 1]])
    assert text(np.float32(0.5)) != text(0.5)
    assert text(np.zeros(3, np.float32)) != text(np.zeros(3, np.float64))
    assert text(np.zeros((2, 3))) != text(np.zeros((3, 2)))
    with pytest.raises(registry.NotExact):
        exact(object())
    with pytest.raises(registry.NotExact):
        exact({1: "a"})
    with pytest.raises(registry.NotExact):
        exact(lambda x: x)


def test_exact_names_lead_back_to_the_object():
    assert registry.exact_name(jax.nn.relu) == "jax._src.nn.functions:relu"
    assert registry.exact_name(keras.layers.Dense) == "lamina.layers.core:Dense"

    def local(x):
        return x

    for fn in (local, lambda x: x, functools.partial(jnp.add, 1)):
        with pytest.raises(registry.NotExact):
            registry.exact_name(fn)


# ----- names out, structure kept --------------------------------------------------------------------


def _functional(swap, out="r"):
    """a -> (p, q) -> r, where r reads p or q: two wirings whose layers are listed alike."""
    inputs = keras.Input(shape=(4,))
    p = keras.layers.Dense(3, name="p")(inputs)
    q = keras.layers.Dense(3, name="q")(inputs)
    outputs = keras.layers.Dense(1, name=out)(q if swap else p)
    model = keras.Model(inputs, [outputs, p])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_functional_wiring_is_in_the_key_by_position():
    assert key(_functional(False)) != key(_functional(True))
    assert key(_functional(False)) == key(_functional(False))


def test_anonymous_maps_layer_references_to_positions():
    config = {"name": "m", "layers": [
        {"class": "In", "config": {"name": "x"}, "name": "x", "inbound_nodes": []},
        {"class": "D", "config": {"name": "y", "units": 1}, "name": "y", "inbound_nodes": [
            {"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}], "kwargs": {}}]},
    ], "input_layers": ["x", 0, 0], "output_layers": [["y", 0, 0]]}
    out = anonymous(config)
    assert "name" not in out and all("name" not in entry and "name" not in entry["config"] for entry in out["layers"])
    assert out["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["layer", 0, 0, 0]
    assert out["input_layers"] == ["layer", 0, 0, 0] and out["output_layers"] == [["layer", 1, 0, 0]]
    with pytest.raises(registry.NotExact):
        anonymous({**config, "output_layers": [["missing", 0, 0]]})
    kept = anonymous({"class": "Lambda", "config": {"name": "l", "arguments": {"name": "kept"}}})
    assert kept["config"] == {"arguments": {"name": "kept"}}  # an argument called "name" is not an object's name


def test_multi_output_names_are_kept_because_the_logs_carry_them():
    def fitted(out):
        model = _functional(False, out)
        model.fit(X, [Y, np.zeros((16, 3), np.float32)], epochs=1, verbose=0)
        return model

    first, second = fitted("r"), fitted("r2")
    assert first.output_names == ["r", "p"] and second.output_names == ["r2", "p"]
    assert "r_loss" in first.history.history and "r2_loss" in second.history.history
    assert key(first) != key(second) and key(first) == key(fitted("r"))


# ----- user code ------------------------------------------------------------------------------------


def double(x):
    return 2 * x


def my_loss(y_true, y_pred):
    return jnp.mean((y_true - y_pred) ** 2)


class MyLayer(keras.layers.Layer):
    def call(self, x):
        return x * 2


class MySubclass(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)


@pytest.mark.parametrize("build", [
    lambda: mlp(extra=[MyLayer()], fitted=False),
    lambda: mlp(extra=[keras.layers.Lambda(double)], fitted=False),
    lambda: mlp(activation=double, fitted=False),
    lambda: mlp(loss=my_loss, fitted=False),
    lambda: mlp(metrics=[my_loss], fitted=False),
    lambda: mlp(extra=[keras.layers.Dense(3, kernel_regularizer=lambda w: jnp.sum(w))], fitted=False),
    lambda: mlp(optimizer=keras.optimizers.SGD(learning_rate=lambda step: 0.1 / (1 + step)), fitted=False),
], ids=["custom-layer", "lambda", "activation-fn", "loss-fn", "metric-fn", "regularizer-fn", "lr-fn"])
def test_user_code_gets_no_key(build):
    assert key(build()) is None


def test_a_subclassed_model_gets_no_key():
    model = MySubclass()
    model.compile(optimizer="adam", loss="mse")
    assert key(model) is None


# ----- identical models share compiled programs ----------------------------------------------------------


def test_identical_models_built_in_a_loop_compile_once(tmp_path, monkeypatch):
    monkeypatch.setattr(programs, "_setting", str(tmp_path / "cache"))
    monkeypatch.setattr(programs, "_shared", type(programs._shared)())
    monkeypatch.setattr(program_store, "_verdicts", {})
    before = dict(programs.counts)
    histories = []
    for _ in range(200):
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        histories.append(model.fit(X, Y, epochs=1, batch_size=8, verbose=0).history)
    delta = {k: v - before.get(k, 0) for k, v in programs.counts.items()}
    per_model = len(os.listdir(tmp_path / "cache"))
    assert delta.get("compiled") == per_model and delta.get("loaded", 0) == 0
    assert delta.get("shared") == 199  # the training epoch, for every later model (slots start from NumPy)
    assert all(set(h) == {"loss", "accuracy"} for h in histories)
