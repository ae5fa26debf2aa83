"""lamina's own compiled steps: pure functions of (state, batch, batch mask).

When a model keeps lamina's step pieces (`train_step`, `test_step`, `predict_step`,
`compute_loss`, `compute_metrics`, ... not overridden), the engine compiles these
instead of the Keras-form methods. They compute the same thing, with two additions
that make one program serve a whole epoch:

* `mask` ([batch] floats, 1 for real rows, 0 for padding) is an argument: the ragged
  last batch is padded to the batch size, and padding rows are left out of the loss,
  the metrics and BatchNormalization's statistics (through the `StatelessScope`);
* no logs are returned per step: the metrics' variables carry everything, and the
  engine computes the logs once per chunk of steps (`logs`).

Logits fusion: outputs whose final softmax/sigmoid matches their cross-entropy
(`setup.fused`) are computed as logits for the loss (numerically stable); metrics
still see probabilities.
"""

import jax
import jax.numpy as jnp

from lamina.backend.scope import StatelessScope
from lamina.training import compile_utils
from lamina.training.state import EvalState, PredictState, TrainState


def _forward(model, setup, trainable, non_trainable, x, training, mask):
    """(raw outputs flat, outputs for metrics flat, their masks flat, new non-trainable values, added losses).

    An output's mask (e.g. [batch, steps] from `Embedding(mask_zero=True)` through a recurrent layer
    with `return_sequences=True`) leaves its masked entries out of the loss and the metrics, as Keras
    does with the mask it attaches to `y_pred`.
    """
    with StatelessScope(batch_mask=mask), compile_utils.SwapActivations(setup.fused.values()):
        outputs, non_trainable, losses, output_masks = model.stateless_call(
            trainable, non_trainable, x, training=training, return_losses=True, return_mask=True)
    raw = compile_utils.flatten_outputs(outputs, setup.names)
    masks = compile_utils.flatten_masks(output_masks, setup.names)
    shown = [setup.fused[i].activation(o) if i in setup.fused else o for i, o in enumerate(raw)]
    return raw, shown, masks, non_trainable, losses


def _loss(setup, x, y, raw, sample_weight, losses, mask, output_masks):
    """(total loss, per-output losses): the compiled loss plus the losses the layers added."""
    if setup.compile_loss is None:
        total, per_output = jnp.zeros(()), []
    else:
        y_flat = compile_utils.flatten_targets(y, setup.names)
        total, per_output = setup.compile_loss.compute(y_flat, raw, sample_weight, mask, set(setup.fused),
                                                       output_masks)
    if losses:
        total = total + sum(jnp.sum(jnp.asarray(l, jnp.float32)) for l in losses)
    return total, per_output


def _update_metrics(setup, metrics_variables, loss, per_output, y, y_pred, sample_weight, mask, output_masks):
    """New metrics variables after one batch: the loss tracker, compiled metrics, per-output losses."""
    states = setup.split_metrics(metrics_variables)
    count = jnp.sum(mask) if mask is not None else jnp.asarray(jax.tree_util.tree_leaves(y_pred)[0].shape[0],
                                                               jnp.float32)
    new = []
    for metric, state in zip(setup.metrics, states):
        if metric is setup.loss_tracker:
            state = metric.update(state, loss, sample_weight=count)
        elif metric is setup.compile_metrics:
            y_flat = compile_utils.flatten_targets(y, setup.names)
            state = metric.update(state, y_flat, y_pred, sample_weight, mask, output_masks)
        else:  # a per-output loss tracker
            state = metric.update(state, per_output[setup.output_loss_index[id(metric)]], sample_weight=count)
        new.append(state)
    return setup.join_metrics(new)


def train_step(model, setup, state, data, mask):
    """One optimization step: TrainState -> TrainState."""
    x, y, sample_weight = data
    trainable, non_trainable, optimizer_variables, metrics_variables = state

    def loss_fn(trainable):
        raw, shown, masks, new_non_trainable, losses = _forward(model, setup, trainable, non_trainable, x, True,
                                                                mask)
        total, per_output = _loss(setup, x, y, raw, sample_weight, losses, mask, masks)
        return total, (shown, masks, new_non_trainable, per_output)

    (loss, (y_pred, masks, non_trainable, per_output)), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
    trainable, optimizer_variables = model.optimizer.stateless_apply(optimizer_variables, grads, trainable)
    metrics_variables = _update_metrics(setup, metrics_variables, loss, per_output, y, y_pred, sample_weight, mask,
                                        masks)
    return TrainState(trainable, non_trainable, optimizer_variables, metrics_variables)


def test_step(model, setup, state, data, mask):
    """One evaluation step: EvalState -> EvalState (only the metrics change)."""
    x, y, sample_weight = data
    trainable, non_trainable, metrics_variables = state
    raw, y_pred, masks, non_trainable, losses = _forward(model, setup, trainable, non_trainable, x, False, mask)
    loss, per_output = _loss(setup, x, y, raw, sample_weight, losses, mask, masks)
    metrics_variables = _update_metrics(setup, metrics_variables, loss, per_output, y, y_pred, sample_weight, mask,
                                        masks)
    return EvalState(trainable, non_trainable, metrics_variables)


def predict_step(model, state, x):
    """Outputs for one batch (inference): (outputs, PredictState); random layers may advance their seeds."""
    trainable, non_trainable = state
    outputs, non_trainable = model.stateless_call(trainable, non_trainable, x, training=False)
    return outputs, PredictState(trainable, non_trainable)


def logs(setup, metrics_variables):
    """{log name: scalar} from the metrics' variables, in Keras's metric order (pure)."""
    out = {}
    for metric, state in zip(setup.metrics, setup.split_metrics(metrics_variables)):
        value = metric.compute(state)
        if isinstance(value, dict):
            out.update(value)
        else:
            out[metric.name] = value
    return out
