"""California housing: a regression MLP, the functional wide & deep model, and the same as a subclass.

    python examples/california_housing_regression.py [--quick] [--out FOLDER]

The three regression models of the book's chapter 10, on the 20640 block groups of the 1990 census
(target: median house value, in $100,000):

1. a Sequential MLP (Normalization -> Dense(30, relu) -> Dense(1)) trained on mean squared error;
2. the functional wide & deep network with two inputs (features 0-4 take the wide path straight
   to the output, features 2-7 the deep path through two hidden layers) and an auxiliary output
   on the deep path (loss weights 0.9 / 0.1), which regularizes the deep part;
3. the same network written as a `keras.Model` subclass.

It prints each model's test RMSE (in $) and writes the learning curves of the MLP, a diagram of
the wide & deep model, and predicted against true values of the test set.
"""

import numpy as np

import _common

import lamina as keras
from lamina.datasets import california_housing
from lamina.utils import plotting


def wide_and_deep(x_wide, x_deep):
    norm_wide, norm_deep = keras.layers.Normalization(name="norm_wide"), keras.layers.Normalization(name="norm_deep")
    norm_wide.adapt(x_wide)
    norm_deep.adapt(x_deep)
    input_wide = keras.Input(shape=(5,), name="wide_input")
    input_deep = keras.Input(shape=(6,), name="deep_input")
    hidden = keras.layers.Dense(30, activation="relu", name="hidden1")(norm_deep(input_deep))
    hidden = keras.layers.Dense(30, activation="relu", name="hidden2")(hidden)
    concat = keras.layers.concatenate([norm_wide(input_wide), hidden], name="concat")
    output = keras.layers.Dense(1, name="output")(concat)
    aux_output = keras.layers.Dense(1, name="aux_output")(hidden)
    return keras.Model(inputs=[input_wide, input_deep], outputs=[output, aux_output], name="wide_and_deep")


class WideAndDeepModel(keras.Model):
    """The wide & deep network as a subclass: layers made in `__init__`, the wiring written in `call`."""

    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.norm_wide = keras.layers.Normalization()
        self.norm_deep = keras.layers.Normalization()
        self.hidden1 = keras.layers.Dense(units, activation=activation)
        self.hidden2 = keras.layers.Dense(units, activation=activation)
        self.main_output = keras.layers.Dense(1)
        self.aux_output = keras.layers.Dense(1)

    def call(self, inputs):
        input_wide, input_deep = inputs
        hidden = self.hidden2(self.hidden1(self.norm_deep(input_deep)))
        concat = keras.ops.concatenate([self.norm_wide(input_wide), hidden], axis=-1)
        return self.main_output(concat), self.aux_output(hidden)


def rmse_dollars(model, x, y):
    prediction = model.predict(x, verbose=0)
    prediction = prediction[0] if isinstance(prediction, (list, tuple)) else prediction
    return float(np.sqrt(np.mean((prediction[:, 0] - y) ** 2))) * 100_000, prediction[:, 0]


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    (x_full, y_full), (x_test, y_test) = _common.load(california_housing)
    y_full, y_test = y_full / 100_000, y_test / 100_000
    split = int(len(x_full) * 0.8)
    x_train, y_train, x_valid, y_valid = x_full[:split], y_full[:split], x_full[split:], y_full[split:]
    epochs = 20
    if args.quick:
        x_train, y_train, x_valid, y_valid, x_test, y_test = (
            x_train[:2000], y_train[:2000], x_valid[:400], y_valid[:400], x_test[:400], y_test[:400])
        epochs = 2
    _common.section(f"California housing: {len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test "
                    "block groups")
    results = {}

    print("1. Sequential regression MLP")
    keras.utils.set_random_seed(42)
    norm = keras.layers.Normalization()
    norm.adapt(x_train)
    mlp = keras.Sequential([keras.Input(shape=(8,)), norm, keras.layers.Dense(30, activation="relu"),
                            keras.layers.Dense(1)], name="regression_mlp")
    mlp.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-3), metrics=["RootMeanSquaredError"])
    history = mlp.fit(x_train, y_train, epochs=epochs, validation_data=(x_valid, y_valid), verbose=0)
    results["mlp"], mlp_pred = rmse_dollars(mlp, x_test, y_test)
    print(f"   test RMSE ${results['mlp']:,.0f}")

    print("2. Functional wide & deep model, two inputs, an auxiliary output")
    split_inputs = lambda x: (x[:, :5], x[:, 2:])  # noqa: E731 - wide: features 0-4, deep: features 2-7
    keras.utils.set_random_seed(42)
    model = wide_and_deep(*split_inputs(x_train))
    model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  metrics=["RootMeanSquaredError", "RootMeanSquaredError"])
    model.fit(split_inputs(x_train), (y_train, y_train), epochs=epochs,
              validation_data=(split_inputs(x_valid), (y_valid, y_valid)), verbose=0)
    logs = model.evaluate(split_inputs(x_test), (y_test, y_test), verbose=0, return_dict=True)
    results["wide_and_deep"], _ = rmse_dollars(model, split_inputs(x_test), y_test)
    print(f"   test RMSE ${results['wide_and_deep']:,.0f} (weighted loss {logs['loss']:.3f})")

    print("3. The same network as a keras.Model subclass")
    keras.utils.set_random_seed(42)
    subclassed = WideAndDeepModel(name="wide_and_deep_subclassed")
    subclassed.norm_wide.adapt(split_inputs(x_train)[0])
    subclassed.norm_deep.adapt(split_inputs(x_train)[1])
    subclassed.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    subclassed.fit(split_inputs(x_train), (y_train, y_train), epochs=epochs, verbose=0)
    results["subclassed"], _ = rmse_dollars(subclassed, split_inputs(x_test), y_test)
    same = "the same as 2: same seed, same layers in the same order" if np.isclose(
        results["subclassed"], results["wide_and_deep"]) else "differs from 2"
    print(f"   test RMSE ${results['subclassed']:,.0f} ({same})")

    fig, ax = plotting.figure(width=5, height=4.6, title="Regression MLP: test predictions")
    ax.scatter(y_test, mlp_pred, s=4, alpha=0.35, color=plotting.COLORS[0])
    ax.plot([0, 5.2], [0, 5.2], "--", color=plotting.COLORS[1], label="perfect prediction")
    plotting.style(ax, xlabel="true median value ($100k)", ylabel="predicted ($100k)", legend=True)
    pictures = [
        _common.wrote(keras.utils.plot_history(history, to_file=_common.picture(args, "california_learning_curves.png"),
                                               title="Regression MLP on California housing"), "learning curves"),
        _common.wrote(keras.utils.plot_model(model, to_file=_common.picture(args, "california_wide_and_deep.png"),
                                             rankdir="TB"), "the wide & deep model's graph"),
        _common.wrote(plotting.save(fig, _common.picture(args, "california_predictions.png")),
                      "predicted against true values"),
    ]
    return {"rmse": results, "pictures": pictures}


if __name__ == "__main__":
    main()
