"""Pima Indians Diabetes: 768 patients, 8 numeric features, label 1 = diabetes within 5 years.

The data set behind the classic first Keras model
(`Dense(12, input_dim=8, activation="relu") -> Dense(8) -> Dense(1, activation="sigmoid")`).
It ships inside lamina (`lamina/datasets/data/pima-indians-diabetes.csv`, 23 KB), so it
never needs the network. Missing measurements are coded as 0, as in the original file.
"""

import os
from importlib import resources

import numpy as np

from lamina.datasets._readers import shuffle_split

FEATURE_NAMES = (
    "pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi",
    "diabetes_pedigree", "age",
)  # fmt: skip

_BUNDLED = "pima-indians-diabetes.csv"


def data_path():
    """Path of the bundled CSV (no header; 9 comma-separated columns, label last)."""
    return os.fspath(resources.files("lamina.datasets").joinpath("data", _BUNDLED))


def load_data(path=None, test_split=0.0, seed=113):
    """Load Pima Indians Diabetes.

    Args:
        path: a CSV in the same format to read instead of the bundled copy.
        test_split: fraction held out as test set. With the default 0 every row is in the
            training part, in file order (what `np.loadtxt(...)[:, :8]` gives); otherwise rows
            are shuffled with `np.random.RandomState(seed)` first, like Keras's loaders.
        seed: shuffle seed.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float32 features `(n, 8)`, int32 labels `(n,)`
        (0 or 1); 768 rows in all.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"pima_indians_diabetes.load_data: `test_split` must be in [0, 1), got {test_split}")
    table = np.loadtxt(data_path() if path is None else os.fspath(path), delimiter=",", ndmin=2)
    if table.shape[1] != 9:
        raise ValueError(f"pima_indians_diabetes: expected 9 columns (8 features + label), got {table.shape[1]}")
    labels = table[:, 8]
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("pima_indians_diabetes: the last column must hold 0/1 labels")
    x, y = table[:, :8].astype(np.float32), labels.astype(np.int32)
    if test_split == 0:
        return (x, y), (x[:0], y[:0])
    return shuffle_split(x, y, test_split, seed)
