"""`Callback`: the base class, with Keras 3's hooks and arguments.

Every hook receives a `logs` dict of Python floats (never None), keys sorted as Keras
sorts them. The compiled engine runs several steps per XLA call, so batch-level hooks
fire at chunk boundaries with the logs accumulated so far; a callback that overrides a
batch hook makes the engine run one step per call, so it sees every batch.
"""

_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class: override the `on_*` hooks you need. `self.model` and `self.params` are set by the engine."""

    def __init__(self):
        self.params = {}
        self._model = None

    @property
    def model(self):
        return self._model

    @model.setter
    def model(self, model):
        self._model = model

    def set_model(self, model):
        self._model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)  # the Keras 2 name, still called when not overridden

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def batch_interval(self, kind="train"):
        """How often this callback needs its batch hooks of `kind` ("train", "test", "predict"): None (never: the
        engine may run a whole epoch in one compiled call), 1 (every batch) or N (every N batches suffice;
        between, the engine runs N steps per call). Default: 1 when a batch hook is overridden, in the class or
        on the instance (a LambdaCallback's functions), else None."""
        overridden = any(hook in vars(self) or getattr(type(self), hook) is not getattr(Callback, hook)
                         for hook in _HOOKS[kind])
        return 1 if overridden else None

    def wants_every_batch(self, kind="train"):
        return self.batch_interval(kind) == 1

    def _reads_model(self, logs):
        """Whether this callback may read or change the model's variables from this epoch's end (whose logs are
        `logs`) until the next epoch's end. A `Population` writes a member's trained state back to its Variables
        after an epoch only when one of its callbacks may (the others see it at the end of `fit`). Default True."""
        return True


class BatchCounter:
    """Counts the batches a training run has done from the batch hooks it gets (at chunk ends, so batch 3
    may come first), across epochs; `due(batch)` is True once every `n` batches (Keras's `save_freq=n`)."""

    def __init__(self, n):
        self.n = n
        self.since = 0
        self.last = None

    def due(self, batch):
        new_epoch = self.last is None or batch <= self.last
        self.since += batch + 1 if new_epoch else batch - self.last
        self.last = batch
        if self.since >= self.n:
            self.since = 0
            return True
        return False
