"""`TerminateOnNaN`: stop training at the first batch whose loss is NaN or infinite."""

import numpy as np

from lamina.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Checks the loss after every batch (so the engine runs one step per compiled call while it is on).

    Args:
        raise_error: raise a RuntimeError instead of setting `model.stop_training`.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
