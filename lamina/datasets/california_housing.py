"""California housing (StatLib, 1990 census): 20640 block groups, 8 features, target in $."""

import numpy as np

from lamina.datasets._files import KERAS_ORIGIN, Layout, Remote, direct_file, fetch
from lamina.datasets._readers import read_table, shuffle_split

_SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"

#: Column order of `x` (that of StatLib's `cal_housing.data`, which Keras's .npz keeps).
FEATURE_NAMES = (
    "longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms", "population",
    "households", "median_income",
)  # fmt: skip


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Load California housing like `keras.datasets.california_housing.load_data`.

    Reads Keras's `california_housing.npz` (named by `path`) or StatLib's comma-separated
    `california_housing/cal_housing.data` (a header line, if any, is skipped). Both give
    float32 arrays in the file's column order (see `FEATURE_NAMES`), target
    `median_house_value`. `version="small"` keeps the first 600 rows. Rows are then shuffled
    with `np.random.RandomState(seed)` and split like Keras.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float32 `(n, 8)` features, `(n,)` targets
        (16512/4128 rows for "large", 480/120 for "small").
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"california_housing.load_data: `test_split` must be in [0, 1), got {test_split}")
    if version not in ("small", "large"):
        raise ValueError(f"california_housing.load_data: `version` must be 'small' or 'large', got {version!r}")
    direct = direct_file(path)
    if direct is not None:
        x, y = _from_npz(direct)
    else:
        npz = Layout((path,), f"Keras's cache file, from {KERAS_ORIGIN}california_housing.npz")
        originals = [
            Layout(("california_housing/cal_housing.data",), "StatLib's original comma-separated file"),
            Layout(("CaliforniaHousing/cal_housing.data",), "StatLib's cal_housing.tgz, extracted"),
        ]
        layout, paths = fetch(
            "California housing",
            [npz] + originals,
            [Remote(path, KERAS_ORIGIN + "california_housing.npz", _SHA256)],
        )
        x, y = _from_npz(paths[0]) if layout is npz else _from_original(paths[0])
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffle_split(x, y, test_split, seed)


def _from_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return f["x"], f["y"]


def _from_original(path):
    table = read_table(path, delimiter=",")
    if table.shape[1] != 9:
        raise ValueError(f"{path}: expected 9 columns (8 features + median_house_value), got {table.shape[1]}")
    return table[:, :8].astype(np.float32), table[:, 8].astype(np.float32)
