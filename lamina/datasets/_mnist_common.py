"""Shared reader for the MNIST-format image sets (MNIST, Fashion-MNIST)."""

import numpy as np

from lamina.datasets._files import Layout
from lamina.datasets._readers import read_idx

#: IDX file names of the original distributions, in the order train images, train labels,
#: test images, test labels.
IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_layouts(folder, description):
    """The four IDX files in `folder`, gzipped (as distributed) or decompressed."""
    return [
        Layout(tuple(f"{folder}/{n}.gz" for n in IDX_NAMES), description + ", gzipped"),
        Layout(tuple(f"{folder}/{n}" for n in IDX_NAMES), description + ", decompressed"),
    ]


def load_idx_set(paths):
    """`((x_train, y_train), (x_test, y_test))` from the four IDX files, checked for consistency."""
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"inconsistent {part} IDX files: images {x.shape} and labels {y.shape} "
                "(expected images (n, rows, cols) and labels (n,))"
            )
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise ValueError(f"{part} IDX files must hold uint8 data, got {x.dtype} and {y.dtype}")
    return (x_train, y_train), (x_test, y_test)
