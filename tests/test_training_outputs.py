"""Several outputs: how compile arguments spread over outputs, for functional and subclassed models."""

import numpy as np

import lamina

X = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
Y = (X.sum(axis=1, keepdims=True) > 0).astype("float32")


def _two_output_functional(lib):
    inputs = lib.Input((3,))
    main = lib.layers.Dense(1, name="main")(inputs)
    aux = lib.layers.Dense(1, name="aux")(inputs)
    return lib.Model(inputs, [main, aux])


def test_one_metric_per_output_names_like_keras(keras):
    logs = {}
    for lib in (lamina, keras):
        model = _two_output_functional(lib)
        model.compile(loss=("mse", "mse"), optimizer="adam",
                      metrics=["RootMeanSquaredError", "RootMeanSquaredError"])
        logs[lib.__name__] = set(model.fit(X, (Y, Y), epochs=1, verbose=0).history)
    assert logs["lamina"] == logs["keras"] == {
        "loss", "main_loss", "aux_loss", "main_RootMeanSquaredError", "aux_RootMeanSquaredError"}


def test_flat_metric_list_of_other_length_applies_to_every_output():
    model = _two_output_functional(lamina)
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    history = model.fit(X, (Y, Y), epochs=1, verbose=0).history
    assert {"main_mae", "aux_mae"} <= set(history)


class _TwoHeads(lamina.Model):
    def __init__(self):
        super().__init__()
        self.main = lamina.layers.Dense(1, activation="sigmoid")
        self.aux = lamina.layers.Dense(1)

    def call(self, x):
        return self.main(x), self.aux(x)


def test_subclassed_two_outputs_train_with_per_output_losses_and_weights():
    model = _TwoHeads()
    model.compile(loss=("binary_crossentropy", "mse"), loss_weights=(0.9, 0.1), optimizer="adam",
                  metrics=[["accuracy"], ["mae"]])
    history = model.fit(X, (Y, Y), epochs=2, verbose=0).history
    assert set(history) == {"loss", "output_1_loss", "output_2_loss", "output_1_accuracy", "output_2_mae"}
    total = 0.9 * history["output_1_loss"][-1] + 0.1 * history["output_2_loss"][-1]
    np.testing.assert_allclose(history["loss"][-1], total, rtol=1e-5)
