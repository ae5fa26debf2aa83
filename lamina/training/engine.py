"""The training engine: what `fit`, `evaluate` and `predict` do, behind `Trainer`'s facade.

Who owns what:

* `Engine` (one per model): the `Setup` derived from the first batch, the compiled
  programs (through the on-disk program cache), the state sync with the Variables,
  and the epoch loops with their callbacks;
* `Setup`: output names and shapes, the built `CompileLoss` / `CompileMetrics`, the
  metrics in Keras's order and the outputs fed logits;
* `Steps`: the step functions the loops compile: lamina's own (`steps.py`: padded
  last batch masked, one program per epoch) or the model's Keras-form methods (exact
  batches, as Keras gives them), chosen by `Trainer._uses_keras_steps()` (once per reset);
* the data sources (`data_adapter`): arrays on the device or streams from the host,
  each cut into chunks of steps; one loop (`_run_epoch`) drives both.

The loop: arrays are put on the device once; each epoch sends its index order; K
steps run per XLA call; batch hooks fire between calls (every step when a callback
overrides one); state is written back to the Variables before any callback can look
and read again only if something assigned a Variable (a callback changing weights or
the learning rate), so what a callback does takes effect at the next step. With only
epoch hooks and short epochs, the next epoch is dispatched before the hooks run
(`_RunAhead`) and kept only if they changed nothing, so host and device overlap.

Under a distribution (`lamina.distribution`) the same loop runs over a device mesh:
states are read laid out as their Variables (`StateSync`'s placer), in-memory data
is split between the devices once (`sharded.Layout`), and every program is compiled
with the mesh's shardings and keyed with the mesh (`sharded.ProgramLayout`).
"""

import math
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import numpy_eval, products, programs
from lamina.backend.random import draw_key
from lamina.backend.scope import StatelessScope
from lamina.callbacks import CallbackList, History
from lamina.distribution import placement
from lamina.distribution.strategies import distribution as current_distribution
from lamina.layers.base import shapes_of
from lamina.training import (checks, compile_utils, cores, data_adapter, host_predict, loops, program_key, sharded,
                             steps, warmup)
from lamina.training.state import EvalState, PredictState, StateSync, TrainState
from lamina.utils.dataset_utils import pack_x_y_sample_weight


class Setup:
    """What the engine derives from compile and the first batch's structure (host side)."""

    def __init__(self, model, spec, y):
        self.spec = jax.tree_util.tree_structure(spec)
        self.names = _output_names(model, spec)
        flat = compile_utils.flatten_outputs(spec, self.names)
        self.y_pred_shapes = [(None,) + tuple(s.shape[1:]) for s in flat]
        self.loss_tracker = model._loss_tracker
        self.compile_loss = self.compile_metrics = None
        self.fused = {}
        if model.compiled:
            config = model._compile_config
            if config["loss"] is not None:
                self.compile_loss = compile_utils.CompileLoss(config["loss"], config["loss_weights"], self.names)
            if config["metrics"] is not None or config["weighted_metrics"] is not None:
                self.compile_metrics = compile_utils.CompileMetrics(config["metrics"], config["weighted_metrics"],
                                                                    self.names)
                y_flat = compile_utils.flatten_targets(y, self.names) if y is not None else [None] * len(self.names)
                y_shapes = [None if t is None else (None,) + tuple(np.shape(t)[1:]) for t in y_flat]
                self.compile_metrics.build(self.compile_loss, y_shapes, self.y_pred_shapes)
            model._compile_loss, model._compile_metrics = self.compile_loss, self.compile_metrics
            if self.compile_loss is not None:
                self.output_layers = model._output_layers(len(self.names))
                self.fused = compile_utils.fusable_outputs(self.output_layers, self.compile_loss)
        # Keras-form steps (exact batches) when the model overrides a step piece or holds metrics of its own,
        # or when a compiled loss or metric is user code (which never sees padding rows in Keras).
        self.keras_steps = model._engine.keras_steps or compile_utils.holds_user_code(self.compile_loss,
                                                                                      self.compile_metrics)
        self.metrics = list(model.metrics)
        self.sizes = [len(m.variables) for m in self.metrics]
        self.output_loss_index = {id(m): i for i, m in enumerate(self.compile_loss.metrics if self.compile_loss else [])}

    def split_metrics(self, values):
        """The flat `metrics_variables` -> one state per metric (in each metric's own form)."""
        out, start = [], 0
        for metric, n in zip(self.metrics, self.sizes):
            out.append(metric._to_state(list(values[start:start + n])))
            start += n
        return out

    def join_metrics(self, states):
        return [v for metric, state in zip(self.metrics, states) for v in metric._state_values(state)]

    def fresh_metrics(self):
        """The metrics' initial values, flat (no compile: built on the host)."""
        return self.join_metrics([m.init_state() for m in self.metrics])


#: Models with at most this many weights (Pima-sized MLPs, a tuner's small trials) are compiled with
#: XLA:CPU's loop emitters instead of its fusion emitters. Measured on a 2-core EPYC: a third less
#: compile time (the 221-weight Pima fit, 150 epochs: 0.80 -> 0.55 s cold) for no measurable run time
#: there, +12% for 9k weights at batch 10; above ~10^4 weights run time suffers (784-64-1: 0.11 ->
#: 0.20 s per 5 epochs). A Population's programs follow its members' size: 32 Pima members run
#: 150 epochs 0.24 s slower with the loop emitters but compile 0.3 s faster; a tuner's 20-epoch trials gain.
SMALL_MODEL_WEIGHTS = 16_384


