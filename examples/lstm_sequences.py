"""Recurrent networks on sequences: forecasting a time series, and reading images row by row.

    python examples/lstm_sequences.py [--quick] [--out FOLDER]

1. Forecasting (the book's chapter 15 exercise): each series is the sum of two sine waves of random
   frequency and phase plus noise, 50 steps long; the task is the value at step 51. The naive
   forecast (repeat the last value) and a linear model on the 50 values set the baselines; then a
   deep SimpleRNN, an LSTM and a GRU (two recurrent layers of 20 units, `return_sequences=True` on
   the first). The table prints each test MSE; the picture shows a few forecasts and the MSEs.
2. Sequence classification on real data: an LSTM reads each Fashion-MNIST image as a sequence of
   28 rows of 28 pixels and classifies it at the end (skipped, with the reason, when the data set
   is not on this machine).
"""

import numpy as np

import _common

import lamina as keras
from lamina.datasets import fashion_mnist
from lamina.utils import plotting


def generate_time_series(batch_size, n_steps, seed):
    """`(batch_size, n_steps, 1)` float32: two sines of random frequency and offset, plus noise."""
    rng = np.random.default_rng(seed)
    freq1, freq2, offsets1, offsets2 = rng.random((4, batch_size, 1))
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((batch_size, n_steps)) - 0.5)
    return series[..., None].astype(np.float32)


def recurrent(cell):
    return keras.Sequential([keras.Input(shape=(None, 1)), cell(20, return_sequences=True), cell(20),
                             keras.layers.Dense(1)], name=cell.__name__.lower())


def forecasting(args):
    n_steps = 50
    n_train, n_test, epochs = (600, 200, 2) if args.quick else (7000, 2000, 20)
    series = generate_time_series(n_train + n_test, n_steps + 1, seed=42)
    x_train, y_train = series[:n_train, :n_steps], series[:n_train, -1]
    x_test, y_test = series[n_train:, :n_steps], series[n_train:, -1]
    _common.section(f"1. Forecasting the next value: {n_train} training and {n_test} test series of {n_steps} steps")
    mse = {"naive (last value)": float(np.mean((x_test[:, -1] - y_test) ** 2))}
    forecasts = {"naive (last value)": x_test[:, -1, 0]}
    builders = {"linear": lambda: keras.Sequential([keras.Input(shape=(n_steps, 1)), keras.layers.Flatten(),
                                                    keras.layers.Dense(1)], name="linear")}
    # --quick: SimpleRNN only (each recurrent model compiles its own loop; part 2 runs an LSTM).
    cells = (keras.layers.SimpleRNN,) if args.quick else (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)
    for cell in cells:
        builders[f"2 x {cell.__name__}(20)"] = lambda cell=cell: recurrent(cell)
    for name, build in builders.items():
        keras.utils.set_random_seed(42)
        model = build()
        model.compile(loss="mse", optimizer="adam")
        model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
        mse[name] = float(model.evaluate(x_test, y_test, verbose=0))
        forecasts[name] = model.predict(x_test, verbose=0)[:, 0]
        print(f"  {name:22s} trained ({model.count_params():,} parameters)")
    print(f"\n{'model':24s}{'test MSE':>10s}")
    for name, value in mse.items():
        print(f"{name:24s}{value:>10.4f}")

    fig, axes = plotting.figure(1, 2, width=12, height=4, title="Forecasting one step ahead")
    ax = axes[0]
    for i, color in zip(range(2), plotting.COLORS[:2]):
        ax.plot(range(n_steps), x_test[i, :, 0], ".-", color=color, markersize=3, linewidth=1)
        ax.plot(n_steps, y_test[i, 0], "o", color=color, markersize=8, fillstyle="none")
        for j, name in enumerate(list(forecasts)[-3:]):
            ax.plot(n_steps, forecasts[name][i], "x^s"[j], color=plotting.COLORS[2 + j], markersize=6,
                    label=name if i == 0 else None)
    plotting.style(ax, title="two test series, the true next value (circle) and forecasts", xlabel="time step",
                   legend=True)
    ax = axes[1]
    names = list(mse)
    ax.barh(range(len(names)), [mse[n] for n in names], color=[plotting.class_color(i) for i in range(len(names))])
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    plotting.style(ax, title="test mean squared error", xlabel="MSE")
    return mse, plotting.save(fig, _common.picture(args, "lstm_forecast.png"))


def image_rows(args):
    try:
        (x_train, y_train), (x_test, y_test) = _common.load(fashion_mnist)
    except _common.DataMissing as error:
        print(f"\n2. Skipped: {str(error).splitlines()[0]}")
        return None, None
    x_train, x_test = x_train.astype("float32") / 255.0, x_test.astype("float32") / 255.0
    epochs = 1 if args.quick else 5
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:1000], y_train[:1000], x_test[:300], y_test[:300]
    _common.section(f"2. An LSTM reads Fashion-MNIST row by row: {len(x_train)} training, {len(x_test)} test images")
    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.LSTM(64), keras.layers.Dense(10, activation="softmax")],
                             name="row_reader")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=64, validation_split=0.1, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy {accuracy:.3f}: 28 steps of 28 pixels, {model.count_params():,} parameters")
    return accuracy, keras.utils.plot_history(history, to_file=_common.picture(args, "lstm_fashion_rows.png"),
                                              title="LSTM reading Fashion-MNIST rows")


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    mse, forecast_picture = forecasting(args)
    _common.wrote(forecast_picture, "forecasts and test MSE of each model")
    pictures = [forecast_picture]
    accuracy, rows_picture = image_rows(args)
    if rows_picture is not None:
        pictures.append(_common.wrote(rows_picture, "learning curves of the row-reading LSTM"))
    return {"mse": mse, "row_accuracy": accuracy, "pictures": pictures}


if __name__ == "__main__":
    main()
