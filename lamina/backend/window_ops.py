"""Convolution and pooling primitives that XLA:CPU runs fast inside compiled loops.

lamina runs many training steps in one `lax.scan`. Inside such a loop XLA:CPU lowers JAX's own kernel
gradient of a convolution (a convolution whose batch and feature axes are swapped) to a generic loop
that is 10-40x slower than the same gradient in a program of one step, and the gradient of a windowed
max (`select_and_scatter`) is slow on the CPU anywhere. The functions here compute the same values as
`lax.conv_general_dilated` and `lax.reduce_window`, with gradients that stay fast:

- `conv`: the kernel gradient is one matrix product per kernel position (the input slice that position
  saw, contracted with the output gradient over batch and positions), XLA's fastest operation;
  channels-first data is convolved channels-last (transposed around the convolution); a depthwise
  convolution (one input channel per group) is a sum of shifted slices times per-channel weights.
- `max_pool` / `avg_pool`: windows that tile the input (strides == window, no padding; Keras's
  default) are a reshape and a reduction; a max sends its gradient to the first largest entry of each
  window in row-major order, as `select_and_scatter` does. Other windows use `lax.reduce_window`.

Arguments follow `lax`: full-rank `window` / `strides` for pooling, explicit (before, after) pads.
The gradients are custom VJPs: reverse mode (`jax.grad`, `jax.vjp`) and `jax.vmap` work, forward mode
(`jax.jvp`, `jax.jacfwd`) does not.
"""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def dimension_numbers(rank, data_format):
    """lax's layout strings for a rank-1..3 convolution: inputs/outputs "NHWC" or "NCHW", kernel "HWIO"
    (Keras's kernel layout [*kernel_size, in, out])."""
    axes = "DHW"[3 - rank:]
    io = "NC" + axes if data_format == "channels_first" else "N" + axes + "C"
    return io, axes + "IO", io


