"""In-memory data and compiled loops under a distribution (`lamina.distribution`): one SPMD program per chunk.

The mesh's batch axis has R slices ("replicas"); a global batch of B rows is cut into R
parts of b = ceil(B / R) rows, one per replica (rows past B or past the data are padding,
masked, as the ragged last batch is on one device). Each replica's rows for the whole
epoch are put once on its devices, as one global array [R, m, ...] split along the batch
axis; step i of replica r reads b of its own rows through an index [R, steps, b] (a local
gather inside `shard_map`, no communication), so the batch [R * b, ...] arrives split
along the batch axis and XLA adds the collectives the step needs (the gradient's sum).

Which rows: batch i holds rows i*B .. i*B + B - 1 of the data, replica r the r-th part of
it, so without shuffling the batches (and the losses and weights) are those of one
device, up to summation order. With `shuffle=True` each replica shuffles the rows it holds
every epoch: every row is still seen once per epoch, in random batches, but not the same
random batches as on one device (that would move the data between devices every epoch).

Whole rows (a distribution with `rows_everywhere`, one process: lamina's own data parallelism over CPU
cores, `training/cores.py`): every replica holds all the rows and reads its part of each batch of the
one-device order, shuffled as on one device, so the batches are exactly those of a one-device fit.

Processes: with `auto_shard_dataset=True` (the default) every process is given the same
whole data and `batch_size` is the global batch: each process puts only its replicas' rows
on its devices. With `auto_shard_dataset=False` each process is given its own rows and
`batch_size` is its part of the global batch (Keras's meaning); processes with fewer rows
get masked steps, so they need not hold the same number of rows.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from lamina.distribution import placement
from lamina.training import loops


class Layout:
    """Where the rows of a data source go: `pos` [R_here, steps, b] (row index, -1 for padding) for the replicas
    `replicas` (global indices on the batch axis) whose rows this process supplies."""

    def __init__(self, dist, n, batch_size, steps, offset=0, exact=False, rows=None):
        self.dist = dist
        # whole rows: each replica holds the source's `rows` rows (see the module docstring)
        self.whole = rows if getattr(dist, "rows_everywhere", False) and not placement.multi_process() else None
        mesh = dist.device_mesh.backend_mesh
        self.mesh, self.axis = mesh, dist.batch_dim_name
        self.R = dist.num_model_replicas
        here = jax.process_index()
        axis_index = list(mesh.axis_names).index(self.axis)
        owners = [{d.process_index for d in np.atleast_1d(np.take(mesh.devices, r, axis=axis_index)).flat}
                  for r in range(self.R)]  # the processes holding each slice of the batch axis
        self.local = dist._is_multi_process and not dist.auto_shard_dataset
        if self.local:
            if any(len(o) > 1 for o in owners):
                raise ValueError("auto_shard_dataset=False: each slice of the mesh's batch axis must lie within one "
                                 "process (its devices on one machine), since each process supplies its own rows.")
            self.replicas = [r for r in range(self.R) if here in owners[r]]
            share = len(self.replicas)
            steps = _agreed_max(steps)
        else:
            self.replicas = [r for r in range(self.R) if here in owners[r]]
            share = self.R
        self.b = math.ceil(batch_size / share)
        if exact and self.b * share != batch_size:
            raise ValueError(
                f"This model runs its own train_step/test_step (Keras-form steps, which see exact batches), so each "
                f"batch must split evenly over the {share} slices of the mesh's batch axis; a batch of "
                f"{batch_size} rows does not. Use a batch_size (and a number of samples) that is a multiple of "
                f"{share}.")
        self.steps, self._n, self._batch, self._offset = steps, n, batch_size, offset
        pos = [self.rows_of(self.replicas[k] if not self.local else k) for k in range(len(self.replicas))]
        self.pos = np.stack(pos) if pos else np.zeros((0, steps, self.b), np.int64)
        self.m = steps * self.b if self.whole is None else self.whole

    def rows_of(self, part):
        """[steps, b] rows of the `part`-th slice of each batch (-1: padding)."""
        place = part * self.b + np.arange(self.b)  # the slots' places in their batch
        rows = self._offset + np.arange(self.steps)[:, None] * self._batch + place[None, :]
        valid = (place[None, :] < self._batch) & (rows < self._offset + self._n)
        return np.where(valid, rows, -1)

    def sharding(self, ndim):
        return NamedSharding(self.mesh, PartitionSpec(self.axis, *([None] * (ndim - 1))))

    def _global(self, shape, dtype, block):
        """The global array [R, ...] whose replica r is `block(k)` (k: r's index among this process's replicas)."""
        where = {r: k for k, r in enumerate(self.replicas)}
        cache = {}

        def part(index):
            r = index[0].start or 0
            if r not in cache:
                cache[r] = block(where[r])[None]
            return cache[r][(slice(None),) + tuple(index[1:])]

        return jax.make_array_from_callback((self.R,) + tuple(shape), self.sharding(1 + len(shape)), part) \
            if placement.multi_process() else jax.device_put(
                np.stack([block(where[r]) for r in range(self.R)]).astype(dtype), self.sharding(1 + len(shape)))

    def put_rows(self, arrays):
        """(x, y, sample_weight) -> the same tree of global arrays [R, m, ...]: each replica's rows in order."""
        def put(a):
            a = np.asarray(a)
            if self.whole is not None:
                return self._global(a.shape, a.dtype, lambda k: a)

            def block(k):
                out = np.zeros((self.m,) + a.shape[1:], a.dtype)
                rows = self.pos[k].reshape(-1)
                keep = rows >= 0
                out[:int(keep.sum())] = a[rows[keep]]
                return out

            return self._global((self.m,) + a.shape[1:], a.dtype, block)

        return jax.tree_util.tree_map(put, arrays)

    def order(self, total_steps, shuffle, seed=0, epoch=0):
        """(idx, mask): global [R, total_steps, b] arrays; steps past `self.steps` are all padding."""
        if self.whole is not None:  # the one-device order, each replica its part
            rows = loops.sample_order(self.whole, self.whole, shuffle)(seed, epoch)

        def idx_block(k):
            valid = self.pos[k] >= 0
            if self.whole is not None:
                out = np.zeros((total_steps, self.b), np.int32)
                out[:self.steps] = np.where(valid, rows[np.maximum(self.pos[k], 0)], 0)
                return out
            rank = np.cumsum(valid.reshape(-1)).reshape(valid.shape) - 1
            count = int(valid.sum())
            if shuffle and count:
                perm = np.random.default_rng([int(seed), int(epoch), int(self.replicas[k])]).permutation(count)
                rank = np.where(valid, perm[np.maximum(rank, 0)], 0)
            out = np.zeros((total_steps, self.b), np.int32)
            out[:self.steps] = np.where(valid, rank, 0)
            return out

        def mask_block(k):
            out = np.zeros((total_steps, self.b), np.float32)
            out[:self.steps] = self.pos[k] >= 0
            return out

        return (self._global((total_steps, self.b), np.int32, idx_block),
                self._global((total_steps, self.b), np.float32, mask_block))

    def gather_rows(self, out):
        """Outputs [steps, R * b, ...] of every slot -> this source's rows in order (NumPy)."""
        host = placement.host_array(out)
        host = host.reshape((host.shape[0], self.R, self.b) + host.shape[2:])
        result = np.zeros((self._n,) + host.shape[3:], host.dtype)
        for k, r in enumerate(self.replicas if self.local else range(self.R)):
            pos = self.pos[k] if self.local else self.rows_of(r)
            valid = pos >= 0
            result[pos[valid] - self._offset] = host[:, r][valid]
        return result