def _compiler_options(model):
    """XLA options for the model's programs: for small models on the CPU, fast compilation, and copy insertion
    by region analysis (no copy of each updated weight in the step's loop: the warm 150-epoch Pima fit
    0.062-0.072 s -> 0.056-0.068 s, compile time unchanged); else none."""
    if jax.default_backend() != "cpu":
        return None
    weights = sum(math.prod(v.shape) for v in model.weights)
    if weights > SMALL_MODEL_WEIGHTS:
        return None
    return {"xla_cpu_use_fusion_emitters": False, "xla_cpu_copy_insertion_use_region_analysis": True}


def _output_names(model, spec):
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    if isinstance(spec, dict):
        return list(spec)
    if isinstance(spec, (list, tuple)):
        return [f"output_{i + 1}" for i in range(len(spec))]
    last = model.layers[-1].name if model.layers else "output"
    return [last]


def _to_host(tree):
    """Device values -> NumPy (values spanning other processes' devices: their local copy). On an accelerator
    one `device_get` overlaps the transfers; on the CPU each array is read where it is (`device_get` first
    starts a copy of every leaf: ~20 us each, more than a small model's epoch takes)."""
    leaves = jax.tree_util.tree_leaves(tree)
    if any(isinstance(v, jax.Array) and not v.is_fully_addressable for v in leaves):
        return jax.tree_util.tree_map(placement.host_array, tree)
    if jax.default_backend() == "cpu":
        return jax.tree_util.tree_map(lambda v: np.asarray(v) if isinstance(v, jax.Array) else v, tree)
    return jax.device_get(tree)


def _pythonify(logs):
    """Device logs -> {name: float} with keys sorted, as Keras gives them to callbacks and History."""
    logs = logs or {}
    if any(isinstance(v, jax.Array) for v in jax.tree_util.tree_leaves(logs)):
        logs = _to_host(logs)  # one transfer for all the values
    out = {}
    for key in sorted(logs):
        value = logs[key]
        if isinstance(value, dict):
            out.update(_pythonify(value))
            continue
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = np.asarray(value)
    return out


def _verbose(verbose):
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'; got {verbose!r}.")
    return verbose


def _positive_int(value, what, where):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        hint = (" (a float: round it, e.g. math.ceil(len(x) / batch_size))"
                if isinstance(value, (float, np.floating)) else "")
        raise ValueError(f"{where}: `{what}` must be a positive int, got {value!r}{hint}.")
    return int(value)


class Steps:
    """The step functions the loops compile for one kind of pass, lamina's or the model's Keras forms.

    `step(state, data, mask) -> (state, logs or None)`; `final(state, logs)` gives the logs
    of a chunk. With Keras-form steps, batches are exact (no padding): `exact` is True.
    """

    def __init__(self, engine, kind):
        model, setup = engine.model, engine.setup
        self.kind = kind
        self.exact = setup.keras_steps
        if not self.exact:
            fn = steps.train_step if kind == "train" else steps.test_step
            self.step = lambda state, data, mask: (fn(model, setup, state, data, mask), None)
            self.final = lambda state, logs: steps.logs(setup, state.metrics_variables)
            return
        self.step = engine.traced_once(model.train_step if kind == "train" else model.test_step)
        self.final = lambda state, logs: logs


def _keras_batch(data):
    """(x, y, sample_weight) -> the tuple Keras hands to steps: (x,), (x, y) or (x, y, sample_weight)."""
    return pack_x_y_sample_weight(*data)


