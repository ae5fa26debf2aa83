"""`CallbackList`: one object that calls every callback's hook, in order."""

from lamina.callbacks.callback import Callback
from lamina.callbacks.history import History
from lamina.callbacks.progbar import ProgbarLogger


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

    def batch_interval(self, kind="train"):
        """The largest step count that serves every callback's batch hooks (their gcd), or None."""
        import math

        intervals = [cb.batch_interval(kind) for cb in self.callbacks if isinstance(cb, Callback)]
        intervals = [int(i) for i in intervals if i]
        return math.gcd(*intervals) if intervals else None

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
