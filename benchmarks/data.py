"""Benchmark data: Pima and Fashion-MNIST from `../shared/datasets`, or small synthetic stand-ins; generated
token sequences for the recurrent workload.

`size="full"` reads the real files (folder: `$LAMINA_BENCH_DATA`, default `<repo>/../shared/datasets`);
`size="tiny"` makes synthetic arrays of the same shapes per sample, for the smoke test.
The IDX files are parsed here with gzip + numpy, so the benchmark does not depend on `lamina.datasets`.
"""

import gzip
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def data_dir():
    """The folder holding `pima/` and `fashion-mnist/`."""
    return Path(os.environ.get("LAMINA_BENCH_DATA") or REPO.parent / "shared" / "datasets")


def _require(path):
    if not path.exists():
        raise FileNotFoundError(
            f"benchmark data file {path} is missing; point $LAMINA_BENCH_DATA at the folder that holds "
            "pima/ and fashion-mnist/, or run with --quick (synthetic data)."
        )
    return path


def read_idx(path):
    """An IDX file (gzipped) as a numpy array: big-endian header, magic 0x0000 <dtype 0x08> <ndim>."""
    with gzip.open(_require(path), "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def pima(size):
    """(X [n, 8] float64, y [n] float64): the 768-row Pima CSV, or 64 synthetic rows."""
    if size == "tiny":
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 8))
        return x, (x[:, 0] + x[:, 1] > 0).astype(np.float64)
    data = np.loadtxt(_require(data_dir() / "pima" / "pima-indians-diabetes.data.csv"), delimiter=",")
    return data[:, :8], data[:, 8]


def fashion(size):
    """((x_train [n, 28, 28] float32 in [0, 1], y_train [n] int32), (x_test, y_test)).

    Full: 60,000 / 10,000 Fashion-MNIST images; tiny: 512 / 256 synthetic images.
    """
    if size == "tiny":
        rng = np.random.default_rng(0)
        y = rng.integers(0, 10, size=768).astype(np.int32)
        x = (rng.random((768, 28, 28)) * 0.5 + y[:, None, None] / 20.0).astype(np.float32)
        return (x[:512], y[:512]), (x[512:], y[512:])
    folder = data_dir() / "fashion-mnist"
    parts = [read_idx(folder / f"{name}.gz") for name in
             ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    x_train, y_train, x_test, y_test = parts
    scale = lambda a: a.astype(np.float32) / 255.0  # noqa: E731
    return (scale(x_train), y_train.astype(np.int32)), (scale(x_test), y_test.astype(np.int32))


def sequences(size, length=100, vocabulary=10_000):
    """((x_train [n, length] int32, y_train [n] float32), (x_test, y_test)): generated "reviews".

    Token ids follow a Zipf-like law over `vocabulary` (0 is padding); each text has a random length
    (16..length, zero-padded in front, as `pad_sequences` does) and is positive when it holds more
    tokens from a "positive" set of 40 ids than from a "negative" one. Full: 12,800 / 2,560 texts;
    tiny: 256 / 64.
    """
    n_train, n_test = (256, 64) if size == "tiny" else (12_800, 2_560)
    rng = np.random.default_rng(0)
    n = n_train + n_test
    ranks = np.arange(1, vocabulary)
    weights = 1.0 / ranks
    tokens = rng.choice(ranks, size=(n, length), p=weights / weights.sum()).astype(np.int32)
    lengths = rng.integers(16, length + 1, size=n)
    tokens[np.arange(length)[None, :] < (length - lengths)[:, None]] = 0
    positive, negative = np.arange(20, 60), np.arange(60, 100)
    score = np.isin(tokens, positive).sum(axis=1) - np.isin(tokens, negative).sum(axis=1)
    labels = (score > 0).astype(np.float32)
    return (tokens[:n_train], labels[:n_train]), (tokens[n_train:], labels[n_train:])
