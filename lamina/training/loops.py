"""The compiled loops: many steps per XLA call over device-resident data.

Each builder returns a `compiled` program: `jax.jit` of the loop, kept on disk
across runs (see `backend.programs`) and cached in `model._fns` (cleared
whenever compile or the data structure changes).

* `array_chunk`: `steps` train/test steps in one `lax.scan`; each step gathers
  its batch from the full device arrays through an index `order`; rows past
  the end of the data are padding with mask 0.
* `stream_chunk`: the same over K batches stacked on the host (generators).
* `predict_direct` / `predict_scan`: outputs for one batch / for many.
* `sample_order`: the (host-drawn) index order of an epoch.
* `stack_batches`: pad and stack generator batches for `stream_chunk`.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import programs
from lamina.training import data_adapter, program_key


def compiled(model, key, fn):
    """`jax.jit(fn)`, cached in `model._fns[key]` and kept on disk across runs (see `backend.programs`)."""
    if key not in model._fns:
        model._fns[key] = programs.CachedProgram(fn, lambda signature: program_key.program_key(model, key, signature))
    return model._fns[key]


def _step(model, kind):
    return model.train_step if kind == "train" else model.test_step


def array_chunk(model, kind, steps, batch_size, guard=False):
    """jit(state, arrays, order, first_step, n) -> (state, logs): `steps` steps over gathered batches.

    With `guard`, steps past the end of the data (the tail of a last chunk) are skipped with
    `lax.cond`; without it every step runs (chunks tile the epoch exactly).
    """
    step, metrics = _step(model, kind), model._setup["metrics"]

    def chunk(state, arrays, order, first_step, n):
        def body(state, i):
            start = (first_step + i) * batch_size
            idx = jax.lax.dynamic_slice(order, (start,), (batch_size,))
            mask = ((start + jnp.arange(batch_size)) < n).astype(jnp.float32)
            x, y, sw = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), arrays)
            run = lambda s: model._with_mask(step, s, (x, y, sw), mask)  # noqa: E731
            if guard:
                return jax.lax.cond(start < n, run, lambda s: s, state), None
            return run(state), None

        state, _ = jax.lax.scan(body, state, jnp.arange(steps))
        return state, metrics.results(state["metrics"])

    return compiled(model, (kind, steps, batch_size, guard), chunk)


def stream_chunk(model, kind):
    """jit(state, stacked batches [K, B, ...], masks [K, B]) -> (state, logs) for generator data."""
    step, metrics = _step(model, kind), model._setup["metrics"]

    def chunk(state, stacked, masks):
        def body(state, item):
            data, mask = item
            run = lambda s: model._with_mask(step, s, data, mask)  # noqa: E731
            return jax.lax.cond(jnp.sum(mask) > 0, run, lambda s: s, state), None

        state, _ = jax.lax.scan(body, state, (stacked, masks))
        return state, metrics.results(state["metrics"])

    return compiled(model, (kind, "stream"), chunk)


def predict_direct(model):
    """program(state, x) -> outputs for one batch."""
    return compiled(model, "predict_direct", lambda state, x: model.predict_step(state, x))


def predict_scan(model, steps, batch_size):
    """program(state, x, order) -> outputs for `steps * batch_size` rows gathered through `order`."""

    def scan_predict(state, x, order):
        def body(_, i):
            idx = jax.lax.dynamic_slice(order, (i * batch_size,), (batch_size,))
            batch = jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), x)
            return None, model.predict_step(state, batch)

        _, out = jax.lax.scan(body, None, jnp.arange(steps))
        return jax.tree_util.tree_map(lambda o: o.reshape((-1,) + o.shape[2:]), out)

    return compiled(model, ("predict_scan", steps, batch_size), scan_predict)


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


def stack_batches(items, batch_size, chunk):
    """Pad each batch to `batch_size` rows and stack `chunk` of them: ([K, B, ...] tree, masks [K, B], count)."""
    def pad(a, rows):
        a = np.asarray(a)
        if a.shape[0] > rows:
            raise ValueError(f"A batch from the data source has {a.shape[0]} rows, more than the first batch's "
                             f"{rows}; batches must not grow.")
        return np.concatenate([a, np.zeros((rows - a.shape[0],) + a.shape[1:], a.dtype)]) if a.shape[0] < rows else a

    masks = np.zeros((chunk, batch_size), np.float32)
    padded = []
    for k, (x, y, w) in enumerate(items):
        rows = data_adapter.num_samples(x, "x")
        masks[k, :rows] = 1.0
        padded.append(jax.tree_util.tree_map(lambda a: pad(a, batch_size), (x, y, w)))
    while len(padded) < chunk:
        padded.append(jax.tree_util.tree_map(np.zeros_like, padded[0]))
    stacked = jax.tree_util.tree_map(lambda *parts: np.stack(parts), *padded)
    return stacked, masks, len(items)
