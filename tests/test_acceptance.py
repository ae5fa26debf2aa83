"""End-to-end acceptance on real data (../shared/datasets; skipped when absent).

- The classic Pima-indians tutorial model (8-12-8-1, `epochs=150, batch_size=10`) fits its training set.
- A 784-784-10 network reaches > 0.84 Fashion-MNIST test accuracy after 2 epochs of Adam. This is the
  slowest test of the suite (about 15-30 s for the fit on 2 CPU cores); it stays in the default run.
"""

import gzip

import numpy as np
import pytest

import lamina as keras
from conftest import dataset_file


def test_pima_seed_style_model_reaches_training_accuracy():
    data = np.loadtxt(dataset_file("pima", "pima-indians-diabetes.data.csv"), delimiter=",")
    X, y = data[:, :8], data[:, 8]
    assert X.shape == (768, 8)
    keras.utils.set_random_seed(7)
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(X, y, epochs=150, batch_size=10, verbose=0)
    assert len(history.history["loss"]) == 150
    assert history.history["loss"][-1] < history.history["loss"][0]
    _, accuracy = model.evaluate(X, y, verbose=0)
    assert accuracy > 0.72
    assert history.history["accuracy"][-1] > 0.72
    predictions = (model.predict(X, verbose=0) > 0.5).astype(int)[:, 0]
    assert np.mean(predictions == y) == pytest.approx(accuracy, abs=1e-6)


def _idx(*parts):
    """An IDX file (gzip) as a NumPy array: magic (2 zero bytes, dtype code, ndim), big-endian dims, data."""
    with gzip.open(dataset_file(*parts), "rb") as f:
        raw = f.read()
    assert raw[:3] == b"\x00\x00\x08", "not an unsigned-byte IDX file"
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def test_fashion_mnist_784_784_10_adam_two_epochs():
    x_train = _idx("fashion-mnist", "train-images-idx3-ubyte.gz")
    y_train = _idx("fashion-mnist", "train-labels-idx1-ubyte.gz")
    x_test = _idx("fashion-mnist", "t10k-images-idx3-ubyte.gz")
    y_test = _idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    x_train = (x_train / 255.0).astype("float32")
    x_test = (x_test / 255.0).astype("float32")

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(784, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2, verbose=0)
    assert history.params["steps"] == 1875
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.84
    predicted = model.predict(x_test[:500], verbose=0).argmax(-1)
    assert np.mean(predicted == y_test[:500]) > 0.8
