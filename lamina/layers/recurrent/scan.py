"""The one time loop every recurrent layer runs: `lax.scan` over time-major steps.

`run(parts, inputs, initial_states, ...)` is Keras's `backend.rnn` for lamina: `parts.step(x_t,
states) -> (output_t, new_states)` is applied along the time axis of `inputs` ([time, batch, ...],
time-major). With a `mask` ([time, batch]) a masked step keeps the previous
states and outputs the previous output (`states[0]`, or the last cell's first state for stacked
cells) or zeros (`zero_output_for_mask`), exactly as Keras's scan does. `go_backwards` runs the
steps last to first; outputs come in processing order, as in Keras.

When the step is `gate(x_t @ kernel + bias + h @ recurrent_kernel, states)` (`parts.linear`:
SimpleRNN and LSTM cells), the loop has its own gradient: the forward loop keeps only the
pre-activations and states, the backward loop carries the states' cotangents and stacks one array,
and the gradients of the inputs and weights are a few matrix products over all steps after it,
instead of small products accumulated at every step (what differentiating the loop does, and
Keras's cost). The values are the same.

`unroll=True` unrolls the same loop (XLA sees every step); the answer is the same as the rolled
loop. Keras's unrolled loop differs from its own rolled one in two corners (it ignores
`zero_output_for_mask`, and a masked first step outputs zeros instead of the initial state); lamina
computes the rolled loop's answer in both cases.
"""

import jax
import jax.numpy as jnp
from jax import lax

from lamina.backend.scope import current_scope
from lamina.backend.variables import assignments


def _expand(mask_t, x):
    """A [batch] mask shaped to broadcast against `x` ([batch, ...])."""
    return mask_t.reshape(mask_t.shape + (1,) * (x.ndim - 1))


def _previous_output(states):
    first = states[0]
    if isinstance(first, (list, tuple)):  # stacked cells: the last cell's first state
        return states[-1][0]
    return first


def _masked(step, zero_output_for_mask):
    """`step(x_t, states)` as `(x_t, mask_t, states) -> (output, new_states)`: False rows keep their states."""

    def masked_step(x_t, mask_t, states):
        output, new_states = step(x_t, states)
        if mask_t is None:
            return output, new_states
        keep = mask_t > 0
        fallback = jnp.zeros_like(output) if zero_output_for_mask else _previous_output(states)
        output = jnp.where(_expand(keep, output), output, fallback)
        new_states = jax.tree_util.tree_map(lambda new, old: jnp.where(_expand(keep, new), new, old),
                                            new_states, states)
        return output, new_states

    return masked_step


def pure_step(step, owner):
    """`step` with a check that it assigns no variable: a value assigned inside the loop body
    would escape the loop as a tracer. Cells draw their dropout masks before the loop."""

    def checked(x_t, states):
        scope = current_scope()
        before = dict(scope.state_mapping) if scope is not None else assignments()
        out = step(x_t, states)
        if scope is not None:
            changed = [k for k, v in scope.state_mapping.items() if before.get(k) is not v]
            scope.state_mapping.clear()
            scope.state_mapping.update(before)
        else:
            changed = assignments() != before
        if changed:
            raise ValueError(
                f"{owner}: the cell assigned a variable inside the time loop (a step must be a pure function of "
                "its inputs and states). Draw random masks or update statistics outside the cell's `call`."
            )
        return out

    return checked


def run(parts, inputs, initial_states, mask=None, go_backwards=False, unroll=False, zero_output_for_mask=False,
        return_sequences=True, owner="RNN"):
    """Run a cell's `LoopParts` over time.

    Args:
        parts: `LoopParts` (see `cell.py`).
        inputs: time-major [time, batch, ...] (or a tree of such arrays).
        initial_states: a tree of [batch, ...] arrays (the step's `states`).
        mask: optional bool [time, batch]; False steps are skipped (states carried over).
        go_backwards: process the steps last to first; outputs come in processing order.
        unroll: unroll the loop.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        return_sequences: also return every step's output.
        owner: names the layer in errors.

    Returns:
        `(last_output [batch, ...], outputs [time, batch, ...] or None, final_states)`.
    """
    if go_backwards:
        inputs = jax.tree_util.tree_map(lambda x: jnp.flip(x, axis=0), inputs)
        mask = None if mask is None else jnp.flip(mask, axis=0)
    mask = None if mask is None else mask.astype(jnp.float32)
    unroll = bool(unroll) or 1
    if parts.linear is not None:
        return _linear_loop(parts.linear, zero_output_for_mask, return_sequences, unroll)(
            inputs, parts.linear.input_params, parts.linear.recurrent_params, initial_states, mask)
    step = _masked(pure_step(parts.step, owner), zero_output_for_mask)
    first_x = jax.tree_util.tree_map(lambda x: x[0], inputs)
    out_spec = jax.eval_shape(lambda x, s: parts.step(x, s)[0], first_x, initial_states)

    def body(carry, xs):
        states, _ = carry
        output, new_states = step(xs[0], xs[1], states)
        return (new_states, output), (output if return_sequences else None)

    last0 = jnp.zeros(out_spec.shape, out_spec.dtype)
    (states, last), outputs = lax.scan(body, (initial_states, last0), (inputs, mask), unroll=unroll)
    return last, outputs, states


