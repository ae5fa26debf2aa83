"""Small optax transformations that reproduce Keras 3 numerics exactly.

optax's own transforms are used where they agree with Keras
(`optax.clip` for `clipvalue`, `optax.clip_by_global_norm` for
`global_clipnorm`). Keras clips each gradient by its own L2 norm for
`clipnorm`, which optax has no transform for, and Keras applies the learning
rate inside each update rule (momentum buffers accumulate `lr * grad`), so the
update rules are written here as `optax.GradientTransformationExtraArgs`
whose `update` takes the learning rate and the step count as extra
arguments.
"""

import jax
import jax.numpy as jnp
import optax


def clip_by_norm_per_variable(clipnorm):
    """Scale each gradient so its own L2 norm is at most `clipnorm` (Keras `clipnorm`).

    `g * clipnorm / max(||g||, clipnorm)`; an all-zero gradient stays zero.
    optax has no per-leaf norm clip (`clip_by_block_rms` uses the RMS), hence
    this transform.
    """

    def clip_leaf(g):
        l2sum = jnp.sum(jnp.square(g), keepdims=True)
        nonzero = l2sum > 0
        l2norm = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, l2sum, jnp.ones_like(l2sum))), l2sum)
        return (g * clipnorm) / jnp.maximum(l2norm, clipnorm)

    def update_fn(updates, state, params=None):
        del params
        return jax.tree_util.tree_map(clip_leaf, updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def gradient_clipping(clipnorm=None, clipvalue=None, global_clipnorm=None):
    """The Keras clipping rule as one stateless optax transform (identity when none is set).

    Keras clips only when the value is truthy and > 0; at most one may be set.
    """
    if clipnorm and clipnorm > 0:
        return clip_by_norm_per_variable(clipnorm)
    if global_clipnorm and global_clipnorm > 0:
        return optax.clip_by_global_norm(global_clipnorm)
    if clipvalue and clipvalue > 0:
        return optax.clip(clipvalue)
    return optax.identity()


def decoupled_weight_decay(params, learning_rate, weight_decay, mask=None):
    """Keras `weight_decay`: `p - p * wd * lr` for every parameter where `mask` is True.

    Applied to the parameters before the update rule sees them (as Keras does).
    `mask` is None (decay all) or a list of bools, one per leaf of `params`.
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    if mask is None:
        mask = [True] * len(leaves)
    out = []
    for p, use in zip(leaves, mask):
        if use:
            lr = learning_rate.astype(p.dtype)
            wd = jnp.asarray(weight_decay, p.dtype)
            p = p - p * wd * lr
        out.append(p)
    return jax.tree_util.tree_unflatten(treedef, out)


def per_variable(slots, step, scalars=None, pre_step=None):
    """Build a Keras-style update rule as an `optax.GradientTransformationExtraArgs`.

    Args:
        slots: {name: initial value} - one buffer per parameter leaf and name,
            shaped and typed like the parameter (e.g. {"momentum": 0.0}).
        step: `step(g, p, buffers, lr, iterations, scalars) -> (delta, new_buffers)`
            for one leaf; `buffers` is {name: array}; `lr` is already cast to
            `p.dtype`; `iterations` is the int32 count of updates done before this one.
        scalars: optional {name: initial float} of optimizer-wide scalars
            (Nadam's momentum-cache product), stored in the state as float32.
        pre_step: optional `pre_step(scalars, iterations) -> scalars`, run once
            per update before the per-leaf steps.

    The transform's state is a dict {slot name: pytree like params, scalar name:
    scalar}; its `update(grads, state, params, learning_rate=, iterations=)`
    returns deltas to add to `params` (`optax.apply_updates`).
    """
    scalars = dict(scalars or {})

    def init_fn(params):
        state = {
            name: jax.tree_util.tree_map(lambda p, v=value: jnp.full(jnp.shape(p), v, jnp.result_type(p)), params)
            for name, value in slots.items()
        }
        for name, value in scalars.items():
            state[name] = jnp.asarray(value, jnp.float32)
        return state

    def update_fn(updates, state, params=None, *, learning_rate, iterations, **_):
        if params is None:
            raise ValueError("This optimizer's update rule needs `params` (the current weights).")
        new_scalars = {name: state[name] for name in scalars}
        if pre_step is not None:
            new_scalars = pre_step(new_scalars, iterations)
        g_leaves, treedef = jax.tree_util.tree_flatten(updates)
        p_leaves = treedef.flatten_up_to(params)
        buf_leaves = {name: treedef.flatten_up_to(state[name]) for name in slots}
        deltas = []
        new_bufs = {name: [] for name in slots}
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves)):
            buffers = {name: buf_leaves[name][i] for name in slots}
            delta, new_buffers = step(g, p, buffers, learning_rate.astype(p.dtype), iterations, new_scalars)
            deltas.append(delta)
            for name in slots:
                new_bufs[name].append(new_buffers.get(name, buffers[name]))
        new_state = {name: jax.tree_util.tree_unflatten(treedef, new_bufs[name]) for name in slots}
        new_state.update(new_scalars)
        return jax.tree_util.tree_unflatten(treedef, deltas), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
