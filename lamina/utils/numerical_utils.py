"""Label and array helpers: `to_categorical` (validating) and `normalize`."""

import numpy as np

from lamina.backend.memory import check_fits


def _where(arr, mask):
    """Human-readable position of the first True in `mask` ("index 4" or "index (2, 0)")."""
    pos = np.unravel_index(int(np.argmax(mask)), arr.shape) if arr.ndim else ()
    if len(pos) == 1:
        return f"index {int(pos[0])}"
    return f"index {tuple(int(p) for p in pos)}"


def _as_class_indices(x):
    """Integer int64 array of class indices, or an error naming the first bad value."""
    try:
        arr = np.asarray(x)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"to_categorical: `x` must be a rectangular array of class indices ({e})") from e
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"to_categorical: `x` must hold integer class indices; got non-numeric values ({e}). "
                "Map string labels to integers first, e.g. `classes, y = np.unique(labels, return_inverse=True)`."
            ) from e
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.int64)
    if kind in "iu":
        if kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"to_categorical: label {arr.max()} is too large to be a class index")
        return arr.astype(np.int64)
    if kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            raise ValueError(f"to_categorical: `x` contains NaN at {_where(arr, nan)}; class labels must be integers")
        huge = ~np.isfinite(arr) | (np.abs(arr) > np.iinfo(np.int64).max)
        if huge.any():
            value = (arr[np.unravel_index(int(np.argmax(huge)), arr.shape)] if arr.ndim else arr).item()
            raise ValueError(f"to_categorical: `x` holds {value} at {_where(arr, huge)}, which is not a class index")
        bad = arr != np.round(arr)
        if bad.any():
            value = (arr[np.unravel_index(int(np.argmax(bad)), arr.shape)] if arr.ndim else arr).item()
            raise ValueError(
                f"to_categorical: `x` must hold integer class indices; found non-integer value {value} "
                f"at {_where(arr, bad)} (Keras would silently truncate it)"
            )
        return arr.astype(np.int64)
    raise TypeError(
        f"to_categorical: `x` must hold integer class indices, got dtype {arr.dtype}. "
        "Map string labels to integers first, e.g. `classes, y = np.unique(labels, return_inverse=True)`."
    )


def to_categorical(x, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels.

    Args:
        x: class indices, array-like of shape `(...)` or `(..., 1)` (a trailing size-1 axis is
            dropped, as in Keras). Values must be integers (integer-valued floats and bools
            are accepted) in `[0, num_classes)`.
        num_classes: number of classes; default `max(x) + 1`.
        dtype: output dtype (Keras 3 has no such argument; Keras 2 did).

    Returns:
        NumPy array of shape `x.shape + (num_classes,)` (after dropping a trailing 1), float32.

    Raises:
        ValueError: naming the first negative label, label `>= num_classes`, non-integer
            value or NaN. (Keras maps `-1` silently to the last class; lamina refuses.)
        TypeError: non-numeric labels (e.g. strings).
    """
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"to_categorical: `num_classes` must be a positive int or None, got {num_classes!r}")
        num_classes = int(num_classes)
    labels = _as_class_indices(x)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    if labels.size and labels.min() < 0:
        neg = labels < 0
        value = labels[np.unravel_index(int(np.argmax(neg)), labels.shape)]
        raise ValueError(
            f"to_categorical: class labels must be >= 0; found {value} "
            f"at {_where(labels, neg)}. (Keras would silently map it to the last class.) "
            "Shift or remap the labels so they run from 0 to num_classes - 1."
        )
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: cannot infer `num_classes` from an empty `x`; pass num_classes")
        num_classes = int(labels.max()) + 1
    elif labels.size and labels.max() >= num_classes:
        big = labels >= num_classes
        value = labels[np.unravel_index(int(np.argmax(big)), labels.shape)]
        raise ValueError(
            f"to_categorical: found label {value} at {_where(labels, big)}, but num_classes={num_classes} "
            f"(valid labels are 0..{num_classes - 1}). Pass num_classes={int(labels.max()) + 1} or fix the labels."
        )
    flat = labels.reshape(-1)
    check_fits(flat.shape[0] * num_classes * np.dtype(dtype).itemsize,
               f"to_categorical: a one-hot array of {flat.shape[0]} rows x {num_classes} classes")
    out = np.zeros((flat.shape[0], num_classes), dtype=dtype)
    out[np.arange(flat.shape[0]), flat] = 1
    return out.reshape(tuple(shape) + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divide `x` by its `order`-norm along `axis` (zero norms are left as 1, so zeros stay zeros).

    Args:
        x: array-like; NumPy in, NumPy out (a JAX array comes back as a JAX array).
        axis: axis along which the norm is taken.
        order: norm order passed to `np.linalg.norm` (2 = L2).

    Returns:
        Array of the same shape as `x` (float; integer input gives float64).
    """
    is_jax = type(x).__module__.startswith("jax")
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = arr.reshape(1)  # a scalar is treated as a vector of one, as Keras's ops path does
    norm = np.linalg.norm(arr, order, axis, keepdims=True)
    norm[norm == 0] = 1
    # Same numbers as Keras's NumPy path; unlike it, the output keeps `x`'s shape for 1-D
    # input (Keras returns (1, n)) and axis=0 works (Keras fails to broadcast).
    out = arr / norm
    if is_jax:
        import jax.numpy as jnp

        return jnp.asarray(out)
    return out
