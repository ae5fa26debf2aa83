"""`rearrange`: einops-style reshaping and transposition ("b (h w) c -> b h w c")."""

import math
import re

import jax.numpy as jnp

from lamina.ops.core import tensor as _as_array
from lamina.backend.dispatch import keras_op

__all__ = ["rearrange"]


def _groups(side, pattern):
    groups = []
    for token in re.findall(r"\([^()]*\)|[^\s()]+", side):
        names = token[1:-1].split() if token.startswith("(") else [token]
        for name in names:
            if not name.isidentifier():
                raise ValueError(f"rearrange: axis names must be identifiers, got {name!r} in {pattern!r}.")
        groups.append(names)
    return groups


@keras_op
def rearrange(tensor, pattern, **axes_lengths):
    """Reshape and transpose `tensor` by `pattern`, e.g. "b h w c -> b (h w) c" or "b (h w) -> b h w"
    (with `h=` given); `axes_lengths` give the sizes of axes split out of a group."""
    x = _as_array(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: `pattern` must have one '->', got {pattern!r}.")
    left, right = (_groups(side, pattern) for side in pattern.split("->"))
    flat_in, flat_out = [n for g in left for n in g], [n for g in right for n in g]
    if len(set(flat_in)) != len(flat_in) or sorted(flat_in) != sorted(flat_out):
        raise ValueError(f"rearrange: both sides must name the same axes once each, got {pattern!r}.")
    if len(left) != x.ndim:
        raise ValueError(f"rearrange: the pattern's input has {len(left)} axes, the tensor {x.ndim} ({x.shape}).")
    sizes = {}
    for group, dim in zip(left, x.shape):
        unknown = [n for n in group if n not in axes_lengths]
        known = math.prod(axes_lengths[n] for n in group if n in axes_lengths)
        if len(unknown) > 1:
            raise ValueError(f"rearrange: give the sizes of all but one of {group} with keyword arguments.")
        if (unknown and dim % known) or (not unknown and dim != known):
            raise ValueError(f"rearrange: axis {group} of size {dim} cannot be split into {axes_lengths}.")
        sizes.update({n: axes_lengths[n] for n in group if n in axes_lengths})
        sizes.update({n: dim // known for n in unknown})
    x = jnp.reshape(x, [sizes[n] for n in flat_in])
    x = jnp.transpose(x, [flat_in.index(n) for n in flat_out])
    return jnp.reshape(x, [math.prod(sizes[n] for n in g) for g in right])
