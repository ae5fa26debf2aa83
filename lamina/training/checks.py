"""What is checked before any compute, on every path data enters: arrays, streams, validation data.

All checks run on the host with NumPy and name what is wrong: non-finite values (with the first bad
position), targets that do not fit the loss (label ranges, one-hot vs indices, shapes that would
broadcast), batches whose x and y disagree in rows, and a stream whose batches change shape.
The likely mistakes Keras lets through (unscaled inputs, softmax with binary cross-entropy) are warned,
once per fit.
"""

import warnings

import jax
import numpy as np

from lamina.training import compile_utils


def check_finite(tree, what):
    """Raise if a float array holds NaN or inf, naming the first bad position.

    Returns the largest absolute value over the float arrays (0.0 if none). Two plain
    reductions (min, max) per array, which NaN and inf propagate through; the slower
    search for the position runs only when something is wrong.
    """
    largest = 0.0
    for path, arr in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if arr is None or not np.issubdtype(np.asarray(arr).dtype, np.floating) or not np.size(arr):
            continue
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if np.isfinite(lo) and np.isfinite(hi):
            largest = max(largest, -lo, hi)
            continue
        bad = ~np.isfinite(arr)
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(arr[where]) else "inf"
        raise ValueError(
            f"{what + jax.tree_util.keystr(path)} contains {int(bad.sum())} non-finite value(s); the first is "
            f"{kind} at index {where}. Clean or impute the data (e.g. np.nan_to_num or dropping rows) before "
            "training."
        )
    return largest


def check_batch(setup, x, y, sample_weight, what=""):
    """Finite values and targets that fit each output's loss; returns the largest |x| (for the scale warning)."""
    largest = check_finite(x, f"{what}x")
    check_finite(y, f"{what}y")
    check_finite(sample_weight, f"{what}sample_weight")
    if setup.compile_loss is not None and y is not None:
        y_flat = compile_utils.flatten_targets(y, setup.names, f"{what}y")
        try:
            compile_utils.validate_targets(setup.compile_loss, y_flat, setup.y_pred_shapes)
        except ValueError as err:
            raise ValueError(f"{what}{err}" if what else str(err)) from None
    return largest


def warn_likely_mistakes(model, setup, largest):
    """Warnings for training data: an output activation that does not fit the loss, unscaled inputs."""
    if setup.compile_loss is not None:
        compile_utils.output_activation_warnings(setup.output_layers, setup.compile_loss, setup.y_pred_shapes)
    if largest >= 1000 and not _scales_its_inputs(model):
        warnings.warn(
            f"Input values reach {largest:.4g}: unscaled inputs in the thousands slow or stall training. "
            "Standardize them (e.g. a `Normalization` layer with `adapt`, or (x - mean) / std).",
            stacklevel=5,
        )


def _scales_its_inputs(model):
    """Whether the first layer rescales or looks up its inputs (then large raw values are fine)."""
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    return type(first).__name__ in ("Normalization", "Rescaling", "BatchNormalization", "Embedding")


class StreamChecks:
    """Checks every batch of a stream (on the prefetching thread): the first batch's structure and trailing
    shapes hold for all; x, y and sample weights agree in rows; values and targets pass `check_batch`."""

    def __init__(self, setup, what=""):
        self.setup = setup
        self.what = what
        self.first = None
        self.count = 0

    def __call__(self, batch):
        x, y, sample_weight = batch
        self.count += 1
        where = f"{self.what}batch {self.count} of the data: "
        rows = {name: _rows(tree) for name, tree in (("x", x), ("y", y), ("sample_weight", sample_weight))
                if tree is not None}
        if len(set(rows.values())) > 1:
            raise ValueError(f"{where}the arrays disagree in rows ({', '.join(f'{k}: {v}' for k, v in rows.items())}); "
                             "every batch needs one target (and weight) per input row.")
        spec = jax.tree_util.tree_map(lambda a: np.shape(a)[1:], batch)
        structure = jax.tree_util.tree_structure(batch)
        if self.first is None:
            self.first = (structure, spec)
        elif (structure, spec) != self.first:
            raise ValueError(f"{where}its structure or per-row shapes {spec} differ from the first batch's "
                             f"{self.first[1]}; every batch must have the same features.")
        check_batch(self.setup, x, y, sample_weight, where)
        return batch


def _rows(tree):
    sizes = {np.shape(a)[0] for a in jax.tree_util.tree_leaves(tree) if np.ndim(a)}
    return sizes.pop() if len(sizes) == 1 else sorted(sizes)
