"""Boston housing prices: 506 districts, 13 features, target = median value in k$.

Ethics warning (as in Keras): feature "B" encodes a racial statistic; use this data set
only to discuss such problems. `california_housing` is the usual replacement.
"""

import numpy as np

from lamina.datasets._files import KERAS_ORIGIN, Layout, Remote, direct_file, fetch
from lamina.datasets._readers import read_table, shuffle_split

_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"

FEATURE_NAMES = (
    "CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT",
)  # fmt: skip


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Load Boston housing like `keras.datasets.boston_housing.load_data`.

    Reads Keras's `boston_housing.npz` (named by `path`) or StatLib's whitespace-separated
    `boston_housing/housing.data`; rows are shuffled with `np.random.RandomState(seed)` and
    the first `int(506 * (1 - test_split))` go to training (404/102 by default).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 `(n, 13)` features and `(n,)` targets.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: `test_split` must be in [0, 1), got {test_split}")
    direct = direct_file(path)
    if direct is not None:
        x, y = _from_npz(direct)
    else:
        npz = Layout((path,), f"Keras's cache file, from {KERAS_ORIGIN}boston_housing.npz")
        original = Layout(("boston_housing/housing.data",), "StatLib's original whitespace-separated file")
        layout, paths = fetch(
            "Boston housing", [npz, original], [Remote(path, KERAS_ORIGIN + "boston_housing.npz", _SHA256)]
        )
        x, y = _from_npz(paths[0]) if layout is npz else _from_original(paths[0])
    return shuffle_split(x, y, test_split, seed)


def _from_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return f["x"], f["y"]


def _from_original(path):
    table = read_table(path)
    if table.shape[1] != 14:
        raise ValueError(f"{path}: expected 14 columns (13 features + MEDV), got {table.shape[1]}")
    return table[:, :13], table[:, 13]
