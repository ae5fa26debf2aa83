"""`Population`: many compiled models of one architecture trained in one vectorized program.

    population = Population([make_model(seed, lr) for seed, lr in trials])
    histories = population.fit(x, y, epochs=150, batch_size=10, validation_split=0.2)
    losses = population.evaluate(x_test, y_test)       # one result per model, as model.evaluate gives it
    outputs = population.predict(x_test)               # one array per model

The members' states (weights, optimizer and metric variables) are stacked along a new first axis
and the engine's own compiled chunk of steps (`lamina.training.loops` over `steps.py`) runs vectorized
over them (`backend.lanes.vmap_lanes`: `jax.vmap` with the members on the minor axis, so small products
are multiply-reduce loops over the members): one XLA call trains every member on the same batches. Float
hyperparameters that differ (learning rate, optimizer floats, regularizer factors, dropout rates) are inputs
of that program (`lamina.tuners.varying`); anything else that differs is refused, naming the first difference.

Every member trains as it would alone: `fit` draws the shuffle exactly as `model.fit` does (one
draw from the global seed stream), so after `keras.utils.set_random_seed(s)` each member's losses
and weights equal those of `set_random_seed(s); member.fit(...)` with the same arguments. Afterwards
each model holds its own trained weights, optimizer state, metric values and `model.history`.

On a CPU with several devices (lamina asks JAX for one per core, `backend.cpu_devices`) the members are split
evenly over as many devices as divide their count (`member_mesh`; `jax.shard_map` around the vmapped chunk):
each device trains its share in a loop of its own, with no communication, so two cores train 32 Pima models
about 1.4x faster than one. Under a user's distribution, or with a count no split divides, they stay on one
device.

Without callbacks nothing runs between epochs, so `EPOCH_BLOCK` epochs run in one program call
(`loops.epochs_chunk`), each over the batch order its own epoch would draw and followed by its validation.
Like any other program, a population's is kept in the program cache, the split one included, so running a
search again compiles nothing.

Callbacks act per member: each member gets its own deep copies (as Keras Tuner gives each trial its
own), so EarlyStopping stops members one by one (a stopped member's state is kept; the others train
on) and ReduceLROnPlateau / LearningRateScheduler change one member's learning rate. With callbacks
a member's weights are written back after an epoch when one of its callbacks may look (`Callback._reads_model`:
History never does, a tuner's best-epoch tracker only when the epoch is its best so far), and before the members
are read back after an assignment; without callbacks, once at the end.

Not supported (refused with a clear error): callbacks that need batch hooks or test hooks, or
BackupAndRestore; generators / datasets as data; models that run Keras-form steps (an overridden
`train_step`, ...).
"""

import copy
import functools
from typing import NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lamina.backend import cpu_devices, lanes, products
from lamina.backend.program_trees import register_namedtuple
from lamina.backend.random import draw_key
from lamina.callbacks import BackupAndRestore, Callback, CallbackList, History
from lamina.distribution.strategies import distribution
from lamina.layers.base import shapes_of
from lamina.training import data_adapter, loops
from lamina.training.engine import _due, _finalize_variables, _positive_int, _pythonify, _verbose
from lamina.training.state import EvalState, PredictState, StateSync, TrainState
from lamina.tuners import varying as varying_lib


@register_namedtuple
class Members(NamedTuple):
    """The population's state in a compiled program: `states` (a TrainState, EvalState or PredictState
    whose arrays have a leading [members] axis) and `hyper` ({path: float32 [members]})."""

    states: object
    hyper: dict


#: Epochs trained (and validated) in one program call when nothing runs between epochs (no callbacks): a call
#: on two CPU devices costs ~1.8 ms, about a third of a 32-member Pima epoch.
EPOCH_BLOCK = 16

#: The mesh axis a population's members are split along (see `member_mesh`).
MEMBERS = "members"


