"""Turn user data (arrays, frames, lists, dicts, generators, PyDataset) into what the engine runs on.

In-memory data becomes an `ArrayData`: x, y and sample weights as pytrees of
NumPy arrays with a common first axis, put on the device once. Generators and
`PyDataset` objects become a `StreamData` that yields batches. All checks here
run on the host, before any compute, and name what is wrong (the checks of values and targets are in `checks`).

Both are data sources with one interface for the engine's loop:

* `peek()`: the first batch (or the whole arrays), to build the model and resolve the loss;
* `steps`: the number of steps per epoch (None when a stream runs until exhausted);
* `chunks(runner, chunk, ...)`: the epoch as `Chunk`s of up to `chunk` steps, each with
  `run(state, logs) -> (state, logs)` calling a compiled program from `runner`.

With lamina's own steps a ragged last batch is padded and masked (one program per
epoch); with Keras-form steps (`runner.exact`) batches are exact, as Keras gives them:
a ragged last batch is run on its own. Under a distribution, in-memory data is laid out
over the mesh by `sharded.Plan`, and stream batches are split along the batch axis.
"""

import functools
import math
from typing import Callable, NamedTuple

import jax
import numpy as np

from lamina.training import loops, sharded


def _is_frame(x):
    mod = type(x).__module__
    return mod.startswith("pandas") and hasattr(x, "to_numpy")


