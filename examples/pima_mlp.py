"""The classic first Keras model: 8-12-8-1 on the Pima Indians diabetes data, with its learning curves.

    python examples/pima_mlp.py [--quick] [--out FOLDER]

Pima ships inside lamina, so this runs offline. A fifth of the rows is held out for validation;
the learning-curve picture shows training and validation loss and accuracy per epoch (the gap
between them is where overfitting starts), and the model diagram its three Dense layers.
"""

import _common

import lamina as keras
from lamina.datasets import pima_indians_diabetes


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    epochs = 5 if args.quick else 150
    (x, y), _ = pima_indians_diabetes.load_data()
    _common.section(f"Pima Indians diabetes: {len(x)} patients, 8 measurements, {y.mean():.0%} positive")
    keras.utils.set_random_seed(7)
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(12, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ], name="pima_mlp")
    model.summary()
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    print(f"Training {epochs} epochs, batch 10, 20% of the rows held out for validation ...")
    history = model.fit(x, y, epochs=epochs, batch_size=10, validation_split=0.2, verbose=0)
    logs = {k: v[-1] for k, v in history.history.items()}
    print(f"Last epoch: loss {logs['loss']:.3f}, accuracy {logs['accuracy']:.3f}; "
          f"validation loss {logs['val_loss']:.3f}, accuracy {logs['val_accuracy']:.3f}")
    pictures = [
        _common.wrote(keras.utils.plot_history(history, to_file=_common.picture(args, "pima_learning_curves.png"),
                                               title="8-12-8-1 on Pima: learning curves"),
                      "loss and accuracy per epoch, training and validation"),
        _common.wrote(keras.utils.plot_model(model, to_file=_common.picture(args, "pima_model.png"),
                                             show_layer_activations=True), "the model's layers and shapes"),
    ]
    return {"history": history.history, "pictures": pictures}


if __name__ == "__main__":
    main()
