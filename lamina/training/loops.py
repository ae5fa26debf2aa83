"""The compiled loops: many steps per XLA call.

A step here is `step(state, data, mask) -> (state, logs or None)` (see `engine.Steps`).
Each builder returns the pure function of one chunk of steps; the engine compiles it
through the program cache (`backend.programs`).

* `gather_chunk`: `steps` steps in one `lax.scan` over data already on the device;
  each step gathers its batch through an index `order` (rows past the end of the data
  are padding, with mask 0);
* `epochs_chunk`: several epochs of `gather_chunk` in one program (one launch for a block of epochs);
* `stacked_chunk`: the same over K batches stacked on the host (generators);
* `predict_gather` / `predict_direct`: outputs for many rows / for one batch;
* `sample_order`: the (host-drawn) index order of an epoch;
* `stack_batches`: pad and stack generator batches for `stacked_chunk`.

A step that returns logs (a Keras-form `train_step`) has them carried through the scan:
the chunk returns the last step's logs, as Keras does; lamina's own steps return None
and the chunk computes its logs from the metrics' variables once, at its end.
"""

import jax
import jax.numpy as jnp
import numpy as np


def _run(step, state, data, mask, logs, guard_ok=None):
    def go(carry):
        new_state, new_logs = step(carry[0], data, mask)
        return type(carry[0])(*new_state), (carry[1] if new_logs is None else new_logs)

    if guard_ok is None:
        return go((state, logs))
    return jax.lax.cond(guard_ok, go, lambda carry: carry, (state, logs))


def gather_chunk(step, final_logs, steps, batch_size, guard=False):
    """fn(state, logs, arrays, order, start_row, n) -> (state, logs): `steps` steps over gathered batches.

    Batch `i` holds rows `order[start_row + i * batch_size : ... + batch_size]`; rows at
    positions >= `n` are padding (mask 0). With `guard`, steps starting past `n` are
    skipped (`lax.cond`); without it every step runs. `final_logs(state, logs)` turns the
    carried logs into the chunk's logs.
    """

    def chunk(state, logs, arrays, order, start_row, n):
        def body(carry, i):
            start = start_row + i * batch_size
            idx = jax.lax.dynamic_slice(order, (start,), (batch_size,))
            mask = ((start + jnp.arange(batch_size)) < n).astype(jnp.float32)
            data = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), arrays)
            return _run(step, carry[0], data, mask, carry[1], (start < n) if guard else None), None

        (state, logs), _ = jax.lax.scan(body, (state, logs), jnp.arange(steps))
        return state, final_logs(state, logs)

    return chunk


def epochs_chunk(step, final_logs, steps, batch_size, guard=False, validation=None):
    """fn(state, logs, arrays, orders [E, length], live [E], validate [E], start_row, n, *val) -> (state, (logs
    [E], val_logs [E] or None)): E epochs of `gather_chunk`, epoch e over `orders[e]`, each from the metric
    variables `state` holds on entry (fresh ones), in one program. Epochs with `live[e]` False are passed over
    (their logs are the state's, unused): a block of E epochs also runs the last, shorter one.

    `validation`: (evaluate, evaluate_final, to_eval): a `gather_chunk` of test steps, its final logs function,
    and `to_eval(state, metrics)`, the evaluation state of a trained one. Then `val` is (val_arrays, val_order,
    val_n), and after each epoch with `validate[e]` the trained state is evaluated from fresh metric variables
    (what evaluation does to the state is not kept, as in `fit`); without it `validate` is unused."""
    epoch = gather_chunk(step, final_logs, steps, batch_size, guard)

    def chunk(state, logs, arrays, orders, live, validate, start_row, n, *val):
        fresh = state.metrics_variables

        def run(state, order):
            return epoch(state._replace(metrics_variables=fresh), logs, arrays, order, start_row, n)

        def skip(state, order):  # logs of the same structure, from the state as it is (not traced twice)
            return state, final_logs(state, logs)

        def checked(state, due):
            if validation is None:
                return None
            evaluate, evaluate_final, to_eval = validation
            val_arrays, val_order, val_n = val
            return jax.lax.cond(due, lambda s: evaluate(to_eval(s, fresh), None, val_arrays, val_order, 0, val_n)[1],
                                lambda s: evaluate_final(to_eval(s, fresh), None), state)

        def body(state, item):
            order, on, due = item
            state, epoch_logs = jax.lax.cond(on, run, skip, state, order)
            return state, (epoch_logs, checked(state, on & due))

        return jax.lax.scan(body, state, (orders, live, validate))

    return chunk


def stacked_chunk(step, final_logs):
    """fn(state, logs, stacked [K, B, ...], masks [K, B]) -> (state, logs); empty slots are skipped."""

    def chunk(state, logs, stacked, masks):
        def body(carry, item):
            data, mask = item
            return _run(step, carry[0], data, mask, carry[1], jnp.sum(mask) > 0), None

        (state, logs), _ = jax.lax.scan(body, (state, logs), (stacked, masks))
        return state, final_logs(state, logs)

    return chunk


def predict_direct(step):
    """fn(state, x) -> (outputs, state) for one batch."""
    return lambda state, x: step(state, x)


def predict_gather(step, steps, batch_size):
    """fn(state, x, order) -> (outputs for `steps * batch_size` rows gathered through `order`, state)."""

    def scan_predict(state, x, order):
        def body(state, i):
            idx = jax.lax.dynamic_slice(order, (i * batch_size,), (batch_size,))
            batch = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), x)
            out, state = step(state, batch)
            return type(state)(*state), out

        state, out = jax.lax.scan(body, state, jnp.arange(steps))
        return jax.tree_util.tree_map(lambda o: o.reshape((-1,) + o.shape[2:]), out), state

    return scan_predict


def sample_order(n, length, shuffle):
    """order(seed, epoch) -> [length] int32 sample indices, zero-padded past `n`.

    The shuffle is drawn on the host with NumPy (4 bytes per sample go to the device each
    epoch; the data itself stays there): compiling a device-side permutation would add
    0.25-0.4 s to every cold start. Seeded from the fit's key, so runs are reproducible.
    """
    order = np.zeros((length,), np.int32)
    order[:n] = np.arange(n, dtype=np.int32)
    if not shuffle:
        return lambda seed=None, epoch=0: order

    def shuffled(seed, epoch):
        out = order.copy()
        out[:n] = np.random.default_rng([int(seed), int(epoch)]).permutation(n)
        return out

    return shuffled


def stack_batches(items, batch_size, chunk, num_samples):
    """Pad each batch to `batch_size` rows and stack `chunk` of them: ([K, B, ...] tree, masks [K, B])."""
    def pad(a, rows):
        a = np.asarray(a)
        if a.shape[0] > rows:
            raise ValueError(f"A batch from the data source has {a.shape[0]} rows, more than the first batch's "
                             f"{rows}; batches must not grow.")
        return np.concatenate([a, np.zeros((rows - a.shape[0],) + a.shape[1:], a.dtype)]) if a.shape[0] < rows else a

    masks = np.zeros((chunk, batch_size), np.float32)
    padded = []
    for k, item in enumerate(items):
        masks[k, :num_samples(item)] = 1.0
        padded.append(jax.tree_util.tree_map(lambda a: pad(a, batch_size), item))
    while len(padded) < chunk:
        padded.append(jax.tree_util.tree_map(np.zeros_like, padded[0]))
    stacked = jax.tree_util.tree_map(lambda *parts: np.stack(parts), *padded)
    return stacked, masks
