"""`confusion_matrix` (NumPy) and `plot_confusion_matrix`: which classes a classifier mixes up."""

import numpy as np

from lamina.utils import plotting


def _labels(values, name):
    """Class indices `(n,)` from labels `(n,)` / `(n, 1)`, or from one-hot / probabilities `(n, k)` (argmax)."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] > 1:
        return np.argmax(array, axis=1)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be class indices of shape (n,) or scores of shape (n, k); got shape {array.shape}.")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(
                f"`{name}` holds non-integer values such as {array[array != np.round(array)][:3].tolist()}; "
                "confusion_matrix counts class indices. For one sigmoid output pass `(y_prob > 0.5).astype(int)`.")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"`{name}` must hold class indices (integers), got dtype {array.dtype}.")
    return array.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Counts `[num_classes, num_classes]` (int64): row = true class, column = predicted class.

    Args:
        y_true, y_pred: class indices `(n,)` (or `(n, 1)`), or one-hot labels / predicted
            probabilities `(n, k)`, which are reduced with argmax.
        num_classes: the matrix size; default 1 + the largest index seen.

    Same layout as `tf.math.confusion_matrix` and scikit-learn's. A label outside
    `[0, num_classes)` or a length mismatch is a ValueError.
    """
    true, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(f"`y_true` has {len(true)} samples but `y_pred` has {len(pred)}.")
    seen = int(max(true.max(initial=-1), pred.max(initial=-1))) + 1
    if num_classes is None:
        num_classes = max(seen, 1)
    elif seen > num_classes:
        raise ValueError(f"Class index {seen - 1} is outside [0, num_classes={num_classes}).")
    if min(true.min(initial=0), pred.min(initial=0)) < 0:
        raise ValueError("Class indices must be >= 0; got a negative label.")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    return counts


def plot_confusion_matrix(y_true, y_pred, class_names=None, num_classes=None, normalize=False, to_file=None,
                          title=None, ax=None):
    """Draw the confusion matrix as a heat map with the count (or row fraction) in each cell.

    Args:
        y_true, y_pred: as for `confusion_matrix`.
        class_names: tick labels, one per class (default the indices).
        normalize: show each row as fractions of the true class (recall on the diagonal).
        to_file: write the picture there and return the path; else return the Figure.
        ax: draw into this matplotlib Axes instead of a new figure (returns the Axes).
    """
    counts = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    k = len(counts)
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"`class_names` has {len(class_names)} names but the matrix has {k} classes.")
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    fig = None
    if ax is None:
        side = min(max(4.0, 0.55 * k + 2.5), 12.0)
        fig, ax = plotting.figure(width=side + 1, height=side, interactive=to_file is None)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=max(float(values.max()), 1e-9))
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = values.max() / 2
    if k <= 30:
        for i in range(k):
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalize else f"{counts[i, j]:d}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7 if k > 10 else 9,
                        color="white" if values[i, j] > threshold else "#222222")
    ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(k), names)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    plotting.style(ax, title=title or f"Confusion matrix (accuracy {accuracy:.1%})",
                   xlabel="predicted class", ylabel="true class", grid=False)
    if fig is None:
        return ax
    return plotting.save(fig, to_file)
