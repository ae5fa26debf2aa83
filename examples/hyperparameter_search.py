"""Fine-tuning hyperparameters: a Keras Tuner random search, a population trained in one program, and the
learning-rate range test (Hands-On ML, chapter 10), on Fashion-MNIST.

    python examples/hyperparameter_search.py [--quick] [--out FOLDER]

1. `RandomSearch` over the number of hidden layers, their width, the optimizer and a log-uniform learning
   rate (`import lamina.tuners as kt` is the only change from Keras Tuner code); Optuna runs the search.
2. `Population`: the best architecture trained at several learning rates at once, in one compiled
   program; the picture shows each member's validation accuracy per epoch.
3. `find_learning_rate`: the range test (the rate grows from 1e-5 to 10 over an epoch); the picture shows
   the loss against the rate on a log scale and the suggested rate, a bit below where the loss climbs.
"""

import _common

import numpy as np

import lamina as keras
import lamina.tuners as kt
from lamina.datasets import fashion_mnist


def build_model(hp):
    model = keras.Sequential([keras.Input(shape=(784,))])
    for i in range(hp.Int("n_hidden", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 32, 256, step=32), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    optimizer = keras.optimizers.SGD(rate) if hp.Choice("optimizer", ["sgd", "adam"]) == "sgd" else \
        keras.optimizers.Adam(rate)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    (x_train, y_train), _ = _common.load(fashion_mnist)
    rows, trials, epochs = (3_000, 2, 2) if args.quick else (60_000, 10, 10)
    x = _common.flat_images(x_train[:rows])
    y = y_train[:rows]
    split = int(len(x) * 5 / 6)
    x_fit, y_fit, x_val, y_val = x[:split], y[:split], x[split:], y[split:]

    _common.section(f"1. RandomSearch: {trials} trials x {epochs} epochs on {len(x_fit)} images")
    keras.utils.set_random_seed(42)
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=trials, seed=42, overwrite=True,
                            directory=_common.picture(args, "tuning"), project_name="fashion")
    tuner.search(x_fit, y_fit, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    tuner.results_summary(num_trials=3)
    best_hp = tuner.get_best_hyperparameters()[0]
    print(f"Best: {best_hp.values}")

    rates = np.geomspace(1e-4, 3e-2, 4 if args.quick else 8)
    _common.section(f"2. Population: the best architecture at {len(rates)} learning rates, one program")
    members = []
    for rate in rates:
        hp = kt.HyperParameters()
        hp.values.update({**best_hp.values, "learning_rate": float(rate)})
        keras.utils.set_random_seed(7)
        members.append(build_model(hp))
    histories = kt.Population(members).fit(x_fit, y_fit, epochs=epochs, batch_size=32,
                                           validation_data=(x_val, y_val), verbose=0)
    for rate, history in zip(rates, histories):
        print(f"  learning rate {rate:.2e}: validation accuracy {history.history['val_accuracy'][-1]:.3f}")
    from lamina.utils import plotting

    fig, ax = plotting.figure(title="One population, several learning rates")
    for k, (rate, history) in enumerate(zip(rates, histories)):
        accuracy = history.history["val_accuracy"]
        ax.plot(np.arange(1, len(accuracy) + 1), accuracy, marker="o", color=plotting.COLORS[k % 8],
                label=f"lr {rate:.1e}")
    ax.set_xticks(np.arange(1, epochs + 1))
    plotting.style(ax, xlabel="epoch", ylabel="validation accuracy", legend=True)
    population_picture = plotting.save(fig, _common.picture(args, "population_learning_rates.png"))

    _common.section("3. The learning-rate range test on the best architecture")
    keras.utils.set_random_seed(7)
    model = tuner.hypermodel.build(best_hp)
    found = kt.find_learning_rate(model, x_fit, y_fit, epochs=1, batch_size=32, min_rate=1e-5, max_rate=10)
    print(f"  {len(found.rates)} steps; lowest loss at {found.min_loss_rate:.3g}; suggested rate {found.suggested:.3g}")
    pictures = [
        _common.wrote(population_picture, "validation accuracy per epoch of each population member"),
        _common.wrote(found.plot(_common.picture(args, "lr_range_test.png")),
                      "loss against the learning rate, log scale, with the suggestion"),
    ]
    return {"best": best_hp.values, "suggested": found.suggested, "pictures": pictures}


if __name__ == "__main__":
    main()
