"""The experiment table from the slides: how depth, dropout, the optimizer and epochs change an MLP's error.

    python examples/mnist_mlp_experiments.py [--quick] [--out FOLDER] [--dataset auto|mnist|fashion_mnist]

Starts from the 784-784-10 baseline (one hidden layer as wide as the input, softmax output, Adam,
batch 200) and changes one thing at a time: two and three hidden layers, dropout, SGD instead of
Adam, twice the epochs. Each variant is trained from the same seed and scored on the test set; the
table prints its test error rate and parameter count, and a bar chart compares the error rates.
MNIST is used when it is on this machine or can be downloaded, Fashion-MNIST otherwise (the script
says which).
"""

import time

import _common

import lamina as keras
from lamina.datasets import fashion_mnist, mnist
from lamina.utils import plotting

VARIANTS = (  # name, hidden layers, dropout, optimizer, epochs factor
    ("baseline 784-784-10", (784,), 0.0, "adam", 1),
    ("two hidden 784-512-256-10", (512, 256), 0.0, "adam", 1),
    ("three hidden 784-512-256-128-10", (512, 256, 128), 0.0, "adam", 1),
    ("baseline + dropout 0.2", (784,), 0.2, "adam", 1),
    ("baseline with SGD", (784,), 0.0, "sgd", 1),
    ("baseline, twice the epochs", (784,), 0.0, "adam", 2),
)


def build(hidden, dropout, optimizer):
    layers = [keras.Input(shape=(784,))]
    for units in hidden:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load(choice):
    if choice in ("auto", "mnist"):
        try:
            return "MNIST", _common.load(mnist)
        except _common.DataMissing as error:
            if choice == "mnist":
                raise
            print(f"MNIST is not available here, so the experiments use Fashion-MNIST ({str(error).splitlines()[0]})")
    return "Fashion-MNIST", _common.load(fashion_mnist)


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv, lambda p: p.add_argument(
        "--dataset", choices=("auto", "mnist", "fashion_mnist"), default="auto"))
    name, ((x_train, y_train), (x_test, y_test)) = load(args.dataset)
    x_train, x_test = _common.flat_images(x_train), _common.flat_images(x_test)
    epochs = 1 if args.quick else 10
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
    _common.section(f"{name}: {len(x_train)} training and {len(x_test)} test images, {epochs} epoch(s) per variant")
    rows = []
    # --quick: one variant per code path (the deeper ones differ from the baseline only in a list).
    variants = [VARIANTS[i] for i in (0, 3, 4, 5)] if args.quick else VARIANTS
    for label, hidden, dropout, optimizer, factor in variants:
        keras.utils.set_random_seed(7)
        model = build(hidden, dropout, optimizer)
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=epochs * factor, batch_size=200, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        rows.append((label, model.count_params(), optimizer, epochs * factor, 100 * (1 - accuracy), seconds))
        print(f"  {label:34s} error {100 * (1 - accuracy):5.2f}%")
    print()
    print(f"{'variant':34s} {'params':>10s} {'optimizer':>9s} {'epochs':>6s} {'test error':>10s} {'fit time':>8s}")
    for label, params, optimizer, n, error, seconds in rows:
        print(f"{label:34s} {params:>10,d} {optimizer:>9s} {n:>6d} {error:>9.2f}% {seconds:>7.1f}s")

    fig, ax = plotting.figure(width=7.5, height=3.8, title=f"MLP experiments on {name}")
    errors = [row[4] for row in rows]
    ax.barh(range(len(rows)), errors, color=[plotting.class_color(i) for i in range(len(rows))])
    ax.set_yticks(range(len(rows)), [row[0] for row in rows])
    ax.invert_yaxis()
    for i, error in enumerate(errors):
        ax.text(error, i, f" {error:.2f}%", va="center", fontsize=8)
    plotting.style(ax, xlabel="test error rate (%)")
    path = plotting.save(fig, _common.picture(args, "mnist_experiments.png"))
    _common.wrote(path, "test error rate of each variant")
    return {"dataset": name, "rows": rows, "pictures": [path]}


if __name__ == "__main__":
    main()
