"""Connectionist temporal classification: `ctc_loss` (on optax's) and `ctc_decode` (greedy or beam
search), batch-major: `output`/`inputs` are (batch, time, classes)."""

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["ctc_decode", "ctc_loss"]


def _paddings(lengths, size, dtype):
    """1.0 where a position is past its sequence's length."""
    return (jnp.arange(size)[None, :] >= lengths[:, None]).astype(dtype)


@keras_op
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sequence CTC loss (negative log-likelihood), shape (batch,).

    Args:
        target: int labels (batch, max_label_length).
        output: unnormalized logits (batch, max_time, classes); log-softmax is applied.
        target_length, output_length: the valid lengths (batch,).
        mask_index: the blank class.
    """
    import optax

    target = tensor(target).astype("int32")
    output = tensor(output)
    output = output.astype(_dtypes.result_type(output.dtype, "float32"))
    target_length, output_length = tensor(target_length).astype("int32"), tensor(output_length).astype("int32")
    if output.ndim != 3 or target.ndim != 2:
        raise ValueError(
            f"ctc_loss: `output` must be (batch, time, classes) and `target` (batch, labels); got "
            f"output {output.shape}, target {target.shape}.")
    return optax.ctc_loss(output, _paddings(output_length, output.shape[1], output.dtype), target,
                          _paddings(target_length, target.shape[1], output.dtype), blank_id=mask_index)


def _greedy(inputs, lengths, merge_repeated, blank):
    steps = inputs.shape[1]
    indices = jnp.argmax(inputs, axis=-1)
    scores = jnp.max(inputs, axis=-1)
    past_end = jnp.arange(steps)[None, :] >= lengths[:, None]
    indices = jnp.where(past_end, blank, indices)
    scores = jnp.where(past_end, 0.0, scores)
    if merge_repeated:
        repeated = jnp.pad(indices[:, 1:] == indices[:, :-1], ((0, 0), (1, 0)))
        indices = jnp.where(repeated, blank, indices)
    dropped = indices == blank
    order = jnp.argsort(dropped, axis=-1, stable=True)  # kept labels first, in time order
    indices = jnp.take_along_axis(jnp.where(dropped, -1, indices), order, axis=-1)
    return indices[None], -jnp.sum(scores, axis=1)[:, None]


def _beam_one(log_probs, length, beam_width, top_paths, blank):
    """CTC prefix beam search for one sequence: log_probs (time, classes)."""
    steps, classes = log_probs.shape
    width = beam_width
    neg = -jnp.inf
    pos = jnp.arange(steps)
    # Beams: prefix labels (padded with -1), length, last label, log P(ends in blank / in a label).
    prefix = jnp.full((width, steps), -1, jnp.int32)
    size = jnp.zeros(width, jnp.int32)
    last = jnp.full(width, -1, jnp.int32)
    p_blank = jnp.full(width, neg, log_probs.dtype).at[0].set(0.0)
    p_label = jnp.full(width, neg, log_probs.dtype)

    def step(state, inputs):
        prefix, size, last, p_blank, p_label = state
        lp, active = inputs
        total = jnp.logaddexp(p_blank, p_label)
        stay_blank = total + lp[blank]
        stay_label = p_label + lp[jnp.maximum(last, 0)]
        stay_label = jnp.where(last >= 0, stay_label, neg)
        # extensions of beam i by label c
        from_i = jnp.where(jnp.arange(classes)[None, :] == last[:, None], p_blank[:, None], total[:, None])
        ext = from_i + lp[None, :]
        ext = ext.at[:, blank].set(neg)
        same_head = jnp.all((prefix[:, None, :] == prefix[None, :, :]) | (pos[None, None, :] >= size[:, None, None]),
                            axis=-1)
        child = same_head & (size[None, :] == size[:, None] + 1)  # child[i, j]: j = i + one label
        match = child[:, None, :] & (last[None, None, :] == jnp.arange(classes)[None, :, None])  # [i, c, j]
        match = match & jnp.isfinite(jnp.logaddexp(p_blank, p_label))[None, None, :]
        merged = jax.nn.logsumexp(jnp.where(match, ext[:, :, None], neg), axis=(0, 1))
        stay_label = jnp.logaddexp(stay_label, merged)
        ext = jnp.where(jnp.any(match, axis=-1), neg, ext)
        scores = jnp.concatenate([jnp.logaddexp(stay_blank, stay_label), ext.reshape(-1)])
        scores = jnp.where(jnp.isnan(scores), neg, scores)
        _, chosen = jax.lax.top_k(scores, width)
        is_ext = chosen >= width
        parent = jnp.where(is_ext, (chosen - width) // classes, chosen)
        label = jnp.where(is_ext, (chosen - width) % classes, -1)
        new_size = size[parent] + is_ext
        new_prefix = prefix[parent]
        new_prefix = jnp.where(is_ext[:, None] & (pos[None, :] == size[parent][:, None]), label[:, None], new_prefix)
        new_last = jnp.where(is_ext, label, last[parent])
        ext_flat = ext.reshape(-1)
        new_blank = jnp.where(is_ext, neg, stay_blank[parent])
        new_label = jnp.where(is_ext, ext_flat[jnp.maximum(chosen - width, 0)], stay_label[parent])
        new = (new_prefix, new_size, new_last, new_blank, new_label)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(active, a, b), new, state), None

    state = (prefix, size, last, p_blank, p_label)
    state, _ = jax.lax.scan(step, state, (log_probs, jnp.arange(steps) < length))
    prefix, size, last, p_blank, p_label = state
    scores, best = jax.lax.top_k(jnp.logaddexp(p_blank, p_label), top_paths)
    return prefix[best], scores


@keras_op
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decode CTC outputs (batch, time, classes) into label sequences.

    Returns `(paths, scores)`: paths (top_paths, batch, time) with -1 after each decoded sequence.
    "greedy" takes the best class per step (merging repeats when `merge_repeated`), top_paths 1, and
    scores `-sum(max(inputs))`; "beam_search" runs a CTC prefix beam search of `beam_width` beams on
    `log_softmax(inputs)` and scores each path by its log-probability. `mask_index` is the blank class
    (None: the last class).
    """
    inputs = tensor(inputs)
    inputs = inputs.astype(_dtypes.result_type(inputs.dtype, "float32"))
    if inputs.ndim != 3:
        raise ValueError(f"ctc_decode: `inputs` must be (batch, time, classes), got shape {inputs.shape}.")
    lengths = tensor(sequence_lengths).astype("int32")
    blank = inputs.shape[-1] - 1 if mask_index is None else mask_index
    if strategy == "greedy":
        return _greedy(inputs, lengths, merge_repeated, blank)
    if strategy != "beam_search":
        raise ValueError(f"ctc_decode: `strategy` must be 'greedy' or 'beam_search', got {strategy!r}.")
    if top_paths > beam_width:
        raise ValueError(f"ctc_decode: `top_paths` ({top_paths}) cannot exceed `beam_width` ({beam_width}).")
    paths, scores = jax.vmap(lambda lp, n: _beam_one(lp, n, beam_width, top_paths, blank))(
        jax.nn.log_softmax(inputs), lengths)
    return jnp.transpose(paths, (1, 0, 2)), scores
