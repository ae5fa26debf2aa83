"""`SwapEMAWeights`: evaluate (and predict, and optionally checkpoint) with the optimizer's moving average."""

from lamina.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swap the model's trainable weights with the optimizer's EMA weights (`use_ema=True`) around evaluation
    and prediction, and with `swap_on_epoch=True` from each epoch's end to the next epoch's start (so later
    callbacks, such as `ModelCheckpoint`, see the averages). The swap is in place; training resumes on the raw
    weights.

    Differs from Keras 3.15 in one place: Keras's `on_predict_end` never swaps back (its condition is
    inverted), leaving the averages in the model after `predict`; lamina restores the raw weights.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self):
        optimizer = self.model.optimizer
        averages = getattr(optimizer, "_average_variables", None)
        if not getattr(optimizer, "use_ema", False) or not averages:
            raise ValueError(
                "SwapEMAWeights needs an optimizer created with `use_ema=True` (and built by training). "
                f"Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return zip(optimizer._variables, averages)

    def _swap(self):
        for variable, average in self._pairs():
            raw = variable.value
            variable.assign(average.value)
            average.assign(raw)

    def _keep_model_weights_as_average(self):
        for variable, average in self._pairs():
            average.assign(variable.value)

    def _swap_in(self):
        if not self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = True

    def _swap_out(self):
        if self._ema_weights_in_model:
            self._swap()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            # `fit` ends by writing the averages into the model (finalize_variable_values): make the average
            # hold what the model holds now, the EMA weights.
            if epoch == self.params["epochs"] - 1:
                self._keep_model_weights_as_average()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_predict_begin(self, logs=None):
        self._swap_in()

    def on_predict_end(self, logs=None):
        self._swap_out()
