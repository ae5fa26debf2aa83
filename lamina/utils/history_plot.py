"""`plot_history`: learning curves, the loss and each metric per epoch, training and validation together."""

import numpy as np

from lamina.utils import plotting


def _panels(logs, metrics):
    if metrics is None:
        names = [k for k in logs if not k.startswith("val_")]
        names.sort(key=lambda k: (k != "loss", list(logs).index(k)))
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        missing = [m for m in names if m not in logs and f"val_{m}" not in logs]
        if missing:
            raise ValueError(f"plot_history: no {missing} in the history; it has {sorted(logs)}.")
    if not names:
        raise ValueError("plot_history: the history is empty (was `fit` run with epochs >= 1?).")
    return names


def plot_history(history, metrics=None, to_file=None, title=None):
    """One panel per quantity (the loss first): training and validation curves on the same axes.

    Args:
        history: the `History` returned by `model.fit`, or its `.history` dict.
        metrics: the names to draw (e.g. `["loss", "accuracy"]`); default every logged quantity
            except the `val_` twins, which are drawn next to their training curve.
        to_file: write the picture there (.png, .svg, .pdf) and return the path; else return the Figure.

    The best validation epoch (lowest for losses and errors, highest otherwise) is marked.
    """
    logs = plotting.as_history_dict(history)
    names = _panels(logs, metrics)
    fig, axes = plotting.figure(ncols=len(names), title=title, interactive=to_file is None, squeeze=False,
                                width=min(4.6 * len(names), 18), height=3.8 + (0.4 if title else 0))
    for ax, name in zip(axes[0], names):
        for key, label, color, dash in ((name, "training", plotting.COLORS[0], "-"),
                                        (f"val_{name}", "validation", plotting.COLORS[1], "--")):
            if key not in logs:
                continue
            values = logs[key]
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, dash, color=color, label=label, marker="o" if len(values) <= 20 else None,
                    markersize=3, linewidth=1.6)
            if key.startswith("val_") and len(values):
                lower_is_better = any(w in name for w in ("loss", "error", "crossentropy", "hinge"))
                best = int(np.nanargmin(values) if lower_is_better else np.nanargmax(values))
                ax.plot(best + 1, values[best], "*", color=color, markersize=11, label=f"best: epoch {best + 1}")
        if len(logs[name if name in logs else f"val_{name}"]) <= 12:
            ax.set_xticks(np.arange(1, len(logs[name if name in logs else f"val_{name}"]) + 1))
        plotting.style(ax, title=name, xlabel="epoch", ylabel=name, legend=True)
    return plotting.save(fig, to_file)
