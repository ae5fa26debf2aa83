"""`Callback` base, `CallbackList` and `History`, with Keras 3's hooks and arguments.

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

    def wants_every_batch(self, kind="train"):
        """True when this callback overrides a batch-level hook of `kind` ("train", "test", "predict")."""
        return any(getattr(type(self), hook) is not getattr(Callback, hook) for hook in _HOOKS[kind])


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


class CallbackList(Callback):
    """Calls each hook on every callback in order; adds `History` and the progress bar like Keras.

    Args:
        callbacks: the user's callbacks (a list, or None).
        add_history: add a `History` (fit).
        add_progbar: add a `ProgbarLogger` with `params["verbose"]`.
        model: set on every callback.
        **params: `verbose`, `epochs`, `steps`; given to every callback as `params`.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        self.user_callbacks = list(self.callbacks)
        self.progbar = None
        if add_progbar:
            from lamina.callbacks.progbar import ProgbarLogger

            self.progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
            if self.progbar is None:
                self.progbar = ProgbarLogger()
                self.callbacks.append(self.progbar)
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        self._model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def wants_every_batch(self, kind="train"):
        return any(cb.wants_every_batch(kind) for cb in self.callbacks if isinstance(cb, Callback))

    def _each(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._each("on_train_begin", dict(logs or {}))
    def on_train_end(self, logs=None): self._each("on_train_end", dict(logs or {}))
    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, dict(logs or {}))
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, dict(logs or {}))
    def on_test_begin(self, logs=None): self._each("on_test_begin", dict(logs or {}))
    def on_test_end(self, logs=None): self._each("on_test_end", dict(logs or {}))
    def on_predict_begin(self, logs=None): self._each("on_predict_begin", dict(logs or {}))
    def on_predict_end(self, logs=None): self._each("on_predict_end", dict(logs or {}))
    def on_test_batch_begin(self, batch, logs=None): self._each("on_test_batch_begin", batch, dict(logs or {}))
    def on_test_batch_end(self, batch, logs=None): self._each("on_test_batch_end", batch, dict(logs or {}))
    def on_predict_batch_begin(self, batch, logs=None): self._each("on_predict_batch_begin", batch, dict(logs or {}))
    def on_predict_batch_end(self, batch, logs=None): self._each("on_predict_batch_end", batch, dict(logs or {}))

    def on_train_batch_begin(self, batch, logs=None): self._each("on_train_batch_begin", batch, dict(logs or {}))
    def on_train_batch_end(self, batch, logs=None): self._each("on_train_batch_end", batch, dict(logs or {}))