def member_mesh(count):
    """The CPU devices `count` members are split over, as a one-axis mesh, or None (one device).

    On a CPU with several devices (lamina asks for one per core, `backend.cpu_devices`) and no distribution
    set, each of the d devices trains count / d of the members in a loop of its own: the members never
    meet, so the split needs no communication. d is the most devices that divide `count` evenly."""
    if jax.default_backend() != "cpu" or jax.process_count() > 1 or distribution() is not None:
        return None
    devices = jax.local_devices(backend="cpu")
    split = cpu_devices.even_split(count, len(devices))
    return _mesh(tuple(devices[:split])) if split > 1 else None


@functools.lru_cache(maxsize=None)
def _mesh(devices):
    return Mesh(np.array(devices), (MEMBERS,))


class Vectorized(NamedTuple):
    """The engine's `vectorize` argument (`Engine._runner`): program names get `tag`, each chunk function
    becomes `wrap(chunk)`, and programs compile with `compiler_options` added."""

    tag: tuple
    wrap: object
    compiler_options: dict


def _vectorized(varying, mesh=None):
    """`Vectorized`: chunk functions run for every member (`lanes.vmap_lanes`), and with `mesh`
    (`member_mesh`) on each device's share of the members (`jax.shard_map`)."""

    def wrap(chunk):
        def members_chunk(members, logs, *data):
            def one(state, hyper, logs):
                # products stay `dot_general`s: vmap_lanes makes the small ones loops over the members
                with varying_lib.bound(varying, hyper), products.small_products(False):
                    return chunk(state, logs, *data)

            states, logs = lanes.vmap_lanes(one)(members.states, members.hyper, logs)
            return Members(states, members.hyper), logs

        if mesh is None:
            return members_chunk
        split, whole = PartitionSpec(MEMBERS), PartitionSpec()

        def split_chunk(members, logs, *data):
            # check_vma=False: each device's members read the replicated data
            return jax.shard_map(members_chunk, mesh=mesh, in_specs=(split, split) + (whole,) * len(data),
                                 out_specs=(split, split), check_vma=False)(members, logs, *data)

        return split_chunk

    split = () if mesh is None else (("members over devices", mesh.size),)
    return Vectorized(("population", "lanes") + split + tuple(v.path for v in varying), wrap,
                      lanes.compiler_options())


def _per_epoch(records, fetched):
    """[(epoch, logs, val_logs or None)] from the fit's records: (epoch, logs, val_logs), or for a block of
    epochs ([(epoch, validated)], logs and val_logs with a [members, block] axis); their logs fetched."""
    out = []
    for (epoch, _, _), (logs, val_logs) in zip(records, fetched):
        if not isinstance(epoch, list):
            out.append((epoch, logs, val_logs))
            continue
        for k, (e, validated) in enumerate(epoch):
            out.append((e, {name: a[:, k] for name, a in logs.items()},
                        {name: a[:, k] for name, a in val_logs.items()} if validated else None))
    return out


def _member_logs(i, logs, val_logs=None):
    """Member `i`'s epoch logs from the population's ({name: [members]}), in the order `Model.fit` gives them."""
    row = _pythonify(jax.tree_util.tree_map(lambda a: a[i], logs))
    if val_logs is not None:
        row.update({f"val_{k}": v for k, v in _pythonify(jax.tree_util.tree_map(lambda a: a[i], val_logs)).items()})
    return row


def _members_logs(count, logs, val_logs=None):
    """`[_member_logs(i, logs, val_logs) for i in range(count)]`, each log's values converted once for all."""
    columns = [_columns(tree, count) for tree in (logs, val_logs) if tree is not None]
    if any(c is None for c in columns):
        return [_member_logs(i, logs, val_logs) for i in range(count)]
    names = list(columns[0]) + [f"val_{k}" for k in (columns[1] if len(columns) > 1 else ())]
    values = [v for c in columns for v in c.values()]
    return [dict(zip(names, row)) for row in zip(*values)] if values else [{} for _ in range(count)]


def _columns(logs, count):
    """{name: [float per member]} in `_pythonify`'s order, or None where a log is not one number per member."""
    out = _pythonify(logs) if count > 1 else None
    if out is None or not all(isinstance(v, np.ndarray) and v.shape == (count,) and v.dtype.kind in "biuf"
                              for v in out.values()):
        return None
    return {k: [float(x) for x in v.tolist()] for k, v in out.items()}


