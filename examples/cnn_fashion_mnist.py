"""A convolutional network on Fashion-MNIST: learning curves, confusion matrix, the first layer's filters.

    python examples/cnn_fashion_mnist.py [--quick] [--out FOLDER]

Augmentation (RandomFlip horizontal, RandomTranslation up to 2 pixels; active only while training) ->
Rescaling -> Conv2D(32, 3x3) -> MaxPooling -> Conv2D(64, 3x3) -> MaxPooling -> Flatten -> Dropout(0.5)
-> Dense(10, softmax), trained with Adam on 55000 images (5000 held out for validation). Compare its
test accuracy with the Flatten-300-100-10 MLP of `fashion_mnist_classifier.py`: the convolutions see
neighbouring pixels together and share their weights across the image, with far fewer parameters, and the
augmentation shows them mirrored and shifted clothes, so they learn what does not depend on either.
"""

import numpy as np

import _common

import lamina as keras
from lamina.datasets import fashion_mnist
from lamina.utils import plotting

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


def build():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
        keras.layers.Rescaling(1.0 / 255),
        keras.layers.Conv2D(32, kernel_size=3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(pool_size=2),
        keras.layers.Conv2D(64, kernel_size=3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(pool_size=2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ], name="fashion_cnn")


def filters_picture(kernel, to_file):
    """The first convolution's 3x3 filters, one small image each (blue positive, orange negative)."""
    count = kernel.shape[-1]
    columns = 8
    fig, axes = plotting.figure(-(-count // columns), columns, width=8, height=1.1 * -(-count // columns) + 0.5,
                                title="First-layer 3x3 filters", squeeze=False)
    scale = np.abs(kernel).max()
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < count:
            ax.imshow(kernel[:, :, 0, i], cmap="PuOr", vmin=-scale, vmax=scale)
    return plotting.save(fig, to_file)


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    (x_full, y_full), (x_test, y_test) = _common.load(fashion_mnist)
    x_full, x_test = x_full[..., None], x_test[..., None]
    x_train, y_train, x_valid, y_valid = x_full[:-5000], y_full[:-5000], x_full[-5000:], y_full[-5000:]
    epochs = 10
    if args.quick:
        x_train, y_train, x_valid, y_valid, x_test, y_test = (
            x_train[:1000], y_train[:1000], x_valid[:200], y_valid[:200], x_test[:300], y_test[:300])
        epochs = 1
    _common.section(f"Fashion-MNIST CNN: {len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test images")
    keras.utils.set_random_seed(42)
    model = build()
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=64, validation_data=(x_valid, y_valid), verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    y_pred = np.argmax(model.predict(x_test, verbose=0), axis=1)
    print(f"Test accuracy {accuracy:.3f} (loss {loss:.3f}) with {model.count_params():,} parameters")
    pictures = [
        _common.wrote(keras.utils.plot_history(history, to_file=_common.picture(args, "cnn_history.png"),
                                               title="CNN on Fashion-MNIST"), "learning curves"),
        _common.wrote(keras.utils.plot_confusion_matrix(y_test, y_pred, class_names=CLASS_NAMES,
                                                        to_file=_common.picture(args, "cnn_confusion.png")),
                      "confusion matrix on the test set"),
        _common.wrote(filters_picture(model.get_layer("conv1").get_weights()[0], _common.picture(args, "cnn_filters.png")),
                      "the first layer's filters"),
    ]
    return {"accuracy": accuracy, "pictures": pictures}


if __name__ == "__main__":
    main()
