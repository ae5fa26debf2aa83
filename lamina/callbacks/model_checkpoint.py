"""`ModelCheckpoint`: save the model (or its weights) during `fit`, every epoch or every N batches, optionally
only when the monitored quantity improves."""

import os
import warnings

from lamina.backend.scope import StatelessScope
from lamina.callbacks.callback import BatchCounter
from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.utils.atomic import background


class ModelCheckpoint(MonitorCallback):
    """Save the model while it trains (Keras 3's callback).

    Args:
        filepath: where to save; formatted with `epoch` (1-based), `batch` (1-based, with an int `save_freq`)
            and the logs, e.g. "ckpt/{epoch:02d}-{val_loss:.2f}.keras". Must end in ".keras" or ".h5", or
            ".weights.h5" with `save_weights_only=True`.
        monitor, mode: the quantity `save_best_only` watches and which way is better ("auto": from it).
        verbose: 1 prints a line per save decision.
        save_best_only: save only when `monitor` improves on the best value so far.
        save_weights_only: `model.save_weights` instead of `model.save`.
        save_freq: "epoch", or an int: every that many batches (the engine compiles chunks of that many
            steps, so the saves cost one host round trip each).
        initial_value_threshold: the best value to beat at the start.

    Every file is written atomically: a run killed while saving leaves the previous file whole. Files are
    written by a background thread from a snapshot of the weights taken at the save (training goes on
    meanwhile); a newer save of the same path replaces one still waiting, `fit` returns when every file is
    written, and lamina's loaders wait for a file being written.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        from lamina import saving  # noqa: F401 (loaded now, not at the first save inside a timed `fit`)

        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches = BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        self._written = set()
        self._variables = None  # the model's and optimizer's Variables, gathered at the first save of a fit
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq: {save_freq!r}. Expected 'epoch' or an "
                             "int >= 1 (a number of batches).")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("ModelCheckpoint: with `save_weights_only=True` the filepath must end in "
                             f"`.weights.h5` (Keras weights format). Received: filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("ModelCheckpoint: the filepath must end in `.keras` (Keras model format) or `.h5`. "
                             f"Received: filepath={self.filepath}")

    def batch_interval(self, kind="train"):
        return self.save_freq if kind == "train" and self.save_freq != "epoch" else None

    def on_train_begin(self, logs=None):
        self._variables = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_end(self, logs=None):
        written, self._written = self._written, set()
        background.wait(written)

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:  # Keras decides the direction here, saving or not
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        return self._batches is not None and self._batches.due(batch)

    def _file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'ModelCheckpoint: failed to format the filepath "{self.filepath}": {e} is not in the '
                           f"logs (they hold {sorted(logs)}).") from None

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving model to "
                      f"{filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}", flush=True)
        return False

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError("ModelCheckpoint: please specify a non-directory filepath. Filepath used is an "
                                    f"existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        model = self.model
        if self._variables is None:  # the walk once per fit
            optimizer = getattr(model, "optimizer", None)
            self._variables = list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])
        snapshot = [(v, v.value) for v in self._variables]  # values are immutable arrays: no copy is made
        save = model.save_weights if self.save_weights_only else model.save

        def write():
            with StatelessScope(state_mapping=snapshot):
                save(filepath, overwrite=True)

        background.submit(filepath, write)
        self._written.add(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)
