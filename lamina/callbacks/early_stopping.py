"""`EarlyStopping`: stop training when a monitored quantity has stopped improving."""

import warnings

import numpy as np

from lamina.callbacks.monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop when `monitor` has not improved for `patience` epochs (Keras 3's semantics).

    Args:
        monitor: the logged quantity (default "val_loss").
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when training stops and when best weights are restored.
        mode: "auto", "min" or "max" (see `MonitorCallback`).
        baseline: training stops if the model does not improve on it within `patience` epochs.
        restore_best_weights: at the end, set the weights of the best epoch (also when patience ran out
            without beating `baseline`).
        start_from_epoch: epochs of warm-up before monitoring starts.

    Only epoch hooks: the fit keeps its one-program-per-epoch loop. The best epoch's weights are kept as the
    (immutable) arrays the model held then, not copied; `best_weights` gives them as NumPy arrays, as Keras's
    `get_weights()` copy.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self._weights = None

    @property
    def best_weights(self):
        """The best epoch's weights (a list of NumPy arrays, `model.get_weights()` order), or None."""
        return None if self._best is None else [np.asarray(value) for value in self._best]

    @best_weights.setter
    def best_weights(self, weights):
        self._best = None if weights is None else list(weights)

    def _current_weights(self):
        if self._weights is None:
            self._weights = self.model.weights  # the walk once per fit
        return [w.value for w in self._weights]

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        self._weights = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self._best is None:
            self._best = self._current_weights()  # the first watched epoch, whatever its value
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._best = self._current_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self._best is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self._best)

    def get_monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(list((logs or {}).keys()))}", stacklevel=2)
        return value
