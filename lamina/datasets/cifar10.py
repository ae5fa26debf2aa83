"""CIFAR-10: 50000 train + 10000 test 32x32 RGB uint8 images in 10 classes.

Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship,
9 truck (see `CLASS_NAMES`).
"""

import tarfile

import numpy as np

from lamina.datasets._files import Layout, Remote, fetch
from lamina.datasets._readers import read_cifar_batch

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_FOLDER = "cifar-10-batches-py"


def _layouts():
    return [
        Layout(
            tuple(f"cifar-10-batches-py-target/{_FOLDER}/{b}" for b in _BATCHES),
            "Keras 3's extracted cache folder",
        ),
        Layout(tuple(f"{_FOLDER}/{b}" for b in _BATCHES), "the extracted official archive (Keras 2's cache)"),
        Layout(("cifar-10-python.tar.gz",), f"the official archive, from {_URL}"),
        Layout(("cifar-10-batches-py-target_archive",), "the official archive as Keras 3 saves it"),
    ]


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
    layouts = _layouts()
    _, paths = fetch("CIFAR-10", layouts, [Remote("cifar-10-python.tar.gz", _URL, _SHA256)])
    if len(paths) == 1:
        batches = _read_tar(paths[0])
    else:
        batches = []
        for p in paths:
            with open(p, "rb") as f:
                batches.append(read_cifar_batch(f))
    x_train = np.concatenate([b[0] for b in batches[:5]])
    y_train = np.concatenate([np.asarray(b[1], dtype=np.uint8) for b in batches[:5]]).reshape(-1, 1)
    x_test, y_test = batches[5][0], np.asarray(batches[5][1], dtype=np.uint8).reshape(-1, 1)
    if _image_data_format() == "channels_last":
        x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)


def _read_tar(path):
    """The six batches from the archive, read in one pass over it (members in any order)."""
    wanted = {f"{_FOLDER}/{name}": name for name in _BATCHES}
    found = {}
    with tarfile.open(path) as archive:
        for member in archive:
            name = wanted.get(member.name)
            if name is None or not member.isfile():
                continue
            with archive.extractfile(member) as f:
                found[name] = read_cifar_batch(f)
    missing = [n for n in _BATCHES if n not in found]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)} under {_FOLDER}/; is it the CIFAR-10 python archive?")
    return [found[n] for n in _BATCHES]


def _image_data_format():
    # lamina.backend.config imports jax; read the setting only if that module is already loaded.
    import sys

    config = sys.modules.get("lamina.backend.config")
    return config.image_data_format() if config is not None else "channels_last"