def conv(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups=1):
    """`lax.conv_general_dilated(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
    feature_group_count=groups)` with a loop-friendly kernel gradient. `padding`: explicit (before, after)
    pairs, or "SAME"/"VALID"; `dimension_numbers`: lax's layout strings, e.g. ("NCHW", "HWIO", "NCHW").

    Other layouts are transposed to [batch, *spatial, channels] and [*spatial, in, out] around the
    convolution: inside a loop XLA:CPU runs a channels-first convolution several times slower.
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    spatial = "".join(c for c in rhs_spec if c not in "IO")
    data, weights = "N" + spatial + "C", spatial + "IO"
    x = _to_layout(x, lhs_spec, data)
    kernel = _to_layout(kernel, rhs_spec, weights)
    if isinstance(padding, str):
        reach = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:-2], rhs_dilation)]
        padding = lax.padtype_to_pads(x.shape[1:-1], reach, strides, padding)
    args = tuple(strides), tuple(map(tuple, padding)), tuple(lhs_dilation), tuple(rhs_dilation)
    if groups > 1 and kernel.shape[-2] == 1:  # depthwise: one input channel per group
        out = _depthwise(x, kernel, *args)
    else:
        out = _conv(x, kernel, *args, (data, weights, data), int(groups))
    return _to_layout(out, data, out_spec)


def _windows(x, kernel_sizes, strides, padding, lhs_dilation, rhs_dilation, out_sizes):
    """For each kernel position (row-major), the strided slice of the dilated, padded x [batch, *spatial, c]
    that the position sees: [batch, *out_sizes, c]."""
    widths = [(0, 0, 0)] + [(lo, hi, a - 1) for (lo, hi), a in zip(padding, lhs_dilation)] + [(0, 0, 0)]
    x = lax.pad(x, np.array(0, x.dtype), widths)
    for offset in itertools.product(*map(range, kernel_sizes)):
        first = [k * d for k, d in zip(offset, rhs_dilation)]
        yield lax.slice(x, [0] + first + [0],
                        [x.shape[0]] + [f + s * (m - 1) + 1 for f, s, m in zip(first, strides, out_sizes)]
                        + [x.shape[-1]], [1] + list(strides) + [1])


def _depthwise(x, kernel, strides, padding, lhs_dilation, rhs_dilation):
    """A depthwise convolution (kernel [*k, 1, channels * multiplier]) as a sum over kernel positions of
    shifted slices times per-channel weights: one fused elementwise loop, forward and backward (XLA:CPU's
    grouped convolution is 10x slower)."""
    rank, channels = x.ndim - 2, x.shape[-1]
    k_sizes = kernel.shape[:rank]
    out_sizes = [(a * (n - 1) + 1 + lo + hi - d * (k - 1) - 1) // s + 1 for n, k, (lo, hi), s, a, d in
                 zip(x.shape[1:-1], k_sizes, padding, strides, lhs_dilation, rhs_dilation)]
    multiplier = kernel.shape[-1] // channels
    weights = kernel.reshape((-1, kernel.shape[-1]))  # [positions, channels * multiplier], channel-major
    total = None
    for w, seen in zip(weights, _windows(x, k_sizes, strides, padding, lhs_dilation, rhs_dilation, out_sizes)):
        # Output channel c * multiplier + m reads input channel c (repeated so the last axis stays long).
        term = (jnp.repeat(seen, multiplier, axis=-1) if multiplier > 1 else seen) * w
        total = term if total is None else total + term
    return total


def _to_layout(array, spec, target):
    """`array`, laid out as the axis letters of `spec`, transposed to those of `target`."""
    return array if spec == target else jnp.transpose(array, [spec.index(c) for c in target])


def _plain(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups):
    return lax.conv_general_dilated(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                                    feature_group_count=groups)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5, 6, 7))
def _conv(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups):
    return _plain(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups)


def _conv_fwd(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups):
    out = _plain(x, kernel, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups)
    return out, (x, kernel)


def _conv_bwd(strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups, residuals, g):
    x, kernel = residuals
    # The input gradient: JAX's own rule (it transposes only the small kernel), fast in loops.
    _, input_vjp = jax.vjp(lambda v: _plain(v, kernel, strides, padding, lhs_dilation, rhs_dilation,
                                            dimension_numbers, groups), x)
    (dx,) = input_vjp(g)
    return dx, _kernel_gradient(x, g, kernel.shape, strides, padding, lhs_dilation, rhs_dilation, groups)


_conv.defvjp(_conv_fwd, _conv_bwd)


def _kernel_gradient(x, g, kernel_shape, strides, padding, lhs_dilation, rhs_dilation, groups):
    """d(loss)/d(kernel) as one matrix product per kernel position (canonical layouts: x [batch, *spatial, in],
    g [batch, *out_spatial, out], kernel [*k, in / groups, out]).

    dK[k, i, o] = sum over batch n and output position p of x_padded[n, p * stride + k * dilation, i] * g[n, p, o]:
    for each kernel position k, the strided slice of the (dilated, padded) input that position k saw,
    contracted with g over batch and positions: [in, n * p] @ [n * p, out], per group.
    """
    rank, channels, out_channels = x.ndim - 2, x.shape[-1], g.shape[-1]
    out_sizes = g.shape[1:-1]
    rows = math.prod(g.shape[:-1])
    g = g.reshape(rows, groups, out_channels // groups)
    windows = _windows(x, kernel_shape[:rank], strides, padding, lhs_dilation, rhs_dilation, out_sizes)
    per_position = [jnp.einsum("rgi,rgo->igo", seen.reshape(rows, groups, channels // groups), g) for seen in windows]
    return jnp.stack(per_position).reshape(kernel_shape)


# ----- pooling -----------------------------------------------------------------------------------------------


def _tiles(shape, window, strides, padding):
    """Whether the windows tile the (cropped) input: no overlap, no padding."""
    return all(s == w for s, w in zip(strides, window)) and all(p == (0, 0) for p in padding)


def _blocks(x, window):
    """x cropped to whole windows and reshaped so each window axis follows its axis; the window axes."""
    x = x[tuple(slice(0, (n // w) * w) for n, w in zip(x.shape, window))]
    shape, axes = [], []
    for n, w in zip(x.shape, window):
        if w == 1:
            shape.append(n)
        else:
            shape += [n // w, w]
            axes.append(len(shape) - 1)
    return x.reshape(shape), tuple(axes)


def _pads(shape, window, strides, padding):
    return lax.padtype_to_pads(shape, window, strides, padding) if isinstance(padding, str) else padding


def max_pool(x, window, strides, padding):
    """Max over windows (full-rank `window`, `strides`; `padding`: (before, after) pairs or "SAME"/"VALID");
    padding never wins."""
    window, strides = tuple(window), tuple(strides)
    padding = tuple(map(tuple, _pads(x.shape, window, strides, padding)))
    if _tiles(x.shape, window, strides, padding):
        return _tiled_max(x, window)
    lowest = -np.inf if jnp.issubdtype(x.dtype, jnp.floating) else jnp.iinfo(x.dtype).min
    # A NumPy scalar identity lets lax use its differentiable max-window reduction.
    return lax.reduce_window(x, np.array(lowest, x.dtype), lax.max, window, strides, padding)


def avg_pool(x, window, strides, padding):
    """Mean over windows; with padding, each window's mean is over its real (unpadded) inputs."""
    window, strides = tuple(window), tuple(strides)
    padding = tuple(map(tuple, _pads(x.shape, window, strides, padding)))
    if _tiles(x.shape, window, strides, padding):
        blocks, axes = _blocks(x, window)
        return jnp.mean(blocks, axis=axes)
    total = lax.reduce_window(x, np.array(0, x.dtype), lax.add, window, strides, padding)
    return total / _window_counts(x.shape, window, strides, padding).astype(total.dtype)


