"""Progress display for fit / evaluate / predict, drawn with `rich`.

verbose=1: a live bar per epoch (and for evaluate and predict) with the step count, the ETA while running,
the time per step and the running metrics, in a terminal and in Jupyter. When the output is not a terminal
(a log file, a pipe, CI), it degrades to one clean line per epoch: no carriage returns, no escape codes.
verbose=2: one line per epoch (and per evaluate / predict). The engine reports progress after each compiled
chunk of steps (`update_chunk`), so the bar costs nothing inside the compiled loop.
"""

import sys
import time

from lamina.callbacks.callback import Callback

#: The bar is redrawn at most this often (seconds); the final state is always drawn.
REFRESH = 0.1


def format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in logs.items())


def _per_step(seconds, steps):
    per_step = seconds / max(steps, 1)
    if per_step >= 1:
        return f"{per_step:.0f}s/step"
    return f"{per_step * 1e3:.0f}ms/step" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us/step"


def _interactive(stream):
    """A terminal, or a Jupyter kernel that can show rich's live widget (it needs ipywidgets)."""
    if hasattr(stream, "isatty") and stream.isatty():
        return True
    if "ipykernel" not in sys.modules:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class Progbar:
    """One bar: `update(done, logs)` while running, `finish(logs)` at the end (prints the final line).

    Args:
        target: the number of steps (None when unknown).
        stream: where to draw (default: stdout at creation).
        live: draw a live bar when `stream` is a terminal or Jupyter (False: only the final line).
    """

    def __init__(self, target, stream=None, live=True):
        self.target = target
        self.stream = stream or sys.stdout
        self.start = time.monotonic()
        self.done = 0
        self.live = None
        self._last = 0.0
        if live and _interactive(self.stream):
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            console = Console(file=self.stream, highlight=False)
            self.live = Progress(TextColumn("{task.completed}/{task.fields[target]}"), BarColumn(bar_width=20),
                                 TextColumn("{task.fields[timing]}"), TextColumn("{task.fields[logs]}"),
                                 console=console, auto_refresh=False, transient=False)
            self.task = self.live.add_task("", total=target or None, target=target or "?", timing="", logs="")
            self.live.start()

    def _timing(self, final):
        elapsed = time.monotonic() - self.start
        if final or not self.target or not self.done or self.done >= self.target:
            return f"{elapsed:.0f}s {_per_step(elapsed, self.done)}"
        eta = elapsed / self.done * (self.target - self.done)
        return f"ETA {eta:.0f}s {_per_step(elapsed, self.done)}"

    def update(self, done, logs=None, target=None):
        self.done = done
        if target:
            self.target = target
        if self.live is None:
            return
        now = time.monotonic()
        if now - self._last < REFRESH:
            return
        self._last = now
        self.live.update(self.task, completed=done, total=self.target or None, target=self.target or "?",
                         timing=self._timing(False), logs=format_logs(logs or {}))
        self.live.refresh()

    def finish(self, logs=None):
        """Draw the final state (interactive) or print one clean line (anything else)."""
        target = self.target or self.done
        self.done = max(self.done, target)
        text = format_logs(logs or {})
        if self.live is not None:
            self.live.update(self.task, completed=target, total=target or None, target=target,
                             timing=self._timing(True), logs=text)
            self.live.refresh()
            self.live.stop()
            return
        elapsed = time.monotonic() - self.start
        line = f"{target}/{target} - {elapsed:.0f}s - {_per_step(elapsed, self.done)}" + (f" - {text}" if text else "")
        print(line, file=self.stream, flush=True)


class ProgbarLogger(Callback):
    """Prints progress (`params["verbose"]`): 1 a bar per epoch (and for evaluate / predict), 2 a line per epoch."""

    def __init__(self, verbose=None):
        super().__init__()
        self._verbose = verbose
        self.bar = None
        self._in_fit = False

    @property
    def verbose(self):
        return self.params.get("verbose", 1) if self._verbose is None else self._verbose

    def batch_interval(self, kind="train"):
        return None  # the engine reports progress after every compiled chunk (`update_chunk`)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def _bar(self):
        return Progbar(self.params.get("steps"), live=self.verbose == 1) if self.verbose else None

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}", flush=True)
        self.bar = self._bar()

    def update_chunk(self, steps_done, logs, steps=None, kind="train"):
        """Called by the engine after each compiled chunk of steps (`steps`: the pass's total, when known;
        `kind`: "train", "test" or "predict"). Validation inside fit does not move the epoch's bar."""
        if self.bar is not None and not (self._in_fit and kind == "test"):
            self.bar.update(steps_done, logs, steps)

    def _finish(self, logs=None):
        if self.bar is not None:
            self.bar.finish(logs)
            self.bar = None

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self.bar = self._bar()

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self.bar = self._bar()

    def on_predict_end(self, logs=None):
        self._finish()