def _check_alike(states):
    """Every member's state holds the same arrays (count, shapes, dtypes) as models[0]'s, else a clear error."""
    for i, state in enumerate(states[1:], start=1):
        for field, want, got in zip(state._fields, states[0], state):
            what = field.replace("_", " ")
            if len(want) != len(got):
                problem = f"{len(got)} vs {len(want)} arrays"
            else:
                bad = [j for j, (a, b) in enumerate(zip(want, got))
                       if np.shape(a) != np.shape(b) or np.dtype(a.dtype) != np.dtype(b.dtype)]
                if not bad:
                    continue
                j = bad[0]
                problem = f"entry {j}: {np.shape(got[j])} {np.dtype(got[j].dtype)} vs {np.shape(want[j])} " \
                          f"{np.dtype(want[j].dtype)}"
            raise ValueError(
                f"Population: models[{i}]'s {what} differ from models[0]'s ({problem}). A hyperparameter that "
                "adds or removes variables (SGD momentum 0 vs non-zero, a dropout rate 0 vs above 0, ...) "
                "changes the program: put such members in separate populations.")


def _stack_trees(trees):
    """Trees of arrays -> one tree of NumPy arrays with a leading [members] axis."""
    return jax.tree_util.tree_map(lambda *rows: np.stack([np.asarray(r) for r in rows]), *trees)


def _stack(states):
    """Member states -> one state with a leading [members] axis (on the host)."""
    _check_alike(states)
    return _stack_trees(states)


def _unstack(state, indices):
    """A state with a leading [members] axis -> the member states at `indices` (one transfer each way)."""
    host = jax.device_get(state)
    return jax.device_put([jax.tree_util.tree_map(lambda a: a[i], host) for i in indices])


def _reads_model(callback, logs):
    """Whether `callback` may read or change its model between this epoch's end (`logs`) and the next's."""
    return callback._reads_model(logs) if isinstance(callback, Callback) else True


