"""`History`: the epoch logs of a `fit`, returned by it."""

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records epoch logs: `history.history["loss"]` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def _reads_model(self, logs):
        return False

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
