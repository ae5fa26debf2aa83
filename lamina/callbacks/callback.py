"""`Callback` base, `CallbackList` and `History`.

The compiled engine runs several steps per XLA call, so batch-level hooks
fire at chunk boundaries with the logs accumulated so far; a callback that
overrides a batch hook makes the engine run one step per call, so it sees
every batch.
"""

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                "on_predict_batch_begin", "on_predict_batch_end", "on_batch_begin", "on_batch_end")


class Callback:
    """Base class: override the `on_*` hooks you need. `self.model` and `self.params` are set by fit."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
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

    def wants_every_batch(self):
        """True when this callback overrides a batch-level hook."""
        return any(getattr(type(self), hook) is not getattr(Callback, hook) for hook in _BATCH_HOOKS)


class History(Callback):
    """Records epoch logs: `history.history["loss"]` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class CallbackList:
    """Dispatches each hook to every callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def wants_every_batch(self):
        return any(cb.wants_every_batch() for cb in self.callbacks if isinstance(cb, Callback))

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def dispatch(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
            if hook in ("on_train_batch_begin", "on_train_batch_end"):
                legacy = "on_batch_begin" if hook.endswith("begin") else "on_batch_end"
                for cb in self.callbacks:
                    getattr(cb, legacy)(*args, **kwargs)

        return dispatch