class Population:
    """Train, evaluate and predict with many compiled models of one architecture at once.

    Args:
        models: a list of compiled models (distinct objects, each with its own optimizer) that share
            one architecture and compile settings; they may differ in their weights and in float
            hyperparameters (see the module docstring). Checked here and again at every call.
    """

    def __init__(self, models):
        models = list(models) if isinstance(models, (list, tuple)) else models
        if not isinstance(models, list) or not models:
            raise ValueError(f"Population: `models` must be a non-empty list of compiled models; got {models!r}.")
        for i, model in enumerate(models):
            if not getattr(model, "compiled", False):
                raise ValueError(f"Population: models[{i}] is not compiled; call `compile(...)` on every member "
                                 "first (same loss and metrics, any float hyperparameters).")
        for what, items in (("model", models), ("optimizer", [m.optimizer for m in models])):
            seen = {}
            for i, item in enumerate(items):
                if id(item) in seen:
                    raise ValueError(f"Population: models[{i}] shares its {what} object with models[{seen[id(item)]}]; "
                                     f"each member needs its own {what} (they are trained side by side).")
                seen[id(item)] = i
        self.models = models
        self._check()

    def __len__(self):
        return len(self.models)

    def _check(self):
        """The varying floats (re-checked each call: members may have been changed)."""
        for i, model in enumerate(self.models):
            if model._engine.keras_steps:
                raise ValueError(
                    f"Population: models[{i}] runs Keras-form steps (it overrides train_step or a step piece, "
                    "holds metrics of its own, or uses a custom loss/metric function); Population vectorizes "
                    "lamina's own steps only. Train such models alone with `fit`.")
            if not model.jit_compile:
                raise ValueError(f"Population: models[{i}] is compiled with run_eagerly=True or jit_compile=False; "
                                 "a population always runs compiled.")
        self.varying = varying_lib.compare(self.models)
        return self.varying

    @property
    def _mesh(self):
        return member_mesh(len(self.models))

    @property
    def _template(self):
        return self.models[0]

    def _prepare(self, x, y):
        """Build every member and its engine setup from the data's structure; the template's engine runs."""
        template = self._template._engine
        template.prepare(x, y)
        for model in self.models[1:]:
            model._engine.prepare(x, y, like=template)
        return template

    def _build_optimizers(self):
        """Build the members' optimizers that need it, their initial slots computed in one vectorized program
        (an initial value may depend on a varying float, e.g. Adagrad's `initial_accumulator_value`)."""
        need = [i for i, model in enumerate(self.models) if model._engine.optimizer_stale()]
        if not need:
            return
        template = self._template
        tag = _vectorized(self.varying).tag

        def init(params, hyper):
            def one(params, hyper):
                with varying_lib.bound(self.varying, hyper):
                    return template.optimizer.init(params)["slots"]

            return jax.vmap(one)(params, hyper)

        params = _stack_trees([[v.value for v in self.models[i].trainable_variables] for i in need])
        hyper = {k: v[need] for k, v in varying_lib.hyper_values(self.varying).items()}
        slots = template._engine.initial_slots(("population", "optimizer-init") + tag[1:], init, params, hyper)
        for i, member_slots in zip(need, _unstack(slots, range(len(need)))):
            self.models[i]._engine._build_optimizer(slots=member_slots)

    def _place(self, tree):
        """Stacked values on the device(s), as the programs give them back (host arrays, or arrays laid out
        otherwise, would be another signature: a recompile): split over `self._mesh` when there is one."""
        mesh = self._mesh
        return jax.device_put(tree) if mesh is None else jax.device_put(tree, NamedSharding(mesh,
                                                                                            PartitionSpec(MEMBERS)))

    def _place_data(self, *sources):
        """The data on every device of `self._mesh` (copied once, not at every call)."""
        mesh = self._mesh
        for source in sources:
            if source is not None and mesh is not None:
                source.placement = NamedSharding(mesh, PartitionSpec())

    def _stacked(self, kind, syncs, fresh_metrics=True):
        engine = self._template._engine
        state = _stack([sync.read(kind) for sync in syncs])
        if fresh_metrics and "metrics_variables" in kind._fields:
            state = state._replace(metrics_variables=self._fresh_metrics(engine))
        return self._place(Members(state, varying_lib.hyper_values(self.varying)))

    def _fresh_metrics(self, engine):
        fresh = engine.setup.fresh_metrics()
        return self._place([np.ascontiguousarray(np.broadcast_to(np.asarray(v), (len(self.models),) + np.shape(v)))
                            for v in fresh])

    # ----- fit ------------------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            member_callbacks=None):
        """Train every member on the same batches; returns one `History` per model (also `model.history`).

        Arguments follow `Model.fit` (in-memory data only). `callbacks` are copied for each member (see
        the module docstring); `member_callbacks`, one list per member, are given to that member as they are
        (callbacks holding one member's own state, such as a tuner trial's best-epoch tracker). `verbose`
        1 or 2 prints one line per epoch with each log's min / median / max over the members.
        """
        verbose = _verbose(verbose)
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise ValueError(f"Population.fit: `callbacks` must be a list of callbacks, got {type(callbacks).__name__}.")
        if member_callbacks is not None and (not isinstance(member_callbacks, (list, tuple))
                                             or len(member_callbacks) != len(self.models)):
            raise ValueError(f"Population.fit: `member_callbacks` must be a list of {len(self.models)} lists of "
                             f"callbacks (one per member), got {member_callbacks!r}.")
        if x is None:
            raise ValueError("Population.fit: `x` is required.")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Population.fit: `epochs` must be a non-negative int, got {epochs!r}.")
        if data_adapter.is_stream(x) or (validation_data is not None and data_adapter.is_stream(validation_data)):
            raise ValueError("Population.fit: generators and datasets are not supported; pass in-memory arrays "
                             "(NumPy arrays, frames, lists or dicts of them).")
        self._check()
        train = data_adapter.ArrayData(x, y, sample_weight)
        if validation_split and validation_data is None:
            train, val = data_adapter.ArrayData.split(train, validation_split)
            validation_data = (val.x, val.y, val.sample_weight)
        if train.y is None:
            raise ValueError("Population.fit: `y` (the targets) is required.")
        val = None if validation_data is None else data_adapter.as_eval_data(validation_data)
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size", "Population.fit")
        engine = self._prepare(train.x, train.y)
        engine._require_loss("Population.fit")
        engine.check_data(train, training=True)
        if val is not None:
            engine.check_data(val, what="validation_data: ", warn=False)
        engine._apply_class_weight(train, class_weight)
        train.batch_size = min(batch_size, train.n)
        train.max_steps = None if steps_per_epoch is None else _positive_int(steps_per_epoch, "steps_per_epoch",
                                                                             "Population.fit")
        steps = train.steps
        val_batch = None if val is None else min(validation_batch_size or batch_size, val.n or 1)

        self._build_optimizers()
        self._place_data(train, val)
        syncs = [model._engine._sync(with_optimizer=True) for model in self.models]
        lists = self._callback_lists(callbacks, verbose, epochs, steps, member_callbacks)
        members = self._stacked(TrainState, syncs)
        vectorize = _vectorized(self.varying, self._mesh)
        runner = engine._runner("train", vectorize)
        test_runner = engine._runner("test", vectorize) if val is not None else None
        fresh_val = None if val is None else self._fresh_metrics(engine)
        chunk = min(self._template.steps_per_execution or steps, steps)
        shuffle_seed = int(np.asarray(draw_key())[1])  # as Model.fit draws it: the same batch order
        for model, cbs in zip(self.models, lists):
            model.stop_training = False
            model.history = next(cb for cb in cbs.callbacks if isinstance(cb, History))
        active = list(range(len(self.models)))  # members not stopped by a callback
        behind = []  # active members whose Variables lag their state in `members` (with callbacks)
        last = [{} for _ in self.models]  # each member's last epoch logs (with callbacks)
        records = []  # (epoch, logs, val_logs) on the device (History only: fetched at the end)
        watched = any(cbs.user_callbacks for cbs in lists)
        fresh = self._fresh_metrics(engine)  # placed once: the programs read their inputs, never overwrite them
        if watched:
            members = self._after_hooks(members, syncs, active, lambda i: lists[i].on_train_begin(), behind)
        in_blocks = not watched and chunk >= steps  # nothing runs between epochs: blocks of epochs, one call each
        if in_blocks:
            if val is not None:
                val.batch_size, val.max_steps = val_batch, validation_steps
            members, records = self._fit_blocks(train, val, runner, members, fresh, range(initial_epoch, epochs),
                                                shuffle, shuffle_seed, validation_freq, verbose)
        try:
            for epoch in () if in_blocks else range(initial_epoch, epochs):
                if watched:
                    members = self._after_hooks(members, syncs, active, lambda i: lists[i].on_epoch_begin(epoch),
                                                behind)
                members = members._replace(states=members.states._replace(metrics_variables=fresh))
                source = train.chunks(runner, chunk, epoch=epoch, shuffle=shuffle, seed=shuffle_seed)
                members, logs = engine._run_epoch("train", source, members, None, None, quiet=True)
                val_logs = None
                if val is not None and _due(epoch, validation_freq):
                    # As in Model.fit, training goes on from the trained state (what evaluation does to
                    # non-trainable variables is not carried into the next epoch).
                    trained = members.states
                    evaluating = Members(EvalState(trained.trainable_variables, trained.non_trainable_variables,
                                                   fresh_val), members.hyper)
                    val.batch_size, val.max_steps = val_batch, validation_steps
                    _, val_logs = engine._run_epoch("test", val.chunks(test_runner, val.steps), evaluating, None, None,
                                                    quiet=True)
                if verbose:
                    self._print_epoch(epoch, epochs, logs, val_logs)
                if not watched:  # History only: the logs are fetched once, at the end
                    records.append((epoch, logs, val_logs))
                    continue
                # Callbacks see each member's logs after every epoch, and its weights when one of its callbacks may
                # look (`Callback._reads_model`; the others' Variables are `behind` until then). A stopped member
                # keeps its state (the program still computes it, for the others' sake, but nothing of it is kept).
                fetched = jax.device_get((logs, val_logs))
                for i in active:
                    last[i] = _member_logs(i, *fetched)
                looking = [i for i in active if any(_reads_model(cb, last[i]) for cb in lists[i].callbacks)]
                self._write_back(members.states, syncs, looking)
                behind[:] = [i for i in active if i not in looking]
                members = self._after_hooks(members, syncs, active, lambda i: lists[i].on_epoch_end(epoch, last[i]),
                                            behind)
                self._write_back(members.states, syncs, [i for i in behind if self.models[i].stop_training], behind)
                active = [i for i in active if not self.models[i].stop_training]
                if not active:
                    break
        finally:  # an error in a callback, or an interrupt: every Variable holds its member's last state
            self._write_back(members.states, syncs, list(behind), behind)
        if watched:
            for model in self.models:
                _finalize_variables(model, epochs)
            for i in range(len(self.models)):
                lists[i].on_train_end(last[i])
            return [model.history for model in self.models]
        fetched = _per_epoch(records, jax.device_get([(logs, val_logs) for _, logs, val_logs in records]))
        rows = [(epoch, _members_logs(len(self.models), logs, val_logs)) for epoch, logs, val_logs in fetched]
        self._write_back(members.states, syncs, range(len(self.models)))
        for i, model in enumerate(self.models):
            _finalize_variables(model, epochs)
            lists[i].on_train_begin()
            for epoch, logs in rows:
                lists[i].on_epoch_end(epoch, logs[i])
            lists[i].on_train_end(dict(rows[-1][1][i]) if rows else {})
        return [model.history for model in self.models]

    def _fit_blocks(self, train, val, runner, members, fresh, epochs, shuffle, seed, validation_freq, verbose):
        """Train (and validate) `epochs` in blocks of `EPOCH_BLOCK`, one program call each -> (members, the fit's
        records: per block ([(epoch, validated)], logs, val_logs), logs with a [members, block] axis)."""
        due = functools.partial(_due, freq=validation_freq)
        records = []
        for part, run in train.epoch_blocks(runner, list(epochs), EPOCH_BLOCK, shuffle, seed, val, due):
            members, (logs, val_logs) = run(members._replace(states=members.states._replace(metrics_variables=fresh)))
            records.append(([(epoch, val is not None and due(epoch)) for epoch in part], logs, val_logs))
            if verbose:
                for epoch, logs, val_logs in _per_epoch(records[-1:], jax.device_get([records[-1][1:]])):
                    self._print_epoch(epoch, epochs.stop, logs, val_logs)
        return members, records

    def _callback_lists(self, callbacks, verbose, epochs, steps, member_callbacks=None):
        """One CallbackList per member (its History, a deep copy of `callbacks`, as Keras Tuner gives each
        trial its own copies, and its own `member_callbacks`); callbacks that need batch hooks are refused."""
        lists = []
        for i, model in enumerate(self.models):
            own = copy.deepcopy(list(callbacks or [])) + list(member_callbacks[i] if member_callbacks else [])
            lists.append(CallbackList(own, add_history=True, add_progbar=False, model=model, verbose=verbose,
                                      epochs=epochs, steps=steps))
        for cb in (cb for cbs in lists for cb in cbs.user_callbacks):
            uses = ["batch hooks"] if any(isinstance(cb, Callback) and cb.batch_interval(kind)
                                          for kind in ("train", "test")) else []
            uses += [h for h in ("on_test_begin", "on_test_end")
                     if getattr(type(cb), h, None) is not getattr(Callback, h, None)]
            uses += ["resuming"] if isinstance(cb, BackupAndRestore) else []
            if uses:
                raise ValueError(
                    f"Population.fit: {type(cb).__name__} needs {uses[0]}; a population's members train inside one "
                    "program per epoch, so only epoch-level callbacks (EarlyStopping, LearningRateScheduler, "
                    "ReduceLROnPlateau, CSVLogger, ...) are supported. Train this member alone with `model.fit`.")
        return lists

    def _write_back(self, states, syncs, indices, behind=None):
        """Store the members `indices` of the stacked `states` in their models' Variables (and take them out of
        `behind`, the list of members whose Variables lag)."""
        indices = list(indices)
        if indices:
            for i, state in zip(indices, _unstack(states, indices)):
                syncs[i].write(state)
        if behind is not None:
            behind[:] = [i for i in behind if i not in indices]

    def _after_hooks(self, members, syncs, active, hook, behind):
        """Run `hook(i)` for the active members; if any assigned a Variable (new weights, a new learning rate),
        the members' stacked state is read again from the Variables (those `behind` are brought up to date
        first)."""
        for i in active:
            hook(i)
        if any(syncs[i].changed() for i in active):
            self._write_back(members.states, syncs, list(behind), behind)
            fresh = self._stacked(TrainState, syncs, fresh_metrics=False)
            members = members._replace(states=fresh.states)
        return members

    def _print_epoch(self, epoch, epochs, logs, val_logs):
        logs = dict(jax.device_get(logs))
        if val_logs is not None:
            logs.update({f"val_{k}": v for k, v in jax.device_get(val_logs).items()})
        parts = []
        for key in sorted(logs):
            values = np.asarray(logs[key], np.float64)
            parts.append(f"{key}: {values.min():.4f} / {np.median(values):.4f} / {values.max():.4f}")
        print(f"Epoch {epoch + 1}/{epochs} ({len(self.models)} models; min / median / max) - " + " - ".join(parts),
              flush=True)

    # ----- evaluate and predict ----------------------------------------------------------------------

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, steps=None, return_dict=False):
        """What `model.evaluate(x, y, ...)` returns, for each member (a list, in the order of `models`)."""
        if data_adapter.is_stream(x):
            raise ValueError("Population.evaluate: generators and datasets are not supported; pass arrays.")
        self._check()
        data = data_adapter.ArrayData(x, y, sample_weight)
        if data.y is None:
            raise ValueError("Population.evaluate: `y` (the targets) is required.")
        engine = self._prepare(data.x, data.y)
        engine._require_loss("Population.evaluate")
        engine.check_data(data)
        self._place_data(data)
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size", "Population.evaluate")
        data.batch_size, data.max_steps = min(batch_size, data.n), steps
        syncs = [StateSync(model, None, model._engine.setup.metrics) for model in self.models]
        members = self._stacked(EvalState, syncs)
        runner = engine._runner("test", _vectorized(self.varying, self._mesh))
        members, logs = engine._run_epoch("test", data.chunks(runner, data.steps), members, None, None, quiet=True)
        logs = jax.device_get(logs)
        out = []
        self._write_back(members.states, syncs, range(len(self.models)))
        for i, model in enumerate(self.models):
            row = _pythonify(jax.tree_util.tree_map(lambda a: a[i], logs))
            out.append(row if return_dict else model._engine._in_metrics_order(row))
        return out

    def predict(self, x, batch_size=None):
        """What `model.predict(x)` returns, for each member (a list, in the order of `models`)."""
        if data_adapter.is_stream(x):
            raise ValueError("Population.predict: generators and datasets are not supported; pass arrays.")
        self._check()
        x = data_adapter.to_numpy_tree(x, "x")
        n = data_adapter.num_samples(x, "x")
        if n == 0:
            raise ValueError("Population.predict: x has 0 samples.")
        batch_size = min(32 if batch_size is None else _positive_int(batch_size, "batch_size", "Population.predict"),
                         n)
        for model in self.models:
            if not model.built:
                model._maybe_build(shapes_of(jax.tree_util.tree_map(lambda a: a[:1], x)))
        engine = self._template._engine
        syncs = [StateSync(model) for model in self.models]
        members = self._stacked(PredictState, syncs)
        n_steps = -(-n // batch_size)
        order = loops.sample_order(n, n_steps * batch_size, False)()
        vectorized = _vectorized(self.varying, self._mesh)
        step = engine._predict_step()

        def gather(state, logs, x, order):  # the form `wrap` expects: (state, logs, *data) -> (state, logs)
            outputs, state = loops.predict_gather(step, n_steps, batch_size)(state, x, order)
            return state, outputs

        program = engine.program(("lamina", "predict") + vectorized.tag + ("gather", n_steps, batch_size),
                                 vectorized.wrap(gather), options=vectorized.compiler_options)
        members, outputs = program(members, None, x, order)
        outputs = jax.device_get(outputs)
        self._write_back(members.states, syncs, range(len(self.models)))
        return [jax.tree_util.tree_map(lambda a: np.asarray(a[i][:n]), outputs) for i in range(len(self.models))]
