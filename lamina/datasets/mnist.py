"""MNIST handwritten digits: 60000 train + 10000 test 28x28 uint8 images, labels 0-9."""

import numpy as np

from lamina.datasets._files import KERAS_ORIGIN, Layout, Remote, direct_file, fetch
from lamina.datasets._mnist_common import idx_layouts, load_idx_set

_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Load MNIST like `keras.datasets.mnist.load_data`.

    Reads Keras's `mnist.npz` (named by `path`) or the original IDX files in a folder
    `mnist/` (`train-images-idx3-ubyte.gz`, ...; gzipped or not) from the data set folders
    (see `lamina.datasets.search_dirs`); downloads `mnist.npz` when neither is there.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(60000, 28, 28)` and
        `(10000, 28, 28)`, uint8 labels `(60000,)` and `(10000,)`.
    """
    direct = direct_file(path)
    if direct is not None:
        return _from_npz(direct)
    npz = Layout((path,), f"Keras's cache file, from {KERAS_ORIGIN}mnist.npz")
    remote = Remote(path, KERAS_ORIGIN + "mnist.npz", _SHA256)
    layout, paths = fetch("MNIST", [npz] + idx_layouts("mnist", "the original IDX files"), [remote])
    if layout is npz:
        return _from_npz(paths[0])
    return load_idx_set(paths)


def _from_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
