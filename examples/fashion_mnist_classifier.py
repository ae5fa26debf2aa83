"""Fashion-MNIST with the Flatten-300-100-10 classifier: learning curves, confusion matrix, mistakes.

    python examples/fashion_mnist_classifier.py [--quick] [--out FOLDER]

The MLP of the book's chapter 10: images scaled to [0, 1], the last 5000 training images held out
for validation, SGD on sparse categorical cross-entropy for 30 epochs. It prints the test accuracy
and writes three pictures: the learning curves, the confusion matrix on the test set (which
garments are mistaken for which), and a grid of misclassified test images with both labels.
"""

import numpy as np

import _common

import lamina as keras
from lamina.datasets import fashion_mnist
from lamina.utils import plotting

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


def misclassified_grid(images, y_true, y_pred, to_file, count=15):
    wrong = np.flatnonzero(y_true != y_pred)[:count]
    columns = 5
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plotting.figure(rows, columns, width=1.9 * columns, height=2.1 * rows, squeeze=False,
                                title="Misclassified test images (true -> predicted)")
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(images[i], cmap="binary")
        ax.set_title(f"{CLASS_NAMES[y_true[i]]}\n-> {CLASS_NAMES[y_pred[i]]}", fontsize=8)
    return plotting.save(fig, to_file)


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    (x_train_full, y_train_full), (x_test, y_test) = _common.load(fashion_mnist)
    x_train_full, x_test = x_train_full.astype("float32") / 255.0, x_test.astype("float32") / 255.0
    x_train, y_train = x_train_full[:-5000], y_train_full[:-5000]
    x_valid, y_valid = x_train_full[-5000:], y_train_full[-5000:]
    epochs = 30
    if args.quick:
        x_train, y_train, x_valid, y_valid, x_test, y_test = (
            x_train[:3000], y_train[:3000], x_valid[:500], y_valid[:500], x_test[:1000], y_test[:1000])
        epochs = 2
    _common.section(f"Fashion-MNIST: {len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test images")
    keras.utils.set_random_seed(42)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ], name="fashion_mlp")
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, validation_data=(x_valid, y_valid), verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    y_pred = np.argmax(model.predict(x_test, verbose=0), axis=1)
    print(f"Test accuracy {accuracy:.3f} (loss {loss:.3f}); {np.sum(y_pred != y_test)} of {len(y_test)} test "
          "images misclassified")
    matrix = keras.utils.confusion_matrix(y_test, y_pred, num_classes=10)
    off = matrix - np.diag(np.diag(matrix))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    print(f"Most frequent mix-up: {CLASS_NAMES[t]} taken for {CLASS_NAMES[p]} ({off[t, p]} times)")
    pictures = [
        _common.wrote(keras.utils.plot_history(history, to_file=_common.picture(args, "fashion_mnist_history.png"),
                                               title="Flatten-300-100-10 on Fashion-MNIST"),
                      "learning curves"),
        _common.wrote(keras.utils.plot_confusion_matrix(y_test, y_pred, class_names=CLASS_NAMES,
                                                        to_file=_common.picture(args, "fashion_mnist_confusion.png")),
                      "confusion matrix on the test set"),
        _common.wrote(misclassified_grid(x_test, y_test, y_pred, _common.picture(args, "fashion_mnist_mistakes.png")),
                      "misclassified test images"),
    ]
    return {"accuracy": accuracy, "pictures": pictures}


if __name__ == "__main__":
    main()
