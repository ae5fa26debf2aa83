"""CIFAR-10: 50000 train + 10000 test 32x32 RGB uint8 images in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
9 truck (see `CLASS_NAMES`).
"""

import numpy as np

from lamina.datasets._cifar import Distribution, keras_arrays

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def _distribution():
    # Built per call so that tests (and mirrors) can patch _URL / _SHA256.
    return Distribution("CIFAR-10", _URL, _SHA256, "cifar-10-batches-py", _BATCHES, "cifar-10-batches-py-target")


def load_data():
    """Load CIFAR-10 like `keras.datasets.cifar10.load_data`.

    Reads the python batches (`data_batch_1..5`, `test_batch`) extracted or straight from
    `cifar-10-python.tar.gz`, downloading the archive (sha256-checked) when absent. The
    batches are pickles; they are read with an unpickler that builds NumPy arrays only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)` (channels-first when `image_data_format()` is
        "channels_first"), uint8 labels `(50000, 1)` and `(10000, 1)`.
    """
    (x_train, y_train), (x_test, y_test) = keras_arrays(_distribution().read("labels"), n_train=5)
    return (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))