def _agreed_max(value, pick=np.max):
    """The largest (`pick`) `value` over the processes (each must call this)."""
    from jax.experimental import multihost_utils

    return int(pick(multihost_utils.process_allgather(np.int32(value))))


def stream_width(dist, width, exact):
    """Rows per stacked stream batch: `width` rounded up to a multiple of the batch axis (the rest masked);
    exact (Keras-form) steps see no padding, so their batches must split evenly."""
    replicas = dist.num_model_replicas
    if width % replicas == 0:
        return width
    if exact:
        raise ValueError(f"This model runs its own train_step/test_step (Keras-form steps, which see exact "
                         f"batches), so each batch must split evenly over the {replicas} slices of the mesh's batch "
                         f"axis; a batch of {width} rows does not. Make the data source's batch size a multiple "
                         f"of {replicas}.")
    return math.ceil(width / replicas) * replicas


def put_stacked(dist, tree):
    """Stacked stream batches [K, B, ...] (and masks [K, B]) on the mesh, split along B."""
    mesh, axis = dist.device_mesh.backend_mesh, dist.batch_dim_name
    return jax.tree_util.tree_map(
        lambda a: placement.global_array(a, NamedSharding(mesh, PartitionSpec(None, axis, *([None] * (a.ndim - 2))))),
        tree)


