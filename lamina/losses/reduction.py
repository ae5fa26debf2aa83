"""Weighting, masking and reducing per-sample loss values to a scalar (Keras 3 reductions)."""

import re

import jax.numpy as jnp

from lamina.losses.functions import squeeze_or_expand_to_same_rank

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _expand_to_rank(x, ndim):
    return x.reshape(x.shape + (1,) * (ndim - x.ndim)) if x.ndim < ndim else x


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", elem_mask=None):
    """Weight and reduce per-sample loss values.

    Args:
        values: [b, ...] per-sample losses.
        sample_weight: None or weights broadcastable to `values` ([b], [b, 1], [b, ...]).
        mask: None or [b] 0/1 valid-row mask; invalid rows count neither in the sum nor in
            the "batch size" denominator.
        reduction: "sum_over_batch_size" / "mean" (sum / number of valid entries), "sum",
            "mean_with_sample_weight" (sum / sum of weights), "none" / None (no reduction).
        elem_mask: None or a boolean mask of `values`' shape (e.g. `ignore_class` entries).
    """
    values = jnp.asarray(values)
    if values.shape == (0,) or (values.ndim == 0 and sample_weight is None):
        return values
    weight = None
    if sample_weight is not None:
        weight = jnp.asarray(sample_weight).astype(values.dtype)
        values, weight = squeeze_or_expand_to_same_rank(values, weight)
        weight = _expand_to_rank(weight, values.ndim)
    valid = None
    if mask is not None:
        valid = _expand_to_rank(jnp.asarray(mask).astype(values.dtype), values.ndim)
    if elem_mask is not None:
        em = jnp.asarray(elem_mask).astype(values.dtype).reshape(values.shape)
        valid = em if valid is None else valid * em
    weighted = values
    if weight is not None:
        weighted = weighted * weight
    if valid is not None:
        weighted = weighted * valid
    # A scalar loss (e.g. Dice over the whole batch) times [b] weights becomes [b] values.
    if reduction in (None, "none") or weighted.ndim == 0:
        return weighted
    total = jnp.sum(weighted)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = jnp.sum(weight if valid is None else weight * valid)
    elif valid is not None:
        divisor = jnp.sum(jnp.broadcast_to(valid, weighted.shape))
    else:
        divisor = jnp.asarray(weighted.size, values.dtype)
    return jnp.where(divisor == 0, 0.0, total / jnp.where(divisor == 0, 1.0, divisor)).astype(values.dtype)


def _standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid `reduction`: expected one of {list(REDUCTIONS)}, got reduction={reduction!r}."
        )
    return reduction


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
