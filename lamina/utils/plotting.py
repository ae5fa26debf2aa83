"""The house style for lamina's pictures, and the one place that imports matplotlib.

matplotlib is an optional extra (`pip install "lamina[plot]"`); it is imported only when a
picture is asked for, and a missing install is one `ImportError` naming the extra.

    fig, ax = figure(title="Learning curves")     # (Figure, Axes); ncols/nrows > 1 give an array of Axes
    ax.plot(...); style(ax, xlabel="epoch", ylabel="loss")
    save(fig, "curves.png")                        # or show it (to_file=None returns the Figure)

With a `to_file`, pictures are drawn on a bare `matplotlib.figure.Figure` (no pyplot, no GUI
backend, no global state), so scripts and tests work on machines without a display; without
one, `figure(interactive=True)` makes the figure through pyplot so notebooks and `plt.show()`
display it.
"""

import os

import numpy as np

EXTRA = "plot"
# Colour-blind-safe qualitative palette (Okabe & Ito); class k of a picture always gets COLORS[k].
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
DPI = 120


def require():
    """The `matplotlib` module, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - exercised by monkeypatching in the tests
        raise ImportError(
            f"lamina's pictures need matplotlib, which is not installed. Install it with "
            f"`pip install \"lamina[{EXTRA}]\"` (or `pip install matplotlib`)."
        ) from error
    return matplotlib


def figure(nrows=1, ncols=1, width=None, height=None, title=None, interactive=False, squeeze=True):
    """A new `(Figure, axes)` in the house style.

    Args:
        nrows, ncols: the grid of panels; `axes` is one Axes for 1x1, else an array (as `plt.subplots`).
        width, height: inches; default 5.5 x 4 per panel (3.6 x 3.4 per panel in a grid).
        title: the figure's title (`suptitle`).
        interactive: make the figure through pyplot (shown by notebooks / `plt.show()`); else a bare
            Figure that only `save` writes.
    """
    require()
    panel_w, panel_h = (5.5, 4.0) if nrows * ncols == 1 else (3.6, 3.4)
    size = (width or panel_w * ncols, height or panel_h * nrows + (0.4 if title else 0))
    if interactive:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, dpi=DPI)
    else:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, dpi=DPI)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze)
    if title:
        fig.suptitle(title, fontsize=12, fontweight="bold")
    return fig, axes


def style(ax, title=None, xlabel=None, ylabel=None, grid=True, legend=False):
    """Titles, labels, a light grid and (optionally) a legend on `ax`."""
    if title:
        ax.set_title(title, fontsize=10)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if grid:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend:
        ax.legend(frameon=False, fontsize=8)
    return ax


def save(fig, to_file, dpi=None, tight=True):
    """Write `fig` to `to_file` (format from the extension: .png, .svg, .pdf, .jpg) and return the path.

    `tight=False` keeps the figure's own layout (for drawings placed in inches). With `to_file=None`,
    returns `fig` unchanged (to show or to save later). The folder is created
    if needed; the file appears whole or not at all (written beside it, then renamed).
    """
    if to_file is None:
        return fig
    from lamina.utils.atomic import atomic_write

    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    folder = os.path.dirname(os.path.abspath(to_file))
    os.makedirs(folder, exist_ok=True)
    if tight:
        fig.tight_layout()
    with atomic_write(to_file) as tmp:
        fig.savefig(tmp, format=extension, dpi=dpi or DPI, bbox_inches="tight" if tight else None)
    if hasattr(fig, "canvas") and fig.canvas.manager is not None:  # a pyplot figure: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return to_file


def class_color(k):
    return COLORS[int(k) % len(COLORS)]


def as_history_dict(history):
    """`{name: [value per epoch]}` from a `History` (anything with a `.history` dict) or a dict."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError(
            f"Expected a History (the return value of `model.fit`) or its `.history` dict, got {type(history).__name__}.")
    return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in logs.items()}
