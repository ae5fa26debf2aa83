"""The TensorFlow Playground exercise: which networks can draw which decision boundaries.

    python examples/playground.py [--quick] [--out FOLDER]

Three toy sets from `lamina.datasets.toy` (moons, circles, two spirals, with noise) meet networks
of growing depth and width and two activations: no hidden layer (a straight line), one small tanh
layer, two layers of 8 (tanh, then relu), three layers of 16 relu. Each is trained with Adam on
70% of the points and scored on the other 30%; the table prints the test accuracies and the
picture is the grid of decision boundaries (rows: data sets, columns: networks).
"""

import _common

import lamina as keras
from lamina.datasets import toy
from lamina.utils import plotting

NETWORKS = (  # label, hidden units, activation
    ("no hidden layer", (), None),
    ("1 x 4 tanh", (4,), "tanh"),
    ("2 x 8 tanh", (8, 8), "tanh"),
    ("2 x 8 relu", (8, 8), "relu"),
    ("3 x 16 relu", (16, 16, 16), "relu"),
)
DATASETS = (
    ("moons", lambda n: toy.make_moons(n, noise=0.15, seed=0)),
    ("circles", lambda n: toy.make_circles(n, noise=0.08, factor=0.5, seed=0)),
    ("spirals", lambda n: toy.make_spirals(n, noise=0.03, seed=0)),
)


def network(hidden, activation):
    layers = [keras.Input(shape=(2,))] + [keras.layers.Dense(units, activation=activation) for units in hidden]
    model = keras.Sequential(layers + [keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    networks = (NETWORKS[0], NETWORKS[3]) if args.quick else NETWORKS
    n_points, epochs = (120, 5) if args.quick else (600, 300)
    _common.section(f"{len(DATASETS)} data sets x {len(networks)} networks, {n_points} points, {epochs} epochs each")
    fig, axes = plotting.figure(len(DATASETS), len(networks), squeeze=False, width=3.3 * len(networks),
                                height=3.2 * len(DATASETS), title="Decision boundaries (test accuracy)")
    table = {}
    for row, (data_name, make) in enumerate(DATASETS):
        x, y = make(n_points)
        cut = int(0.7 * len(x))
        for col, (label, hidden, activation) in enumerate(networks):
            keras.utils.set_random_seed(0)
            model = network(hidden, activation)
            model.fit(x[:cut], y[:cut], epochs=epochs, batch_size=32, verbose=0)
            _, accuracy = model.evaluate(x[cut:], y[cut:], verbose=0)
            table[data_name, label] = accuracy
            ax = keras.utils.plot_decision_boundary(model, x, y, ax=axes[row, col], resolution=60 if args.quick else 150,
                                                    title=f"{data_name}, {label}: {accuracy:.0%}")
            ax.set_xlabel("")
            ax.set_ylabel("")
            if ax.get_legend() is not None:
                ax.get_legend().remove()
    print(f"{'test accuracy':16s}" + "".join(f"{label:>17s}" for label, _, _ in networks))
    for data_name, _ in DATASETS:
        print(f"{data_name:16s}" + "".join(f"{table[data_name, label]:>17.0%}" for label, _, _ in networks))
    path = _common.wrote(plotting.save(fig, _common.picture(args, "playground.png")),
                         "grid of decision boundaries: data sets x networks")
    return {"accuracy": table, "pictures": [path]}


if __name__ == "__main__":
    main()
