"""`split_dataset`: cut NumPy data into a left part and a right part (e.g. train / test)."""

import numpy as np


def _check_size(name, size, total):
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"split_dataset: `{name}` must be an int, a float or None, got {type(size).__name__}")
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"split_dataset: a float `{name}` must be in (0, 1), got {size}")
    elif not 0 < size < total:
        raise ValueError(f"split_dataset: an int `{name}` must be in [1, {total - 1}] for {total} samples, got {size}")


def _count(size, total):
    if isinstance(size, (float, np.floating)):
        return int(round(float(size) * total))
    return int(size)


def _split_sizes(left_size, right_size, total):
    """Keras's rule: floats are fractions (rounded), ints are counts, None is the complement."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: pass `left_size`, `right_size` or both (got neither)")
    _check_size("left_size", left_size, total)
    _check_size("right_size", right_size, total)
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError(f"split_dataset: left_size + right_size = {left_size + right_size} is more than 1")
    left = total - _count(right_size, total) if left_size is None else _count(left_size, total)
    right = total - left if right_size is None else _count(right_size, total)
    if left + right > total:
        raise ValueError(
            f"split_dataset: left ({left}) + right ({right}) samples are more than the {total} available"
        )
    if left == 0 or right == 0:
        side = "left" if left == 0 else "right"
        raise ValueError(
            f"split_dataset: with {total} samples, left_size={left_size} and right_size={right_size} "
            f"leave the {side} part empty; adjust the sizes"
        )
    return left, right


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split NumPy data into `(left, right)`.

    lamina's version works on in-memory data and returns NumPy, not `tf.data` datasets.

    Args:
        dataset: an array of shape `(n, ...)`, a tuple/list of arrays with the same first
            dimension `n` (e.g. `(x, y)`), or a dict of such arrays.
        left_size: float in (0, 1) = fraction of samples (rounded), int = sample count,
            None = the complement of `right_size`.
        right_size: same for the right part; None = the complement of `left_size`.
        shuffle: shuffle the samples (the same permutation for every array) before splitting.
        seed: int seed for the shuffle (`np.random.default_rng(seed)`).

    Returns:
        `(left, right)`, each with the structure of `dataset` (an array, a tuple of arrays, or
        a dict). `left` holds the first `left_size` samples and `right` the last `right_size`
        ones (samples in between, if the sizes do not add up to `n`, are dropped).
    """
    if isinstance(dataset, dict):
        keys = list(dataset)
        arrays = [np.asarray(dataset[k]) for k in keys]
        rebuild = lambda parts: dict(zip(keys, parts))  # noqa: E731
    elif isinstance(dataset, (tuple, list)) and dataset and all(hasattr(a, "__len__") for a in dataset):
        arrays = [np.asarray(a) for a in dataset]
        rebuild = tuple
    elif hasattr(dataset, "__len__") and not isinstance(dataset, (str, bytes)):
        arrays = [np.asarray(dataset)]
        rebuild = lambda parts: parts[0]  # noqa: E731
    else:
        raise TypeError(
            "split_dataset: `dataset` must be a NumPy array, a tuple/list of arrays or a dict of arrays, "
            f"got {type(dataset).__name__}"
        )
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("split_dataset: every array in `dataset` needs a first (sample) axis")
    total = len(arrays[0])
    for i, a in enumerate(arrays):
        if len(a) != total:
            raise ValueError(
                f"split_dataset: all arrays need the same number of samples; array 0 has {total}, "
                f"array {i} has {len(a)}"
            )
    left, right = _split_sizes(left_size, right_size, total)
    if shuffle:
        order = np.random.default_rng(seed).permutation(total)
        arrays = [a[order] for a in arrays]
    return rebuild([a[:left] for a in arrays]), rebuild([a[total - right :] for a in arrays])


def unpack_x_y_sample_weight(data):
    """A batch as Keras hands it to steps -> (x, y, sample_weight); a lone x gives (x, None, None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"A data batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)}.")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """(x,), (x, y) or (x, y, sample_weight): the shortest tuple holding what is given."""
    if y is None:
        return (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)
