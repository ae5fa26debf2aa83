"""Progress display for fit / evaluate / predict (verbose 1: a bar, verbose 2: a line per epoch)."""

import sys
import time

from lamina.callbacks.callback import Callback


def format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in logs.items())


def _format_time(seconds, steps):
    per_step = seconds / max(steps, 1)
    unit = f"{per_step * 1e3:.0f}ms/step" if per_step >= 1e-3 else f"{per_step * 1e6:.0f}us/step"
    return f"{seconds:.0f}s {unit}"


class Progbar:
    """A Keras-style bar: `62/62 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.52`, redrawn in place."""

    def __init__(self, target, width=20, stream=None):
        self.target = target
        self.width = width
        self.stream = stream or sys.stdout
        self.start = time.monotonic()
        # Redraw in place on a terminal or in a notebook; elsewhere (logs, CI) print final lines only.
        self.dynamic = (hasattr(self.stream, "isatty") and self.stream.isatty()) or "ipykernel" in sys.modules
        self._last_draw = 0.0

    def update(self, current, logs=None, finalize=False):
        now = time.monotonic()
        if not finalize and self.dynamic and now - self._last_draw < 0.05:
            return
        if not finalize and not self.dynamic:
            return
        self._last_draw = now
        done = int(self.width * current / self.target) if self.target else self.width
        bar = "━" * done + ("─" if done < self.width else "") * (self.width - done)
        text = f"{current}/{self.target} {bar} {_format_time(now - self.start, current)}"
        if logs:
            text += " - " + format_logs(logs)
        end = "\n" if finalize else ""
        self.stream.write(("\r" if self.dynamic else "") + text + end)
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints progress (`params["verbose"]`): 1 a bar per epoch, 2 one line per epoch; evaluate prints its logs."""

    def __init__(self, verbose=None):
        super().__init__()
        self._verbose = verbose
        self.bar = None
        self._in_fit = False

    @property
    def verbose(self):
        return self.params.get("verbose", 1) if self._verbose is None else self._verbose

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}", flush=True)
        self.epoch_start = time.monotonic()
        self.bar = Progbar(self.params.get("steps") or 0) if self.verbose == 1 else None

    def update_chunk(self, steps_done, logs, steps=None):
        """Called by the engine after each compiled chunk of steps (`steps`: the epoch's, when known)."""
        if self.bar is not None:
            self.bar.target = steps or self.bar.target or steps_done
            self.bar.update(steps_done, logs)

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps") or (self.bar.target if self.bar is not None else 0)
        if self.verbose == 1 and self.bar is not None:
            self.bar.update(steps, logs, finalize=True)
        elif self.verbose == 2:
            elapsed = time.monotonic() - self.epoch_start
            print(f"{steps}/{steps} - {_format_time(elapsed, steps)} - {format_logs(logs or {})}", flush=True)

    def on_test_end(self, logs=None):
        if self.verbose and not self._in_fit:
            print(format_logs(logs or {}), flush=True)