def _window_counts(shape, window, strides, padding):
    """How many real inputs each window covers: a NumPy constant broadcasting against the output."""
    ones = np.ones([n if w > 1 or p != (0, 0) else 1 for n, w, p in zip(shape, window, padding)], np.float32)
    view = np.lib.stride_tricks.sliding_window_view(np.pad(ones, padding), window)
    counts = view.sum(axis=tuple(range(-len(window), 0)))
    return counts[tuple(slice(None, None, s) for s in strides)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _tiled_max(x, window):
    blocks, axes = _blocks(x, window)
    return jnp.max(blocks, axis=axes)


def _tiled_max_fwd(x, window):
    blocks, axes = _blocks(x, window)
    out = jnp.max(blocks, axis=axes)
    return out, (x, out)


def _tiled_max_bwd(window, residuals, g):
    x, out = residuals
    blocks, axes = _blocks(x, window)
    sizes = [blocks.shape[a] for a in axes]
    pieces, taken = {}, None
    for offset in itertools.product(*map(range, sizes)):  # row-major: the first maximum takes the gradient
        index = [slice(None)] * blocks.ndim
        for a, o in zip(axes, offset):
            index[a] = o
        hit = blocks[tuple(index)] == out
        hit = hit if taken is None else hit & ~taken
        taken = hit if taken is None else taken | hit
        pieces[offset] = jnp.where(hit, g, jnp.zeros_like(g))

    def assemble(prefix):
        level = len(prefix)
        if level == len(axes):
            return pieces[prefix]
        return jnp.stack([assemble(prefix + (o,)) for o in range(sizes[level])], axis=axes[level] - level)

    grad = assemble(()).reshape([(n // w) * w for n, w in zip(x.shape, window)])
    pads = [(0, n - m) for n, m in zip(x.shape, grad.shape)]
    return (jnp.pad(grad, pads) if any(p for _, p in pads) else grad,)


_tiled_max.defvjp(_tiled_max_fwd, _tiled_max_bwd)