def to_numpy_tree(x, what):
    """Arrays, pandas frames/series, lists -> NumPy; lists/tuples/dicts of those -> the same structure."""
    if x is None:
        return None
    if _is_frame(x):
        kinds = getattr(x, "dtypes", None)
        if kinds is not None and hasattr(kinds, "items"):  # a DataFrame: name the non-numeric columns
            bad = [str(col) for col, kind in kinds.items() if getattr(kind, "kind", "O") not in "biuf"]
        else:
            bad = [] if getattr(getattr(x, "dtype", None), "kind", "O") in "biuf" else [str(getattr(x, "name", what))]
        if bad:
            raise ValueError(f"{what}: column(s) {bad} are not numeric; encode them as numbers first (e.g. "
                             "one-hot with pandas.get_dummies) or drop them.")
        return x.to_numpy()
    if isinstance(x, dict):
        return {k: to_numpy_tree(v, f"{what}['{k}']") for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        if len(x) and all(isinstance(e, (np.ndarray, jax.Array, dict)) or _is_frame(e) for e in x):
            return [to_numpy_tree(e, f"{what}[{i}]") for i, e in enumerate(x)]
        arr = np.asarray(x)
        if arr.dtype == object:
            raise ValueError(f"{what}: could not turn the nested list into a rectangular array.")
        return arr
    if isinstance(x, (np.ndarray, jax.Array)) or hasattr(x, "__array__"):
        arr = np.asarray(x)
        if arr.dtype == object:
            raise ValueError(f"{what}: arrays of Python objects are not supported; convert to numbers first.")
        return arr
    raise TypeError(f"{what}: expected a NumPy array, a pandas DataFrame/Series, a list, a tuple or a dict of "
                    f"arrays, got {type(x).__name__}.")


def leaves(tree):
    return [x for x in jax.tree_util.tree_leaves(tree) if x is not None]


def num_samples(tree, what):
    sizes = {np.shape(a)[0] if np.ndim(a) else None for a in leaves(tree)}
    if None in sizes:
        raise ValueError(f"{what}: every array needs a first (sample) axis; got a scalar.")
    if len(sizes) > 1:
        raise ValueError(f"{what}: the arrays have different numbers of samples: {sorted(sizes)}.")
    return sizes.pop() if sizes else 0


class Chunk(NamedTuple):
    """Steps `first` .. `last` of an epoch; `run(state, logs) -> (state, logs)`; `sample`: one batch's spec."""

    first: int
    last: int
    run: Callable
    sample: object


class Chunks:
    """An epoch's chunks (an iterable, produced lazily for streams), with its step count (None when unknown)."""

    def __init__(self, items, steps):
        self.items = items
        self.steps = steps

    def __iter__(self):
        return iter(self.items)


class ArrayData:
    """In-memory samples: `x`, `y`, `sample_weight` pytrees of arrays with `n` rows.

    `batch_size` and `max_steps` (a cap on steps per epoch) are set by the engine before `chunks`;
    `placement` (a sharding, or None: the default device) is where `on_device` puts the arrays.
    """

    def __init__(self, x, y=None, sample_weight=None):
        self.x = to_numpy_tree(x, "x")
        self.y = to_numpy_tree(y, "y")
        self.sample_weight = to_numpy_tree(sample_weight, "sample_weight")
        n_x = num_samples(self.x, "x")
        if self.y is not None:
            n_y = num_samples(self.y, "y")
            if n_x != n_y:
                raise ValueError(
                    f"x and y must have the same number of samples, but x has {n_x} and y has {n_y}."
                )
        if self.sample_weight is not None:
            n_w = num_samples(self.sample_weight, "sample_weight")
            if n_w != n_x:
                raise ValueError(f"sample_weight has {n_w} entries but x has {n_x} samples.")
        self.n = n_x
        self._device = None
        self.placement = None
        self.batch_size = 32
        self.max_steps = None

    def peek(self):
        return self.x, self.y, self.sample_weight

    @property
    def steps(self):
        steps = math.ceil(self.n / self.batch_size)
        return steps if self.max_steps is None else min(int(self.max_steps), steps)

    def chunks(self, runner, chunk, epoch=0, shuffle=False, seed=0):
        """The epoch in chunks of up to `chunk` steps (see the module docstring)."""
        if getattr(runner, "dist", None) is not None:  # under a distribution: one SPMD program over the mesh
            plan = self._sharded_plan(runner, chunk, shuffle)
            return Chunks([Chunk(*part) for part in plan.chunks(seed, epoch)], plan.steps)
        plan = self._plan(runner, chunk, shuffle)
        order = plan.order(seed, epoch)
        return Chunks([Chunk(first, last, _gather(program, plan.arrays, order, start, limit), sample)
                       for first, last, program, start, limit, sample in plan.chunks], plan.steps)

    def epoch_blocks(self, runner, epochs, block, shuffle=False, seed=0, validation=None, due=None):
        """`epochs` (a list) in blocks of up to `block`, each one call of one program (`runner.epochs`), for fits
        whose epochs are one chunk each: yields (the block's epochs, run(state) -> (state, (logs, val_logs)
        [block])); val_logs is None without `validation` (an ArrayData, its batch_size and max_steps set), and
        `due(epoch)` tells the epochs evaluated. Every epoch gathers its batches through the order `chunks`
        would draw for it, and evaluates as `chunks` of the validation data would, so training is the same."""
        rows, order = self._whole_epoch(shuffle)
        checks = None if validation is None else (validation.steps, validation.batch_size)
        program = runner.epochs(block, self.steps, self.batch_size, False, checks)
        arrays = self.on_device()
        val = ()
        if validation is not None:
            val_rows, val_order = validation._whole_epoch(False)
            val = (validation.on_device(), val_order(), val_rows)
        for first in range(0, len(epochs), block):
            part = epochs[first:first + block]
            orders = np.stack([order(seed, epoch) for epoch in part] + [order(seed, 0)] * (block - len(part)))
            live = np.arange(block) < len(part)
            validate = np.array([bool(val and due(epoch)) for epoch in part] + [False] * (block - len(part)))
            yield part, functools.partial(_run_block, program, arrays, orders, live, validate, rows, val)

    def _whole_epoch(self, shuffle):
        """(rows an epoch uses, order(seed, epoch)) for epochs run as one chunk, as `_plan` makes them."""
        span = self.steps * self.batch_size
        return min(self.n, span), loops.sample_order(self.n, max(self.n, span), bool(shuffle))

    def _plan(self, runner, chunk, shuffle):
        """What every epoch of one fit shares: programs, row ranges, batch specs (made once, reused)."""
        key = (runner, chunk, bool(shuffle), self.batch_size, self.max_steps)
        cached = getattr(self, "_cached_plan", None)
        if cached is not None and cached[0][0] is runner and cached[0][1:] == key[1:]:
            return cached[1]
        steps, bs = self.steps, self.batch_size
        rows = min(self.n, steps * bs)
        full = steps if not runner.exact else rows // bs  # exact batches: the ragged rest runs alone
        n_chunks = math.ceil(full / chunk) if full else 0
        sample = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct((bs,) + np.shape(a)[1:], np.asarray(a).dtype),
                                        (self.x, self.y, self.sample_weight))
        program = runner.gather(chunk, bs, n_chunks * chunk != full) if full else None
        limit = rows if not runner.exact else full * bs
        parts = [(first, min(first + chunk, full) - 1, program, first * bs, limit, sample)
                 for first in range(0, full, chunk)]
        rest = rows - full * bs if runner.exact else 0
        if rest:
            tail_sample = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct((rest,) + a.shape[1:], a.dtype), sample)
            parts.append((full, full, runner.gather(1, rest, False), full * bs, rows, tail_sample))
        plan = _Plan(self.on_device(), loops.sample_order(self.n, max(self.n, n_chunks * chunk * bs), bool(shuffle)),
                     parts, steps)
        self._cached_plan = (key, plan)
        return plan

    def _sharded_plan(self, runner, chunk, shuffle):
        key = (runner, chunk, bool(shuffle), self.batch_size, self.max_steps, runner.dist)
        cached = getattr(self, "_cached_sharded", None)
        if cached is not None and cached[0][0] is runner and cached[0][1:] == key[1:]:
            return cached[1]
        plan = sharded.Plan(self, runner, chunk, bool(shuffle))
        self._cached_sharded = (key, plan)
        return plan

    def on_device(self):
        """(x, y, sample_weight) on the device, uploaded once per ArrayData (e.g. validation data
        is not re-sent every epoch). `device_put` copies ~1.5x faster than `jnp.asarray`."""
        if self._device is None:
            self._device = jax.device_put((self.x, self.y, self.sample_weight), self.placement)
        return self._device

    def split(self, fraction):
        """(train, validation): the LAST `fraction` of rows is validation (Keras semantics, before shuffling)."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {fraction}.")
        cut = int(self.n * (1.0 - fraction))
        if cut == 0 or cut == self.n:
            raise ValueError(f"validation_split={fraction} leaves an empty split of the {self.n} samples.")
        take = lambda lo, hi: jax.tree_util.tree_map(lambda a: a[lo:hi], (self.x, self.y, self.sample_weight))  # noqa: E731
        return ArrayData(*take(0, cut)), ArrayData(*take(cut, self.n))


class _Plan(NamedTuple):
    arrays: object
    order: Callable
    chunks: list
    steps: int


def _run_block(program, arrays, orders, live, validate, rows, val, state):
    return program(state, None, arrays, orders, live, validate, 0, rows, *val)


def _gather(program, arrays, order, start_row, limit):
    return lambda state, logs: program(state, logs, arrays, order, start_row, limit)


def as_eval_data(data):
    """`validation_data` as a data source: a stream, or a tuple (x, y) / (x, y, sample_weight)."""
    if is_stream(data):
        return StreamData(data)
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return ArrayData(*data)
    raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or a "
                     f"generator/dataset; got {type(data).__name__}.")


def is_stream(x):
    """Generators, iterators and PyDataset-like objects (with __getitem__ and __len__ but not arrays)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict)) or _is_frame(x) or hasattr(x, "__array__"):
        return False
    return hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def unpack_batch(batch):
    """A batch from a stream -> (x, y, sample_weight)."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"A data batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(batch)}.")
    return batch, None, None


class StreamData:
    """Batches from a Python generator / iterator or a `PyDataset`-style object.

    `steps` is the number of batches per epoch: `len(dataset)` for a
    PyDataset, `steps_per_epoch` when given, else None (run to exhaustion).
    """

    def __init__(self, source, steps=None):
        self.source = source
        self.indexable = hasattr(source, "__getitem__") and hasattr(source, "__len__")
        self.steps = steps if steps is not None else (len(source) if self.indexable else None)
        if self.indexable and len(source) == 0:
            raise ValueError(f"The data source ({type(source).__name__}) is empty: len() is 0, so it has no batches.")
        if self.indexable and self.steps > len(source):  # Keras 3 ends such an epoch early, with a warning
            import warnings

            warnings.warn(f"steps={self.steps} is more than the {len(source)} batches of the "
                          f"{type(source).__name__}; each epoch runs its {len(source)} batches.", stacklevel=4)
            self.steps = len(source)
        self._iterator = None
        self._peeked = None
        self.check = None  # set by the engine: checks every batch as it is read

    def _checked(self, batch):
        return self.check(batch) if self.check is not None else batch

    def peek(self):
        """The first batch, without losing it: an iterator's batch is yielded again by the next `batches()`."""
        if self.indexable:
            return self._convert(self.source[0])
        if self._peeked is None:
            if self._iterator is None:
                self._iterator = iter(self.source)
            try:
                self._peeked = self._convert(next(self._iterator))
            except StopIteration:
                raise ValueError("The data generator produced no batches.") from None
        return self._peeked

    def batches(self):
        """Yield (x, y, sample_weight) NumPy batches for one epoch."""
        if self.indexable:
            for i in range(self.steps):
                yield self._checked(self._convert(self.source[i]))
            if hasattr(self.source, "on_epoch_end"):
                self.source.on_epoch_end()
            return
        if self._iterator is None:
            self._iterator = iter(self.source)
        count = 0
        if self._peeked is not None and (self.steps is None or self.steps > 0):
            batch, self._peeked, count = self._peeked, None, 1
            yield self._checked(batch)
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                return
            count += 1
            yield self._checked(self._convert(batch))

    def chunks(self, runner, chunk, epoch=0, shuffle=False, seed=0):
        """The epoch in chunks of up to `chunk` batches, stacked on a prefetching thread.

        Batches are padded to the first batch's size (lamina's steps mask the padding); for
        exact (Keras-form) steps, a batch of another size starts a chunk of its own.
        """
        return Chunks(self._stream_chunks(runner, chunk), self.steps)

    def _stream_chunks(self, runner, chunk):
        from concurrent.futures import ThreadPoolExecutor

        dist = getattr(runner, "dist", None)
        if dist is not None and dist._is_multi_process:
            raise ValueError("In a multi-process job, give fit/evaluate in-memory arrays (NumPy, pandas): lamina "
                             "splits those between the processes; generators and PyDatasets are not split yet.")
        program = runner.stacked()
        batches = self.batches()
        size = {"first": None}
        held = []

        def rows(item):
            return num_samples(item[0], "x")

        def next_group():
            items = list(held)
            held.clear()
            for item in batches:
                if size["first"] is None:
                    size["first"] = rows(item)
                if runner.exact and items and rows(item) != rows(items[0]):
                    held.append(item)
                    break
                items.append(item)
                if len(items) == chunk:
                    break
            if not items:
                return None
            width = rows(items[0]) if runner.exact else size["first"]
            if dist is not None:
                width = sharded.stream_width(dist, width, runner.exact)
            stacked, masks = loops.stack_batches(items, width, chunk, rows)
            sample = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), stacked)
            if dist is not None:  # [K, B, ...] split along B over the mesh's batch axis
                stacked, masks = sharded.put_stacked(dist, (stacked, masks))
            return stacked, masks, len(items), sample

        done = 0
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(next_group)
            while True:
                ready = pending.result()
                if ready is None:
                    return
                pending = pool.submit(next_group)
                stacked, masks, count, sample = ready
                yield Chunk(done, done + count - 1,
                            lambda state, logs, s=stacked, m=masks: program(state, logs, s, m), sample)
                done += count

    @staticmethod
    def _convert(batch):
        x, y, w = unpack_batch(batch)
        return to_numpy_tree(x, "x"), to_numpy_tree(y, "y"), to_numpy_tree(w, "sample_weight")


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from {class: weight}; y is [n], [n, 1] int labels or [n, C] one-hot."""
    if not isinstance(y, np.ndarray):
        raise ValueError("class_weight is supported for models with a single output only.")
    if y.ndim == 2 and y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    else:
        labels = np.rint(np.reshape(y, (y.shape[0], -1))[:, 0]).astype(np.int64)
    present, position = np.unique(labels, return_inverse=True)
    table = {int(k): float(v) for k, v in class_weight.items()}
    missing = [int(c) for c in present if int(c) not in table]
    if missing:
        raise ValueError(f"class_weight has no entry for class(es) {missing} that occur in y; give a weight for every class.")
    # One lookup per distinct class, then a gather (not a Python loop over every sample).
    return np.asarray([table[int(c)] for c in present], dtype=np.float32)[position.reshape(-1)]
