"""`LearningRateScheduler`: set the learning rate at the start of each epoch from a function."""

import numpy as np

from lamina.callbacks.callback import Callback


class LearningRateScheduler(Callback):
    """`schedule(epoch, lr) -> new lr` (or `schedule(epoch)`) at each epoch's start; no recompiling.

    Adds `learning_rate` to the epoch's logs, as Keras does.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            learning_rate = self.schedule(epoch, float(np.asarray(optimizer.learning_rate)))
        except TypeError:  # the Keras 2 form, schedule(epoch)
            learning_rate = self.schedule(epoch)
        if hasattr(learning_rate, "shape") and np.shape(learning_rate) == ():
            learning_rate = np.asarray(learning_rate).item()
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate!r}")
        optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(np.asarray(self.model.optimizer.learning_rate))