def _local_take(x, i):
    return jnp.take(x[0], i[0], axis=0)[None]


def batch_of(mesh, axis, arrays, idx):
    """Each replica's rows `idx` [R, b] from its block of `arrays` [R, m, ...] -> [R * b, ...] split on `axis`."""
    spec = PartitionSpec(axis)
    take = jax.shard_map(_local_take, mesh=mesh, in_specs=(spec, spec), out_specs=spec)

    def one(a):
        rows = take(a, idx)
        rows = rows.reshape((-1,) + rows.shape[2:])
        return jax.lax.with_sharding_constraint(
            rows, NamedSharding(mesh, PartitionSpec(axis, *([None] * (rows.ndim - 1)))))

    return jax.tree_util.tree_map(one, arrays)


def gather_chunk(step, final_logs, steps, mesh, axis, guard=False):
    """fn(state, logs, arrays, idx, mask, start, total) -> (state, logs): `steps` steps from step `start` (see the
    module docstring); with `guard`, steps at or past `total` are skipped."""

    def chunk(state, logs, arrays, idx, mask, start, total):
        def body(carry, k):
            s = start + k
            idx_k = jax.lax.dynamic_index_in_dim(idx, s, axis=1, keepdims=False)
            mask_k = jax.lax.dynamic_index_in_dim(mask, s, axis=1, keepdims=False).reshape(-1)
            data = batch_of(mesh, axis, arrays, idx_k)
            return loops._run(step, carry[0], data, mask_k, carry[1], (s < total) if guard else None), None

        (state, logs), _ = jax.lax.scan(body, (state, logs), jnp.arange(steps))
        return state, final_logs(state, logs)

    return chunk


def predict_chunk(step, steps, mesh, axis):
    """fn(state, x, idx) -> (outputs [steps, R * b, ...], state)."""

    def run(state, x, idx):
        def body(state, k):
            batch = batch_of(mesh, axis, x, jax.lax.dynamic_index_in_dim(idx, k, axis=1, keepdims=False))
            out, state = step(state, batch)
            return type(state)(*state), out

        state, out = jax.lax.scan(body, state, jnp.arange(steps))
        return out, state

    return run