def _linear_loop(linear, zero_output_for_mask, return_sequences, unroll):
    """The loop of a `Linear` step as a function of (inputs, input params, recurrent params, initial
    states, mask), with its own VJP.

    The forward loop keeps, per step, the gates' pre-activations and the previous states; the
    backward loop recomputes each step's elementwise part to differentiate it, carries the states'
    cotangents and stacks one array, the pre-activations' cotangent; the inputs' and the weights'
    gradients are then a few large products over all steps.
    """

    def step(z, mask_t, states):
        return _masked(linear.gate, zero_output_for_mask)(z, mask_t, states)

    def pre_activation(x_t, h, input_params, recurrent_params):
        return linear.linear(x_t, input_params) + linear.linear(h, recurrent_params)

    def forward(inputs, input_params, recurrent_params, initial_states, mask, keep):
        first = jax.eval_shape(lambda x, s: linear.gate(pre_activation(x, s[0], input_params, recurrent_params), s),
                               inputs[0], initial_states)[0]

        def body(carry, xs):
            states, _ = carry
            x_t, mask_t = xs
            z = pre_activation(x_t, states[0], input_params, recurrent_params)
            output, new_states = step(z, mask_t, states)
            return (new_states, output), (output if return_sequences else None, (z, states) if keep else None)

        last0 = jnp.zeros(first.shape, first.dtype)
        (states, last), (outputs, saved) = lax.scan(body, (initial_states, last0), (inputs, mask), unroll=unroll)
        return (last, outputs, states), saved

    @jax.custom_vjp
    def loop(inputs, input_params, recurrent_params, initial_states, mask):
        return forward(inputs, input_params, recurrent_params, initial_states, mask, keep=False)[0]

    def loop_fwd(inputs, input_params, recurrent_params, initial_states, mask):
        result, (pre_activations, previous_states) = forward(inputs, input_params, recurrent_params, initial_states,
                                                             mask, keep=True)
        return result, (inputs, input_params, recurrent_params, mask, pre_activations, previous_states)

    def loop_bwd(residuals, cotangents):
        inputs, input_params, recurrent_params, mask, pre_activations, previous_states = residuals
        d_last, d_outputs, d_final = cotangents
        steps = pre_activations.shape[0]
        is_last = jnp.arange(steps) == steps - 1

        def body(d_states, xs):
            mask_t, z, states, d_out, last_step = xs
            d_out = jnp.where(last_step, d_last, 0.0) + (0.0 if d_out is None else d_out)
            _, vjp = jax.vjp(lambda z, s: step(z, mask_t, s), z, states)
            d_z, d_previous = vjp((d_out, d_states))
            _, vjp_h = jax.vjp(lambda h: linear.linear(h, recurrent_params), states[0])
            d_previous = [d_previous[0] + vjp_h(d_z)[0]] + list(d_previous[1:])
            return type(d_states)(d_previous), d_z

        d_initial, d_pre = lax.scan(body, d_final, (mask, pre_activations, previous_states, d_outputs, is_last),
                                    reverse=True, unroll=unroll)
        _, vjp_inputs = jax.vjp(linear.linear, inputs, input_params)
        d_inputs, d_input_params = vjp_inputs(d_pre)
        _, vjp_recurrent = jax.vjp(lambda p: linear.linear(previous_states[0], p), recurrent_params)
        (d_recurrent_params,) = vjp_recurrent(d_pre)
        return d_inputs, d_input_params, d_recurrent_params, d_initial, None

    loop.defvjp(loop_fwd, loop_bwd)
    return loop
