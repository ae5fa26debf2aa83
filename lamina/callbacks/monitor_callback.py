"""`MonitorCallback`: the shared base of callbacks that watch one logged quantity (EarlyStopping,
ReduceLROnPlateau, ModelCheckpoint): which way is better, and whether a value improves on another."""

import operator
import warnings

from lamina.callbacks.callback import Callback


class MonitorCallback(Callback):
    """Watches `monitor` in the epoch logs.

    Args:
        monitor: the logged quantity ("val_loss", "accuracy", ...).
        mode: "min", "max", or "auto" (from the quantity: a loss goes down; a metric goes its own way,
            as Keras's metrics declare it; an unknown direction is an error asking for the mode).
        baseline: an initial "best" value, or None (the first value seen).
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor.removeprefix("val_")
            if name == "loss":
                self.monitor_op = operator.lt
            for metric in self._compiled_metrics():
                if metric.name == name and getattr(metric, "_direction", None):
                    self.monitor_op = operator.gt if metric._direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but lamina cannot tell whether "
                    "that metric should be maximized or minimized. Pass mode='max' to monitor the highest value, or "
                    "mode='min' for the lowest."
                )
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _compiled_metrics(self):
        found = []
        for metric in getattr(self.model, "metrics", []) or []:
            found += getattr(metric, "metrics", None) or [] if hasattr(metric, "entries") else [metric]
        return found

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return self.monitor_op(value - self.min_delta, reference)
