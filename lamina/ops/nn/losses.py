"""Cross-entropies and PSNR as ops: per-sample values, no reduction (Keras's `ops.nn` forms).

Probabilities (`from_logits=False`) are clipped to `[epsilon, 1 - epsilon]` before the log, and
categorical outputs are first rescaled to sum to 1 along `axis`, as in Keras.
"""

import jax
import jax.numpy as jnp

from lamina.backend import config
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["binary_crossentropy", "categorical_crossentropy", "psnr", "sparse_categorical_crossentropy"]


def _log_probs(output, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    output = output / jnp.sum(output, axis, keepdims=True)
    return jnp.log(jnp.clip(output, config.epsilon(), 1.0 - config.epsilon()))


@keras_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`-sum(target * log(p))` over `axis`, for one-hot (or soft) `target` of the same shape as `output`."""
    target, output = tensor(target), tensor(output)
    if target.shape != output.shape:
        raise ValueError(
            f"categorical_crossentropy: `target` and `output` must have the same shape, got "
            f"target.shape={target.shape} and output.shape={output.shape}.")
    if output.ndim < 1:
        raise ValueError(f"categorical_crossentropy: `output` must have rank >= 1, got shape {output.shape}.")
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


@keras_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`-log(p[target])` for integer class `target` of shape `output.shape[:-1]` (or with a trailing 1)."""
    target, output = tensor(target).astype("int32"), tensor(output)
    if output.ndim < 1:
        raise ValueError(
            f"sparse_categorical_crossentropy: `output` must have rank >= 1, got shape {output.shape}.")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if target.shape != output.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: `target` must have the shape of `output` without its last "
            f"axis, got target.shape={target.shape} and output.shape={output.shape}.")
    log_probs = _log_probs(output, from_logits, axis)
    return -jnp.sum(jax.nn.one_hot(target, output.shape[axis], axis=axis) * log_probs, axis=axis)


@keras_op
def binary_crossentropy(target, output, from_logits=False):
    """`-(target * log(p) + (1 - target) * log(1 - p))`, element-wise."""
    target, output = tensor(target), tensor(output)
    if target.shape != output.shape:
        raise ValueError(
            f"binary_crossentropy: `target` and `output` must have the same shape, got "
            f"target.shape={target.shape} and output.shape={output.shape}.")
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    output = jnp.clip(output, config.epsilon(), 1.0 - config.epsilon())
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


@keras_op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: `20 log10(max_val) - 10 log10(mean((x1 - x2)**2))`."""
    x1, x2 = tensor(x1), tensor(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: `x1` and `x2` must have the same shape, got {x1.shape} and {x2.shape}.")
    max_val = tensor(max_val).astype(x2.dtype)
    return 20 * jnp.log10(max_val) - 10 * jnp.log10(jnp.mean(jnp.square(x1 - x2)))
