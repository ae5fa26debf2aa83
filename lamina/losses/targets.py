"""Label checks against the loss before training (host side, NumPy)."""

import warnings

import numpy as np

from lamina.losses.base import Loss
from lamina.losses.classes import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
)
from lamina.losses.lookup import _from_function, get


def loss_kind(loss):
    if isinstance(loss, str):
        try:
            loss = get(loss)
        except ValueError:
            return None
    elif not isinstance(loss, Loss) and callable(loss):
        loss = _from_function(loss)
    if isinstance(loss, (CategoricalCrossentropy, CategoricalFocalCrossentropy)):
        return "categorical"
    if isinstance(loss, SparseCategoricalCrossentropy):
        return "sparse"
    if isinstance(loss, (BinaryCrossentropy, BinaryFocalCrossentropy)):
        return "binary"
    return None


def _first_bad(mask):
    idx = np.argwhere(mask)[0]
    return tuple(int(i) for i in idx) if len(idx) > 1 else int(idx[0])


def validate_targets(loss, y_true, y_pred_shape):
    """Check labels against the loss before training (host side, NumPy).

    Args:
        loss: loss name, function or Loss.
        y_true: all targets (array-like) for this output.
        y_pred_shape: the model output shape, e.g. (None, C).

    Raises ValueError for class indices given to categorical_crossentropy, sparse labels
    outside [0, C) (or not integers), and binary labels outside [0, 1]. Returns the list of
    warning messages it issued (also sent through `warnings.warn`).
    """
    kind = loss_kind(loss)
    if kind is None:
        _check_elementwise_shapes(loss, np.shape(y_true), y_pred_shape)
        return []
    y = np.asarray(y_true)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"Targets must be numeric arrays, got dtype {y.dtype}.")
    n_units = y_pred_shape[-1] if len(y_pred_shape) else None
    name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", kind))
    issued = []
    if kind == "categorical":
        looks_sparse = y.ndim == len(y_pred_shape) - 1 or (y.ndim == len(y_pred_shape) and y.shape[-1] == 1)
        if n_units is not None and n_units > 1 and looks_sparse:
            raise ValueError(
                f"Loss '{name}' expects one-hot targets of shape (n, {n_units}), but y has shape "
                f"{y.shape}: it looks like class indices. Use loss='sparse_categorical_crossentropy', "
                f"or convert y with lamina.utils.to_categorical(y, {n_units})."
            )
        if n_units is not None and y.ndim and y.shape[-1] != n_units:
            raise ValueError(
                f"Loss '{name}': targets have {y.shape[-1]} columns but the model outputs "
                f"{n_units} units (y.shape={y.shape}, output shape={tuple(y_pred_shape)})."
            )
        if y.size and y.ndim and n_units and n_units > 1:
            sums = y.reshape(-1, y.shape[-1]).astype(np.float64).sum(-1)
            if not np.allclose(sums, 1.0, atol=1e-3):
                row = int(np.argmax(np.abs(sums - 1.0) > 1e-3))
                msg = (
                    f"Loss '{name}': target rows should sum to 1 (one-hot or probabilities); row "
                    f"{row} sums to {sums[row]:g}. For several labels per sample use "
                    "binary_crossentropy with sigmoid outputs."
                )
                warnings.warn(msg, stacklevel=2)
                issued.append(msg)
    elif kind == "sparse":
        if y.ndim == len(y_pred_shape) and y.shape[-1] == n_units and n_units and n_units > 1:
            raise ValueError(
                f"Loss '{name}' expects one class index per sample, but y has shape {y.shape} "
                f"matching the output ({n_units} units): it looks one-hot. Use "
                "loss='categorical_crossentropy'."
            )
        yf = y.astype(np.float64)
        bad = yf != np.round(yf)
        if bad.any():
            at = _first_bad(bad)
            raise ValueError(
                f"Loss '{name}' expects integer class indices; got {y[at].item()!r} at index {at}."
            )
        ignore = getattr(loss, "ignore_class", None)
        if n_units is not None:
            bad = (yf < 0) | (yf >= n_units)
            if ignore is not None:
                bad &= yf != ignore
            if bad.any():
                at = _first_bad(bad)
                raise ValueError(
                    f"Loss '{name}': label {y[at].item()!r} at index {at} is outside [0, {n_units}) for a "
                    f"model with {n_units} output units. Labels must be 0..{n_units - 1}."
                )
    elif kind == "binary":
        bad = (y < 0) | (y > 1)
        if bad.any():
            at = _first_bad(bad)
            hint = ""
            if np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y)):
                hint = (
                    " For more than two classes use sparse_categorical_crossentropy with a softmax "
                    "output of one unit per class."
                )
            raise ValueError(
                f"Loss '{name}' expects targets in [0, 1]; got {y[at].item()!r} at index {at}.{hint}"
            )
    return issued


def _lamina_loss(loss):
    """The built-in Loss behind `loss` (a name, a lamina Loss or a lamina loss function), else None."""
    if isinstance(loss, str):
        try:
            loss = get(loss)
        except ValueError:
            return None
    elif not isinstance(loss, Loss) and callable(loss):
        if not getattr(loss, "__module__", "").startswith("lamina."):
            return None
        loss = _from_function(loss)
    if not isinstance(loss, Loss) or not type(loss).__module__.startswith("lamina."):
        return None
    fn = getattr(loss, "fn", None)
    if fn is not None and not getattr(fn, "__module__", "").startswith("lamina."):
        return None
    return loss


def _check_elementwise_shapes(loss, y_shape, y_pred_shape):
    """A built-in element-wise loss (mse, mae, hinge, ...) needs targets shaped like the output.

    Keras broadcasts e.g. y of shape (n, 3) against a (n, 1) output and trains on a wrong loss
    without a word; here it is an error. Ranks may differ by one trailing unit axis (Keras's rule).
    """
    found = _lamina_loss(loss)
    if found is None or not len(y_shape):
        return
    want = tuple(y_pred_shape[1:])
    got = tuple(y_shape[1:])
    if len(got) == len(want) + 1 and got and got[-1] == 1:
        got = got[:-1]
    elif len(want) == len(got) + 1 and want and want[-1] == 1:
        want = want[:-1]
    if len(got) == len(want) and all(w is None or g == w for g, w in zip(got, want)):
        return
    raise ValueError(
        f"Loss '{found.name}': targets of shape {tuple(y_shape)} do not match the model output "
        f"{tuple(y_pred_shape)}; the loss would broadcast them against each other and train on a wrong value. "
        f"Give one target per output unit (y of shape (n, {', '.join(str(d) for d in y_pred_shape[1:])}))."
    )
