"""Program keys: computed for lamina's own building blocks, refused for user code, sensitive to what matters."""

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.backend import programs
from lamina.training.program_key import program_key

SIG = programs.signature((np.zeros((8, 4), np.float32), 0))


def mlp(units=5, activation="relu", loss="binary_crossentropy", optimizer=None, metrics=("accuracy",), extra=None,
        name="net"):
    keras.backend.clear_session()
    layers = [keras.Input(shape=(4,)), keras.layers.Dense(units, activation=activation)]
    layers += list(extra or []) + [keras.layers.Dense(1, activation="sigmoid")]
    model = keras.Sequential(layers, name=name)
    model.compile(optimizer=optimizer or keras.optimizers.Adam(1e-3), loss=loss, metrics=list(metrics))
    return model


def key(model, name=("train", 7, 8, False), sig=SIG):
    return program_key(model, name, sig)


def test_a_model_of_lamina_parts_has_a_stable_key():
    first = key(mlp())
    assert isinstance(first, str) and len(first) == 64
    assert key(mlp()) == first  # rebuilt from scratch: same names, same program


@pytest.mark.parametrize("change", [
    lambda: mlp(units=6),
    lambda: mlp(activation="tanh"),
    lambda: mlp(loss="mse"),
    lambda: mlp(metrics=("accuracy", "auc")),
    lambda: mlp(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0)),
    lambda: mlp(optimizer=keras.optimizers.SGD(1e-3)),
    lambda: mlp(extra=[keras.layers.Dropout(0.5)]),
    lambda: mlp(name="other"),
], ids=["units", "activation", "loss", "metrics", "clipnorm", "optimizer", "dropout", "model-name"])
def test_what_changes_the_program_changes_the_key(change):
    assert key(change()) != key(mlp())


def test_predicting_and_training_keep_the_key():
    model = mlp()
    base = key(model)
    model.predict(np.zeros((2, 4), np.float32), verbose=0)
    model.fit(np.zeros((8, 4), np.float32), np.zeros((8,), np.float32), epochs=1, verbose=0)
    assert key(model) == base


def test_freezing_a_layer_or_another_signature_or_step_count_changes_the_key():
    base = key(mlp())
    frozen = mlp()
    frozen.layers[0].trainable = False
    assert key(frozen) != base
    assert key(mlp(), sig=programs.signature((np.zeros((9, 4), np.float32), 0))) != base
    assert key(mlp(), name=("train", 8, 8, False)) != base


def test_weights_and_a_float_learning_rate_are_inputs_not_part_of_the_key():
    base = key(mlp())
    model = mlp()
    model.set_weights([w + 1.0 for w in model.get_weights()])
    model.optimizer.learning_rate = 0.5
    assert key(model) == base


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
    lambda: mlp(extra=[MyLayer()]),
    lambda: mlp(extra=[keras.layers.Lambda(double)]),
    lambda: mlp(activation=double),
    lambda: mlp(loss=my_loss),
    lambda: mlp(metrics=[my_loss]),
    lambda: mlp(extra=[keras.layers.Dense(3, kernel_regularizer=lambda w: jnp.sum(w))]),
    lambda: mlp(optimizer=keras.optimizers.SGD(learning_rate=lambda step: 0.1 / (1 + step))),
], ids=["custom-layer", "lambda", "activation-fn", "loss-fn", "metric-fn", "regularizer-fn", "lr-fn"])
def test_user_code_gets_no_key(build):
    assert key(build()) is None


def test_a_subclassed_model_gets_no_key():
    model = MySubclass()
    model.compile(optimizer="adam", loss="mse")
    assert key(model) is None