class Engine:
    """Runs `fit` / `evaluate` / `predict` for one model (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.reset()

    def reset(self):
        """Forget the setup and compiled programs (after `compile`, or when the layers change)."""
        self.setup = None
        self.output_spec = None  # the outputs' shapes for the data of the last `prepare`
        self.programs = {}
        self._traces = {}
        self._keras_steps = None

    @property
    def keras_steps(self):
        """Whether the model runs its Keras-form step methods (decided once per reset: it walks the model)."""
        if self._keras_steps is None:
            self._keras_steps = self.model._uses_keras_steps()
        return self._keras_steps

    # ----- setup ---------------------------------------------------------------------------------

    def prepare(self, x, y, like=None):
        """Build the model and resolve losses/metrics from the data's structure (host side).

        `x`, `y` are NumPy trees (whole data or one batch); shapes in errors quote them.
        `like`: an engine already prepared for the same data whose model has this one's architecture
        (a `Population`'s first member): its output spec is reused instead of tracing this model.
        """
        model = self.model
        if not model.built:
            model._maybe_build(shapes_of(jax.tree_util.tree_map(lambda a: a[:1], x)))
        trainable, non_trainable = model.trainable_variables, model.non_trainable_variables
        # A model that declares its batch size (a stateful RNN needs one) is traced with it.
        declared = getattr(model, "_batch_input_shape", None)
        rows = declared[0] if declared and isinstance(declared, tuple) and declared[0] else None
        full = jax.tree_util.tree_map(
            lambda a: jax.ShapeDtypeStruct((rows or np.shape(a)[0],) + np.shape(a)[1:], np.asarray(a).dtype), x)
        if like is not None and like.output_spec is not None:
            spec = like.output_spec
        else:
            spec = jax.eval_shape(
                lambda t, n, xb: model.stateless_call(t, n, xb)[0],
                [v.value for v in trainable], [v.value for v in non_trainable], full)
        self.output_spec = spec
        if self.setup is not None and self.setup.spec == jax.tree_util.tree_structure(spec):
            return self.setup
        self.programs, self._traces = {}, {}
        self.setup = Setup(model, spec, y)
        return self.setup

    def _require_compiled(self, what):
        if not self.model.compiled:
            raise RuntimeError(
                f"You must compile the model before {what}: call "
                "`model.compile(optimizer='adam', loss=..., metrics=[...])` first."
            )

    def _require_loss(self, what):
        setup = self.setup
        if setup.compile_loss is None and not self.keras_steps:
            raise ValueError(
                f"{what}: the model was compiled without a loss, so there is nothing to train or measure. "
                "Pass one to compile (e.g. `loss='mse'`), or override `train_step` / `compute_loss`."
            )

    def check_data(self, data, training=False, what="", warn=True):
        """Everything `checks` verifies, before compute, and (with `warn`) the likely-mistake warnings.

        In-memory data is checked whole; a stream's batches are checked as they are read.
        """
        if isinstance(data, data_adapter.StreamData):
            data.check = checks.StreamChecks(self.setup, what)
            return
        if data.n == 0:
            raise ValueError(f"{what}x has 0 samples: there is nothing to {'train on' if training else 'evaluate'}.")
        largest = checks.check_batch(self.setup, data.x, data.y, data.sample_weight, what)
        if warn:
            checks.warn_likely_mistakes(self.model, self.setup, largest)

    def _apply_class_weight(self, data, class_weight):
        """Fold `class_weight` into `data.sample_weight` (multiplied with given sample weights)."""
        if class_weight is None:
            return
        y_flat = compile_utils.flatten_targets(data.y, self.setup.names)
        if len(y_flat) != 1:
            raise ValueError("class_weight works with single-output models; use sample_weight instead.")
        cw = data_adapter.class_weight_to_sample_weight(y_flat[0], class_weight)
        data.sample_weight = cw if data.sample_weight is None else data.sample_weight * cw

    # ----- programs --------------------------------------------------------------------------------

    def program(self, name, fn, out=None, options=None):
        """`fn` compiled (cached here and on disk under a key of the model and `name`). Under a distribution the
        program runs over its mesh (`out`: how its results lie, see `sharded.ProgramLayout`) and its keys hold
        the mesh, so it is never taken for a one-device program. `options`: XLA options added to the model's."""
        dist = current_distribution()
        memo = name if dist is None else name + (("distribution", id(dist)),)
        found = self.programs.get(memo)
        if found is None or (dist is not None and found.layout.dist is not dist):
            model = self.model
            layout = None if dist is None else sharded.ProgramLayout(dist, out)
            compiler_options = _compiler_options(model)
            if compiler_options is not None and not compiler_options.get("xla_cpu_use_fusion_emitters", True):
                fn = products.traced_with_small_products(fn)  # a small model
            if options:
                compiler_options = {**(compiler_options or {}), **options}
            found = programs.CachedProgram(fn, lambda signature: program_key.program_key(model, name, signature),
                                           layout, compiler_options)
            self.programs[memo] = found
        return found

    def _placer(self):
        """Under a distribution: `StateSync`'s placer (each Variable's sharding, and how to put a value there)."""
        dist = current_distribution()
        if dist is None:
            return None
        return lambda groups: (sharded.state_shardings(dist, groups), placement.global_array)

    def _steps(self, kind):
        return Steps(self, kind)

    def _runner(self, kind, vectorize=None):
        """Chunk runners for the data sources: compiled programs of `kind` ("train" / "test").

        `vectorize`: None, or a `lamina.tuners.population.Vectorized` (tag, wrap, compiler_options): each chunk
        function becomes `wrap(chunk)` (one running it for many members' stacked states), its program names get
        `tag` and it compiles with `compiler_options` added.
        """
        engine, s = self, self._steps(kind)
        tag = ("keras" if s.exact else "lamina", kind)
        wrap, options = (lambda chunk: chunk), None
        if vectorize is not None:
            tag, wrap, options = tag + tuple(vectorize.tag), vectorize.wrap, vectorize.compiler_options

        dist = current_distribution()

        class Runner:
            exact = s.exact

            @staticmethod
            def sharded_gather(n_steps, guard):
                mesh = dist.device_mesh.backend_mesh
                return engine.program(tag + ("sharded", n_steps, guard),
                                      sharded.gather_chunk(s.step, s.final, n_steps, mesh, dist.batch_dim_name, guard),
                                      out="chunk")

            @staticmethod
            def gather(n_steps, batch_size, guard):
                return engine.program(tag + ("gather", n_steps, batch_size, guard),
                                      wrap(loops.gather_chunk(s.step, s.final, n_steps, batch_size, guard)),
                                      options=options)

            @staticmethod
            def epochs(n_epochs, n_steps, batch_size, guard, validation=None):
                """`validation`: (steps, batch_size) of one chunk of test steps run after each due epoch."""
                checks = None
                if validation is not None:
                    t = engine._steps("test")
                    checks = (loops.gather_chunk(t.step, t.final, *validation), t.final,
                              lambda state, metrics: EvalState(state.trainable_variables,
                                                               state.non_trainable_variables, metrics))
                name = tag + ("epochs", n_epochs, n_steps, batch_size, guard)
                name += () if validation is None else ("validation",) + tuple(validation)
                return engine.program(name, wrap(loops.epochs_chunk(s.step, s.final, n_steps, batch_size, guard,
                                                                    checks)), options=options)

            @staticmethod
            def stacked():
                return engine.program(tag + ("stacked",), wrap(loops.stacked_chunk(s.step, s.final)),
                                      out=None if dist is None else "chunk", options=options)

        Runner.dist = dist
        return Runner

    def traced_once(self, method):
        """A Keras-form step `method(state, data) -> (logs, state)` as `step(state, data, mask)`, traced
        once per input signature: the jaxpr is kept, so the logs' structure is known without tracing
        the user's code a second time, and every program reusing the signature replays it."""
        cache = self._traces.setdefault(method.__name__, {})

        def trace(state, data):
            leaves, treedef = jax.tree_util.tree_flatten((state, data))
            key = (treedef, tuple((tuple(np.shape(a)), np.dtype(a.dtype), bool(getattr(a, "weak_type", False)))
                                  for a in leaves))
            if key not in cache:
                def fn(st, d):
                    with StatelessScope():  # a stray `assign` in user code is recorded here, never leaks a tracer
                        return method(st, _keras_batch(d))

                closed, shape = jax.make_jaxpr(fn, return_shape=True)(state, data)
                cache[key] = (closed, jax.tree_util.tree_structure(shape))
            return cache[key]

        def step(state, data, mask):
            closed, out_tree = trace(state, data)
            flat = jax.core.eval_jaxpr(closed.jaxpr, closed.consts, *jax.tree_util.tree_leaves((state, data)))
            logs, new_state = jax.tree_util.tree_unflatten(out_tree, flat)
            return new_state, logs

        step.trace = trace
        return step

    def _initial_logs(self, kind, state, sample):
        """The logs carried through a Keras-form step's scan start as zeros of its logs' structure."""
        if not self.setup.keras_steps:
            return None
        closed, out_tree = self._steps(kind).step.trace(state, sample)
        logs_avals = jax.tree_util.tree_unflatten(out_tree, closed.out_avals)[0]
        return jax.tree_util.tree_map(lambda a: np.zeros(a.shape, a.dtype), logs_avals)

    # ----- state -----------------------------------------------------------------------------------

    def _sync(self, with_optimizer):
        model = self.model
        optimizer = model.optimizer if with_optimizer else None
        if optimizer is not None:
            self._build_optimizer()
        self._state_sync = StateSync(model, optimizer, self.setup.metrics, placer=self._placer())
        return self._state_sync

    def optimizer_stale(self):
        """Whether the optimizer must be built (again) on the model's trainable variables."""
        optimizer, trainable = self.model.optimizer, self.model.trainable_variables
        return not optimizer.built or [id(v) for v in optimizer._variables or []] != [id(v) for v in trainable]

    def _build_optimizer(self, slots=None):
        """Build the optimizer on the model's trainable variables (again if they changed). `slots`: their
        initial values when already computed (a Population computes all its members' in one program)."""
        optimizer, trainable = self.model.optimizer, self.model.trainable_variables
        if self.optimizer_stale():
            if slots is None:
                slots = self.initial_slots(("optimizer-init",), lambda params: optimizer.init(params)["slots"],
                                           [v.value for v in trainable])
            optimizer._build(trainable, slots)

    def initial_slots(self, name, init, *args):
        """`init(*args)`: an optimizer's initial slots, computed with NumPy from its trace (fills and casts:
        no XLA compile on a first fit), or by the program `name` when the trace needs more (or the arguments
        span other processes' devices)."""
        if all(getattr(a, "is_fully_addressable", True) for a in jax.tree_util.tree_leaves(args)):
            try:
                return numpy_eval.evaluate(init, *args)
            except numpy_eval.Unsupported:
                pass
        return self.program(name, init)(*args)

    def _fresh(self, state):
        """`state` with its metrics at their initial values."""
        fresh = self.setup.fresh_metrics()
        sync = getattr(self, "_state_sync", None)
        if sync is not None and sync.shardings is not None:
            fresh = sync.place("metrics", fresh)
        return state._replace(metrics_variables=fresh)

    # ----- fit -----------------------------------------------------------------------------------

    def fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
            class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
            validation_freq):
        model = self.model
        self._require_compiled("training it")
        verbose = _verbose(verbose)
        if x is None:
            raise ValueError("fit: `x` is required.")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: `epochs` must be a non-negative int, got {epochs!r}.")
        warmup.start()
        stream = data_adapter.is_stream(x)
        if stream:
            if y is not None or sample_weight is not None:
                raise ValueError("fit: when x is a generator or dataset, it must yield (x, y[, sample_weight]); "
                                 "do not pass `y` or `sample_weight` separately.")
            if validation_split:
                raise ValueError("fit: validation_split needs in-memory arrays; pass validation_data instead.")
            train = data_adapter.StreamData(x, None if steps_per_epoch is None else
                                            _positive_int(steps_per_epoch, "steps_per_epoch", "fit"))
        else:
            train = data_adapter.ArrayData(x, y, sample_weight)
            if validation_split and validation_data is None:
                train, val = data_adapter.ArrayData.split(train, validation_split)
                validation_data = (val.x, val.y, val.sample_weight)
            if train.y is None:
                raise ValueError("fit: `y` (the targets) is required with array inputs.")
        val = None if validation_data is None else data_adapter.as_eval_data(validation_data)
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size", "fit")
        validation_steps = None if validation_steps is None else _positive_int(validation_steps, "validation_steps",
                                                                              "fit")
        first = train.peek()
        self.prepare(*first[:2]) if stream else self.prepare(train.x, train.y)
        self._require_loss("fit")
        self.check_data(train, training=True)
        if val is not None:
            self.check_data(val, what="validation_data: ", warn=False)
        if not stream:
            self._apply_class_weight(train, class_weight)
            train.batch_size = min(batch_size, train.n)  # a batch larger than the data is the whole data
            train.max_steps = None if steps_per_epoch is None else _positive_int(steps_per_epoch, "steps_per_epoch",
                                                                               "fit")
        # a recurrent model on several CPU cores: data-parallel over them (`cores`), else as is
        on_cores = None if stream else cores.distribution_for(model, train, self.setup.keras_steps)
        with cores.running(on_cores, model, self.setup.metrics):
            steps = train.steps
            cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
                               epochs=epochs, steps=steps)
            history = next(cb for cb in cbs.callbacks if isinstance(cb, History))
            model.history = history
            model.stop_training = False

            sync = self._sync(with_optimizer=True)
            state = self._fresh(sync.read(TrainState))
            runner = self._runner("train")
            chunk = self._chunk_size(steps, batch_size, verbose, cbs)
            shuffle_seed = int(np.asarray(draw_key())[1])
            # With nothing to show or call between epochs, epochs are queued back to back and their
            # logs fetched at the end: no host round trip per epoch.
            quiet = (not stream and verbose == 0 and val is None and not cbs.user_callbacks
                     and not self.setup.keras_steps)
            logs, epoch_logs, pending = {}, {}, []
            done = state  # the state after the last finished epoch (kept if the run is interrupted)
            # Run-ahead needs epochs without hooks inside them: no batch hooks, and a progress bar only when a
            # chunk is the whole epoch (its bar then shows nothing between the epoch's begin and end).
            ahead = _RunAhead(may=not stream and cbs.batch_interval("train") is None
                              and (cbs.progbar is None or chunk >= steps))

            def dispatch(epoch, state, hooks, hushed, skip=0):
                source = train.chunks(runner, chunk, epoch=epoch, shuffle=shuffle, seed=shuffle_seed)
                return self._run_epoch("train", source, state, sync, hooks, hushed, skip)

            with jax.disable_jit(not model.jit_compile):
                cbs.on_train_begin()
                initial_epoch, initial_step = _resume_point(model, initial_epoch)
                if sync.changed():
                    state = sync.read(TrainState)
                try:
                    for epoch in range(initial_epoch, epochs):
                        if not quiet:
                            cbs.on_epoch_begin(epoch)
                            if sync.changed():
                                state = sync.read(TrainState)
                        started = ahead.take(state)
                        if started is not None:  # dispatched during the last epoch's hooks from this very state
                            state, logs = started
                        else:
                            skip = initial_step if epoch == initial_epoch else 0
                            if not skip:  # a resumed epoch keeps the metric states of its steps already done
                                state = self._fresh(state)
                            state, logs = dispatch(epoch, state, cbs, quiet, skip)
                        if quiet:
                            _queue_epoch(pending, state, logs)
                            continue
                        done = state
                        sync.write(state)
                        if ahead.wanted() and epoch + 1 < epochs:
                            ahead.start(state, dispatch(epoch + 1, self._fresh(state), None, True))
                        epoch_logs = self._epoch_logs(logs)
                        if val is not None and _due(epoch, validation_freq):
                            val_logs = self.evaluate_data(val, min(validation_batch_size or batch_size, val.n or 1)
                                                          if isinstance(val, data_adapter.ArrayData)
                                                          else validation_batch_size or batch_size,
                                                          validation_steps, cbs)
                            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                            if sync.changed():
                                state = sync.read(TrainState)
                        cbs.on_epoch_end(epoch, epoch_logs)
                        if sync.changed():
                            state = sync.read(TrainState)
                        ahead.finished_epoch()
                        if model.stop_training:
                            break
                except KeyboardInterrupt:
                    # Keep what finished, as Keras does: the weights of the last completed epoch, and in a quiet
                    # fit (epochs queued without a look back) the history of the epochs already done.
                    finished = _finished(pending)
                    kept = [s for s, _ in finished if s is not None]
                    sync.write(kept[-1] if kept else done)
                    self._record_quiet_epochs(cbs, initial_epoch, finished)
                    _finalize_variables(model, epochs)
                    raise
                if quiet:
                    sync.write(state)
                    epoch_logs = self._record_quiet_epochs(cbs, initial_epoch, pending) or epoch_logs
                _finalize_variables(model, epochs)
                cbs.on_train_end(epoch_logs)
        return history

    def _record_quiet_epochs(self, cbs, initial_epoch, pending):
        """Give the queued epochs' logs to the callbacks (History); returns the last epoch's logs."""
        epoch_logs = None
        for epoch, logs in zip(range(initial_epoch, initial_epoch + len(pending)),
                               _to_host([p[1] for p in pending])):
            epoch_logs = self._epoch_logs(logs)
            cbs.on_epoch_end(epoch, epoch_logs)
        return epoch_logs

    def _epoch_logs(self, logs):
        """Keras: the metrics' results when the step's logs have the same keys, else the last step's logs
        (lamina's own steps compute their logs from the metrics anyway)."""
        if self.setup.keras_steps and isinstance(logs, dict):
            results = self.model.get_metrics_result()
            if set(logs) == set(results):
                logs = results
        return _pythonify(logs)

    def _chunk_size(self, steps, batch_size, verbose, cbs):
        if self.model.steps_per_execution:
            return min(self.model.steps_per_execution, steps or self.model.steps_per_execution)
        interval = cbs.batch_interval("train")
        if interval:  # batch hooks every `interval` steps: one compiled call per interval
            return min(interval, steps) if steps else interval
        if verbose != 1 or not steps:
            return steps or 16
        flops_per_step = 6 * max(self.model.count_params(), 1) * batch_size
        return int(min(max(2.5e9 // flops_per_step, 1), steps))

    def _run_epoch(self, kind, chunks, state, sync, cbs, quiet=False, skip=0):
        """Run one pass over `chunks` (from a data source); batch hooks fire between chunks. The first `skip`
        steps are passed over (a resumed epoch; their data is still drawn from a stream)."""
        begin, end = f"on_{kind}_batch_begin", f"on_{kind}_batch_end"
        per_batch = cbs is not None and cbs.batch_interval(kind) is not None
        logs, done = None, 0
        for chunk in chunks:
            if chunk.last < skip:
                done = chunk.last + 1
                continue
            if chunk.first < skip:
                raise ValueError(
                    f"fit: cannot resume at step {skip} of the epoch: this run's compiled chunk holds steps "
                    f"{chunk.first}..{chunk.last}. Resume with the callbacks and `steps_per_execution` of the run "
                    "that made the backup.")
            if per_batch:
                getattr(cbs, begin)(chunk.first)
                if sync.changed():
                    state = sync.read(type(state))
            carried = self._initial_logs(kind, state, chunk.sample) if logs is None or not isinstance(logs, dict) \
                else logs
            state, logs = chunk.run(state, carried)
            done = chunk.last + 1
            if quiet:
                continue
            if per_batch:
                sync.write(state)
                getattr(cbs, end)(chunk.last, _pythonify(logs))
                if sync.changed():
                    state = sync.read(type(state))
            if cbs is not None and cbs.progbar is not None:
                cbs.progbar.update_chunk(done, _pythonify(logs), chunks.steps, kind=kind)
            if kind == "train" and self.model.stop_training:  # set by a batch hook: end the epoch now
                break
            if kind == "test" and self.model.stop_evaluating:
                break
        if done == 0:
            raise ValueError(f"The {'training' if kind == 'train' else 'evaluation'} data produced no batches.")
        if logs is None:  # every step was done before the resume: the logs are the restored metrics'
            sync.write(state)
            logs = self.model.get_metrics_result()
        return state, logs

    # ----- evaluate ----------------------------------------------------------------------------------

    def evaluate_data(self, data, batch_size, steps=None, cbs=None):
        """{name: float} over `data` (an ArrayData or StreamData), firing the test hooks of `cbs`."""
        model = self.model
        sync = self._sync(with_optimizer=False)
        state = self._fresh(sync.read(EvalState))
        if isinstance(data, data_adapter.ArrayData):
            data.batch_size = batch_size
            data.max_steps = steps
        chunk = data.steps or 16
        interval = cbs.batch_interval("test") if cbs is not None else None
        if interval:
            chunk = min(interval, chunk)
        model.stop_evaluating = False
        if cbs is not None:
            cbs.on_test_begin()
            if sync.changed():  # a hook assigned weights (SwapEMAWeights): evaluate those
                state = self._fresh(sync.read(EvalState))
        state, logs = self._run_epoch("test", data.chunks(self._runner("test"), chunk), state, sync, cbs)
        sync.write(state)
        logs = self._epoch_logs(logs)
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    def evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
        model = self.model
        self._require_compiled("evaluating it")
        verbose = _verbose(verbose)
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size", "evaluate")
        steps = None if steps is None else _positive_int(steps, "steps", "evaluate")
        if data_adapter.is_stream(x):
            data = data_adapter.StreamData(x, steps)
            first = data.peek()
            self.prepare(first[0], first[1])
        else:
            data = data_adapter.ArrayData(x, y, sample_weight)
            if data.y is None and not self.keras_steps:
                raise ValueError("evaluate: `y` (the targets) is required with array inputs.")
            self.prepare(data.x, data.y)
            batch_size = min(batch_size, max(data.n, 1))
        self._require_loss("evaluate")
        self.check_data(data)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                           steps=None)
        with jax.disable_jit(not model.jit_compile):
            logs = self.evaluate_data(data, batch_size, steps, cbs)
        if return_dict:
            return logs
        return self._in_metrics_order(logs)

    def _in_metrics_order(self, logs):
        """Keras's `evaluate` list: the logs named like `metrics` (the compiled metrics by their own names), in
        that order, then the other logs sorted (with several outputs, "<output>_<metric>" comes last)."""
        names = []
        for metric in self.model.metrics:
            names += [m.name for m in metric.metrics] if isinstance(metric, compile_utils.CompileMetrics) else [
                metric.name]
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # ----- predict --------------------------------------------------------------------------------------

    def _predict_step(self):
        model = self.model
        if not self.keras_steps:
            return lambda state, x: steps.predict_step(model, state, x)

        def keras_predict(state, x):
            outputs, non_trainable = model.predict_step(state, (x,))
            return outputs, PredictState(state.trainable_variables, non_trainable)

        return keras_predict

    def predict(self, x, batch_size, verbose, steps, callbacks):
        model = self.model
        verbose = _verbose(verbose)
        batch_size = 32 if batch_size is None else _positive_int(batch_size, "batch_size", "predict")
        steps = None if steps is None else _positive_int(steps, "steps", "predict")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                           steps=None)
        if data_adapter.is_stream(x):
            return self._predict_stream(data_adapter.StreamData(x, steps), cbs)
        x = data_adapter.to_numpy_tree(x, "x")
        n = data_adapter.num_samples(x, "x")
        if n == 0:
            raise ValueError("predict: x has 0 samples.")
        batch_size = min(batch_size, n)
        if not model.built:
            model._maybe_build(shapes_of(jax.tree_util.tree_map(lambda a: a[:1], x)))
        if current_distribution() is not None:
            return self._predict_sharded(x, n, batch_size, cbs)
        wants_batches = cbs.batch_interval("predict") is not None
        if (n <= min(batch_size, host_predict.MAX_ROWS) and not wants_batches and model.jit_compile
                and not self.keras_steps and not cbs.user_callbacks):
            out = host_predict.predict(self, x)
            if out is not None:
                return out
        sync = StateSync(model)
        state = sync.read(PredictState)
        step = self._predict_step()
        model.stop_predicting = False
        outputs = []
        with jax.disable_jit(not model.jit_compile):
            cbs.on_predict_begin()
            if sync.changed():  # a hook assigned weights (SwapEMAWeights): predict with those
                state = sync.read(PredictState)
            if n <= batch_size or wants_batches:
                for start in range(0, n, batch_size):
                    cbs.on_predict_batch_begin(start // batch_size)
                    batch = jax.tree_util.tree_map(lambda a: a[start:start + batch_size], x)
                    out, state = self.program(("predict_direct",), loops.predict_direct(step))(state, batch)
                    outputs.append(out)
                    sync.write(state)
                    cbs.on_predict_batch_end(start // batch_size, {"outputs": out})
                    if cbs.progbar is not None:
                        cbs.progbar.update_chunk(start // batch_size + 1, None, math.ceil(n / batch_size),
                                                 kind="predict")
                    if sync.changed():
                        state = sync.read(PredictState)
                    if model.stop_predicting:
                        break
                out = jax.tree_util.tree_map(lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *outputs)
            else:
                full, rest = divmod(n, batch_size)
                exact = self.keras_steps
                n_steps = full if exact else math.ceil(n / batch_size)
                order = loops.sample_order(n, max(n, n_steps * batch_size), False)()
                program = self.program(("predict_gather", n_steps, batch_size), loops.predict_gather(step, n_steps,
                                                                                                    batch_size))
                out, state = program(state, x, order)
                parts = [out]
                if exact and rest:
                    tail = jax.tree_util.tree_map(lambda a: a[full * batch_size:], x)
                    tail_out, state = self.program(("predict_direct",), loops.predict_direct(step))(state, tail)
                    parts.append(tail_out)
                out = jax.tree_util.tree_map(lambda *p: np.concatenate([np.asarray(a) for a in p])[:n], *parts)
                sync.write(state)
                cbs.on_predict_batch_end(n_steps - 1, {"outputs": out})
                if cbs.progbar is not None:
                    steps_total = n_steps + (1 if exact and rest else 0)
                    cbs.progbar.update_chunk(steps_total, None, steps_total, kind="predict")
            cbs.on_predict_end()
        return jax.tree_util.tree_map(np.asarray, out)

    def _predict_sharded(self, x, n, batch_size, cbs):
        """predict over the mesh: every batch split along the batch axis, all steps in one program (rows past
        the data are padding, dropped). Batch hooks: one `on_predict_batch_end` at the end, as for one long chunk."""
        model, dist = self.model, current_distribution()
        layout = sharded.Layout(dist, n, batch_size, math.ceil(n / batch_size))
        sync = StateSync(model, placer=self._placer())
        model.stop_predicting = False
        with jax.disable_jit(not model.jit_compile):
            cbs.on_predict_begin()
            state = sync.read(PredictState)
            arrays = layout.put_rows(x)
            idx, _ = layout.order(layout.steps, False)
            program = self.program(("predict_sharded", layout.steps, layout.b),
                                   sharded.predict_chunk(self._predict_step(), layout.steps,
                                                         dist.device_mesh.backend_mesh, dist.batch_dim_name),
                                   out="predict")
            out, state = program(state, arrays, idx)
            sync.write(state)
            out = jax.tree_util.tree_map(layout.gather_rows, out)
            cbs.on_predict_batch_end(layout.steps - 1, {"outputs": out})
            if cbs.progbar is not None:
                cbs.progbar.update_chunk(layout.steps, None, layout.steps, kind="predict")
            cbs.on_predict_end()
        return out

    def _predict_stream(self, data, cbs):
        outs = []
        cbs.on_predict_begin()
        for i, (x, _, _) in enumerate(data.batches()):
            cbs.on_predict_batch_begin(i)
            out = self.predict(x, batch_size=max(data_adapter.num_samples(x, "x"), 1), verbose=0, steps=None,
                               callbacks=None)
            outs.append(out)
            cbs.on_predict_batch_end(i, {"outputs": out})
            if cbs.progbar is not None:
                cbs.progbar.update_chunk(i + 1, None, data.steps, kind="predict")
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the data produced no batches.")
        return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *outs)

    def predict_on_batch(self, x):
        x = data_adapter.to_numpy_tree(x, "x")
        return self.predict(x, batch_size=max(data_adapter.num_samples(x, "x"), 1), verbose=0, steps=None,
                            callbacks=None)

    # ----- single batches --------------------------------------------------------------------------------

    def train_on_batch(self, x, y, sample_weight, class_weight, return_dict):
        model = self.model
        self._require_compiled("training it")
        data = data_adapter.ArrayData(x, y, sample_weight)
        self.prepare(data.x, data.y)
        self._require_loss("train_on_batch")
        self.check_data(data, training=True)
        self._apply_class_weight(data, class_weight)
        data.batch_size = max(data.n, 1)
        sync = self._sync(with_optimizer=True)
        state = self._fresh(sync.read(TrainState))
        with jax.disable_jit(not model.jit_compile):
            state, logs = self._run_epoch("train", data.chunks(self._runner("train"), 1), state, sync, None)
        sync.write(state)
        return self._batch_result(_pythonify(logs), return_dict)

    def test_on_batch(self, x, y, sample_weight, return_dict):
        self._require_compiled("evaluating it")
        data = data_adapter.ArrayData(x, y, sample_weight)
        self.prepare(data.x, data.y)
        self._require_loss("test_on_batch")
        self.check_data(data)
        with jax.disable_jit(not self.model.jit_compile):
            logs = self.evaluate_data(data, max(data.n, 1))
        return self._batch_result(logs, return_dict)

    def _batch_result(self, logs, return_dict):
        return logs if return_dict else self._in_metrics_order(logs)


def _resume_point(model, initial_epoch):
    """(epoch, step) where this fit starts: a callback (BackupAndRestore) may have set the model's
    `_initial_epoch` and `_initial_step` in on_train_begin; they hold for this fit only."""
    epoch = model._initial_epoch if model._initial_epoch is not None else initial_epoch
    step = model._initial_step
    model._initial_epoch, model._initial_step = None, 0
    return epoch, step


def _finalize_variables(model, epochs):
    """Keras ends every fit with `optimizer.finalize_variable_values` (with `use_ema`: the averages become
    the weights)."""
    if epochs > 0 and model.optimizer is not None and hasattr(model.optimizer, "finalize_variable_values"):
        model.optimizer.finalize_variable_values(model.trainable_weights)


class _RunAhead:
    """Epoch e+1 dispatched before epoch e's logs are fetched and its hooks run, so the host's work between
    epochs overlaps the device's work. It is used only if it started from the very state the loop holds when
    epoch e+1 begins: a hook that assigns a Variable makes the engine read a new state and drops it (and run
    ahead is not tried again in this fit), and stopping drops it. Only while an epoch with its hooks takes
    under `MAX_SECONDS`, so a dropped epoch wastes little.
    """

    MAX_SECONDS = 0.05

    def __init__(self, may):
        self.may = may
        self._short = False
        self._since = time.perf_counter()
        self._base = self._result = None

    def wanted(self):
        return self.may and self._short

    def finished_epoch(self):
        now = time.perf_counter()
        self._short, self._since = now - self._since < self.MAX_SECONDS, now

    def start(self, base, result):
        self._base, self._result = base, result

    def take(self, state):
        """The run-ahead epoch's (state, logs) if it started from `state`, else None (and no more run-ahead)."""
        base, result = self._base, self._result
        self._base = self._result = None
        if base is not None and base is not state:
            self.may = False
            return None
        return result


def _queue_epoch(pending, state, logs):
    """Add a dispatched epoch to a quiet fit's queue, keeping the run-ahead bounded: the host waits for the
    epoch two before this one (the device is busy with the next ones meanwhile) and forgets the states of
    older epochs, so memory stays flat and Ctrl-C finds the last finished epoch's state at hand."""
    pending.append((state, logs))
    if len(pending) >= 3:
        jax.block_until_ready(pending[-3][1])
    if len(pending) >= 4:
        pending[-4] = (None, pending[-4][1])


def _finished(pending):
    """The queued epochs whose computation has completed (their outputs are ready), in order."""
    done = []
    for state, logs in pending:
        if not all(leaf.is_ready() for leaf in jax.tree_util.tree_leaves(logs) if isinstance(leaf, jax.Array)):
            break
        done.append((state, logs))
    return done


def _due(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


