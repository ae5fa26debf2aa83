"""CIFAR-100: 50000 train + 10000 test 32x32 RGB uint8 images in 100 classes grouped into 20 superclasses.

`load_data(label_mode="fine")` gives the class (0-99), `label_mode="coarse"` the superclass (0-19).
"""

from lamina.datasets._cifar import Distribution, keras_arrays

_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
_LABEL_MODES = ("fine", "coarse")


def _distribution():
    # Built per call so that tests (and mirrors) can patch _URL / _SHA256.
    return Distribution("CIFAR-100", _URL, _SHA256, "cifar-100-python", ("train", "test"), "cifar-100-python-target")


def load_data(label_mode="fine"):
    """Load CIFAR-100 like `keras.datasets.cifar100.load_data`.

    Reads the python batches `train` and `test` extracted or straight from
    `cifar-100-python.tar.gz`, downloading the archive (sha256-checked) when absent. The
    batches are pickles; they are read with an unpickler that builds NumPy arrays only.

    Args:
        label_mode: "fine" (the 100 classes, from the batches' `fine_labels`) or "coarse"
            (the 20 superclasses, from `coarse_labels`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images `(50000, 32, 32, 3)` and
        `(10000, 32, 32, 3)` (channels-first when `image_data_format()` is
        "channels_first"), labels `(50000, 1)` and `(10000, 1)` of NumPy's default integer
        type (int64), as Keras gives them (Keras casts CIFAR-10's labels to uint8, not these).
    """
    if label_mode not in _LABEL_MODES:
        raise ValueError(f'cifar100.load_data: `label_mode` must be one of "fine", "coarse"; got {label_mode!r}')
    return keras_arrays(_distribution().read(f"{label_mode}_labels"), n_train=1)
