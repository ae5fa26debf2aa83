"""`dot_product_attention` on `jax.nn.dot_product_attention` (XLA, or cuDNN flash attention on GPU)."""

import jax
import jax.numpy as jnp

from lamina.backend import dtypes as _dtypes
from lamina.ops.core import tensor
from lamina.backend.dispatch import keras_op

__all__ = ["dot_product_attention"]


def _capped(query, key, value, bias, mask, scale, is_causal, cap):
    """Attention with logits soft-capped as `cap * tanh(logits / cap)` (grouped heads supported)."""
    heads, groups = query.shape[2], key.shape[2]
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    q = query.reshape(query.shape[:2] + (groups, heads // groups, query.shape[-1]))
    logits = jnp.einsum("btkgh,bskh->bkgts", q, key, preferred_element_type=jnp.float32) * scale
    logits = cap * jnp.tanh(logits / cap)
    shape = logits.shape[:1] + (heads,) + logits.shape[-2:]
    logits = logits.reshape(shape)
    if bias is not None:
        logits = logits + bias
    keep = jnp.ones(shape, bool)
    if mask is not None:
        keep = keep & jnp.broadcast_to(mask, shape)
    if is_causal:
        keep = keep & jnp.tril(jnp.ones(shape[-2:], bool))
    logits = jnp.where(keep, logits, -0.7 * jnp.finfo(logits.dtype).max)
    probs = jax.nn.softmax(logits, axis=-1).astype(value.dtype).reshape(q.shape[:1] + (groups, heads // groups)
                                                                        + shape[-2:])
    out = jnp.einsum("bkgts,bskh->btkgh", probs, value)
    return out.reshape(query.shape[:3] + value.shape[-1:])


@keras_op
def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """`softmax(query @ key^T * scale + bias, masked) @ value` per head.

    Shapes: query (batch, target, heads, depth), key and value (batch, source, kv_heads, depth), with
    `heads` a multiple of `kv_heads` (grouped-query attention); `bias` and the boolean `mask` broadcast
    to (batch, heads, target, source). `scale` defaults to `1 / sqrt(depth)`.

    `flash_attention`: None picks the best implementation JAX has (cuDNN on supported GPUs), True
    requires cuDNN's fused kernel, False uses XLA. `attn_logits_soft_cap` caps the logits at
    `cap * tanh(logits / cap)` (the form TPU flash kernels use; Keras accepts it only on TPU).
    """
    query, key, value = tensor(query), tensor(key), tensor(value)
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError(
            "dot_product_attention: query, key and value must be 4-D (batch, time, heads, depth); got "
            f"query {query.shape}, key {key.shape}, value {value.shape}.")
    dtype = _dtypes.result_type(query.dtype, key.dtype, value.dtype)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    if bias is not None:
        bias = tensor(bias).astype(dtype)
    if mask is not None:
        mask = tensor(mask).astype(bool)
    if attn_logits_soft_cap is not None:
        return _capped(query, key, value, bias, mask, scale, is_causal, attn_logits_soft_cap)
    implementation = {None: None, True: "cudnn", False: "xla"}[flash_attention]
    return jax.nn.dot_product_attention(query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
                                        implementation=implementation)
