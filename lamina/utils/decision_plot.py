"""`plot_decision_boundary`: the regions a classifier of 2-D points assigns to each class."""

import numpy as np

from lamina.utils import plotting


def _grid(x, resolution, margin):
    low, high = x.min(axis=0), x.max(axis=0)
    pad = np.maximum((high - low) * margin, 1e-3)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return gx, gy, np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def _predict(model, points):
    if hasattr(model, "predict"):
        return np.asarray(model.predict(points, verbose=0, batch_size=max(len(points), 1)))
    if callable(model):
        return np.asarray(model(points))
    raise TypeError(f"plot_decision_boundary needs a model (with `predict`) or a function of points, got {model!r}.")


def plot_decision_boundary(model, x, y, to_file=None, resolution=200, margin=0.1, title=None, ax=None):
    """Colour the plane by the model's predicted class and draw the points `(x, y)` on top.

    Args:
        model: a model taking inputs of shape `(n, 2)` (or any function `points [n, 2] -> scores`).
            One output unit (sigmoid) is read as P(class 1) and shaded by probability with the
            0.5 contour drawn; `k > 1` outputs are read as class scores (argmax).
        x: `(n, 2)` points; y: `(n,)` class indices (or one-hot `(n, k)`).
        resolution: grid points per axis; margin: extra room around the data, as a fraction of its range.
        to_file: write the picture there and return the path; else return the Figure.
        ax: draw into this matplotlib Axes instead (returns the Axes) — for grids of pictures.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary draws 2-D inputs: `x` must have shape (n, 2), got {x.shape}.")
    y = np.asarray(y)
    y = np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"`x` has {len(x)} points but `y` has {len(y)} labels.")
    gx, gy, points = _grid(x, resolution, margin)
    scores = _predict(model, points)
    scores = scores.reshape(len(points), -1)
    fig = None
    if ax is None:
        fig, ax = plotting.figure(width=5, height=4.6, interactive=to_file is None)
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    if scores.shape[1] == 1:
        p = scores[:, 0].reshape(gx.shape)
        cmap = LinearSegmentedColormap.from_list("lamina_two", [plotting.COLORS[0], "#ffffff", plotting.COLORS[1]])
        ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.55, vmin=0, vmax=1)
        if p.min() < 0.5 < p.max():
            ax.contour(gx, gy, p, levels=[0.5], colors="#333333", linewidths=1.2)
    else:
        k = scores.shape[1]
        predicted = np.argmax(scores, axis=1)
        cmap = ListedColormap([plotting.class_color(i) for i in range(k)])
        ax.contourf(gx, gy, predicted.reshape(gx.shape), levels=np.arange(-0.5, k), cmap=cmap, alpha=0.35)
    for k in np.unique(y):
        chosen = y == k
        ax.scatter(x[chosen, 0], x[chosen, 1], s=14, color=plotting.class_color(k), edgecolor="white",
                   linewidth=0.4, label=f"class {int(k) if float(k).is_integer() else k}")
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    plotting.style(ax, title=title, xlabel="$x_1$", ylabel="$x_2$", grid=False, legend=len(np.unique(y)) <= 4)
    if fig is None:
        return ax
    return plotting.save(fig, to_file)
