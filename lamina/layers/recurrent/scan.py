"""The one time loop every recurrent layer runs: `lax.scan` over time-major steps.

`run(step, inputs, initial_states, ...)` is Keras's `backend.rnn` for lamina: `step(x_t, states)
-> (output_t, new_states)` is applied along the time axis of `inputs` ([time, batch, ...],
already time-major). With a `mask` ([time, batch]) a masked step keeps the previous states and
outputs the previous output (`states[0]`, or the last cell's first state for stacked cells) or
zeros (`zero_output_for_mask`), exactly as Keras's scan does.

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


def run(step, inputs, initial_states, mask=None, go_backwards=False, unroll=False, zero_output_for_mask=False,
        return_sequences=True):
    """Run `step` over time.

    Args:
        step: `(x_t, states) -> (output_t, new_states)`; `states` keeps `initial_states`' structure.
        inputs: a time-major array [time, batch, ...] (or a tree of them).
        initial_states: a tree of [batch, ...] arrays.
        mask: optional bool [time, batch]; False steps are skipped (states carried over).
        go_backwards: process the steps last to first; outputs come in processing order.
        unroll: unroll the loop.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        return_sequences: also return every step's output.

    Returns:
        `(last_output [batch, ...], outputs [time, batch, ...] or None, final_states)`.
    """
    first_x = jax.tree_util.tree_map(lambda x: x[0], inputs)
    out_spec = jax.eval_shape(lambda x, s: step(x, s)[0], first_x, initial_states)

    def body(carry, xs):
        states, last = carry
        x_t, mask_t = xs
        output, new_states = step(x_t, states)
        if mask_t is not None:
            if zero_output_for_mask:
                fallback = jnp.zeros_like(output)
            else:
                fallback = _previous_output(states)
            output = jnp.where(_expand(mask_t, output), output, fallback)
            new_states = jax.tree_util.tree_map(lambda new, old: jnp.where(_expand(mask_t, new), new, old),
                                                new_states, states)
        return (new_states, output), (output if return_sequences else None)

    last0 = jnp.zeros(out_spec.shape, out_spec.dtype)
    (states, last), outputs = lax.scan(body, (initial_states, last0), (inputs, mask), reverse=go_backwards,
                                       unroll=bool(unroll) or 1)
    if return_sequences and go_backwards:
        outputs = jnp.flip(outputs, axis=0)
    return last, outputs, states