class Plan:
    """What every epoch of one fit shares under a distribution: the rows on the devices, the programs, the
    chunks; `chunks(seed, epoch)` gives an epoch's `(first, last, run, sample)` (see `data_adapter.ArrayData`)."""

    def __init__(self, data, runner, chunk, shuffle):
        dist, exact = runner.dist, runner.exact
        bs = data.batch_size
        rows = min(data.n, data.steps * bs)
        full = data.steps if not exact else rows // bs
        self.shuffle = shuffle
        self.parts = []
        if full:
            self._add(dist, runner, data, rows if not exact else full * bs, bs, full, 0, chunk, exact)
        rest = rows - full * bs if exact else 0
        if rest:
            self._add(dist, runner, data, rest, rest, 1, full * bs, 1, exact)
        self.steps = sum(part[0].steps for part in self.parts)

    def _add(self, dist, runner, data, n, batch, steps, offset, chunk, exact):
        layout = Layout(dist, n, batch, steps, offset, exact, rows=data.n)
        chunk = min(chunk, layout.steps)
        if layout.local:  # processes with other row counts must still run the same programs
            chunk = _agreed_max(chunk, np.min)
        total = math.ceil(layout.steps / chunk) * chunk
        program = runner.sharded_gather(chunk, total != layout.steps)
        arrays = layout.put_rows((data.x, data.y, data.sample_weight))
        sample = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((layout.R * layout.b,) + np.shape(a)[1:], np.asarray(a).dtype),
            (data.x, data.y, data.sample_weight))
        fixed = None if self.shuffle else layout.order(total, False)
        self.parts.append((layout, chunk, total, program, arrays, sample, fixed))

    def chunks(self, seed, epoch):
        out, done = [], 0
        for layout, chunk, total, program, arrays, sample, fixed in self.parts:
            idx, mask = fixed or layout.order(total, True, seed, epoch)
            for first in range(0, layout.steps, chunk):
                out.append((done + first, done + min(first + chunk, layout.steps) - 1,
                            _run_chunk(program, arrays, idx, mask, first, layout.steps), sample))
            done += layout.steps
        return out


def _run_chunk(program, arrays, idx, mask, first, total):
    return lambda state, logs: program(state, logs, arrays, idx, mask, np.int32(first), np.int32(total))


class ProgramLayout:
    """How a compiled program's arguments and results lie on the mesh (for `backend.programs.CachedProgram`).

    Arguments already on this mesh keep their layout (the state is placed by `StateSync`, the data by
    `Layout`); anything else (scalars, host arrays) is replicated. `out`: "chunk" -> (state as it came in,
    replicated logs); "predict" -> (outputs [steps, rows, ...] split on the batch axis, state as it came in);
    None -> left to XLA.
    """

    def __init__(self, dist, out=None):
        self.dist, self.out = dist, out
        self.mesh = dist.device_mesh.backend_mesh
        # Compiled per process, never stored: the program cache loads a stored program onto the devices its
        # arguments' one mesh names (`programs._devices_in_order`), and a distribution's programs are also given
        # in/out shardings and may span processes; loading those is not built (nor measured) yet.
        self.storable = False

    def describe(self):
        return self.dist.describe()

    def place(self, args):
        replicated = self.dist.replicated()

        def put(a):
            sharding = getattr(a, "sharding", None)
            if isinstance(a, jax.Array) and isinstance(sharding, NamedSharding) and sharding.mesh == self.mesh:
                return a
            return placement.global_array(a, replicated)

        return jax.tree_util.tree_map(put, args)

    def jit_kwargs(self, args):
        in_shardings = jax.tree_util.tree_map(lambda a: a.sharding, args)
        kwargs = {"in_shardings": in_shardings}
        if self.out == "chunk":
            kwargs["out_shardings"] = (in_shardings[0], self.dist.replicated())
        elif self.out == "predict":
            kwargs["out_shardings"] = (NamedSharding(self.mesh, PartitionSpec(None, self.dist.batch_dim_name)),
                                       in_shardings[0])
        return kwargs


def state_shardings(dist, groups):
    """{"trainable": [...], ...} Variables -> the same lists of their shardings. An optimizer's slot (named
    "<variable path with _>_<slot>", of the variable's shape) lies as its variable does, as in Keras."""
    by_name = {v.path.replace("/", "_"): v for v in groups.get("trainable", [])}
    out = {}
    for name, variables in groups.items():
        shardings = []
        for v in variables:
            if name == "optimizer":
                refs = [k for k in by_name if v.name.startswith(k + "_") and tuple(by_name[k].shape) == tuple(v.shape)]
                if refs:
                    shardings.append(dist.variable_sharding(by_name[max(refs, key=len)]))
                    continue
            shardings.append(dist.variable_sharding(v))
        out[name] = shardings
    return out
