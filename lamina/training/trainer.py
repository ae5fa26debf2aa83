"""`compile` / `fit` / `evaluate` / `predict` on a compiled loop.

The training state is one pytree (see `TrainState` below). `train_step(state,
data) -> state` is a pure function; the engine runs K of them inside one
`lax.scan` in one XLA call (see `loops.py`), gathering each batch from
device-resident arrays through an index order. The last, ragged batch is padded and masked
(`batch_mask`), so every epoch uses a single trace.

TrainState is a dict:
    "trainable":     [arrays]  the model's trainable weights (order of `trainable_variables`)
    "non_trainable": [arrays]  BatchNorm statistics and other non-trainable weights
    "optimizer":     optimizer state (see `Optimizer.init`)
    "metrics":       [metric states] loss trackers first, then compiled metrics
    "rng":           PRNG key, split once per step

Custom training: override `train_step(self, state, data)` and return the new
state; `data` is `(x, y, sample_weight)` (sample_weight may be None). Use
`self.stateless_call`, `self.compute_loss`, `self.optimizer.apply` and
`self.update_metrics`; everything you write is compiled into the same loop.
`self.batch_mask` (inside a step) is 1.0 for real rows and 0.0 for padding.
"""

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend.random import StepKey
from lamina.training import compile_utils, data_adapter, host_predict, loops, warmup


def _steps_per_execution(value):
    if value in (None, "auto"):
        return None
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"compile: steps_per_execution must be a positive int or 'auto', got {value!r}.")
    return value


class Trainer:
    """Mixin giving `Model` its training API."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.run_eagerly = False
        self.history = None
        self.batch_mask = None
        self._fns = {}
        self._setup = None

    # ----- compile ----------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution="auto", jit_compile="auto", auto_scale_loss=True):
        """Configure training. Names are checked now; shapes when data first arrives.

        `steps_per_execution` "auto" lets the engine choose how many steps run
        per compiled call (a whole epoch when nothing needs to see batches);
        an int fixes it. `run_eagerly=True` runs op by op (for debugging).
        """
        from lamina import losses, metrics as metrics_lib, optimizers

        self.optimizer = optimizers.get(optimizer)
        # Resolve every name now, so a typo fails at compile with the closest valid name suggested.
        for item in compile_utils.spec_items(loss):
            losses.get(item)
        for item in compile_utils.spec_items(metrics) + compile_utils.spec_items(weighted_metrics):
            if not (isinstance(item, str) and item.lower() in compile_utils.RESOLVED_BY_SHAPE):
                metrics_lib.get(item)
        self.loss = loss
        self._compile_args = dict(loss=loss, metrics=metrics, loss_weights=loss_weights,
                                  weighted_metrics=weighted_metrics)
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = _steps_per_execution(steps_per_execution)
        self.jit_compile = jit_compile
        self.compiled = True
        self._fns = {}
        self._setup = None

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(
                f"You must compile the model before {what}: call "
                "`model.compile(optimizer='adam', loss=..., metrics=[...])` first."
            )

    # ----- setup from the first data ------------------------------------------------------

    def _output_names(self, y_pred_spec):
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        if isinstance(y_pred_spec, dict):
            return list(y_pred_spec)
        if isinstance(y_pred_spec, (list, tuple)):
            return [f"output_{i + 1}" for i in range(len(y_pred_spec))]
        last = self.layers[-1].name if self.layers else "output"
        return [last]

    def _prepare(self, x, y):
        """Build the model and resolve losses/metrics from one batch's structure (host side)."""
        from lamina.layers.base import _shapes

        sample = jax.tree_util.tree_map(lambda a: a[:1], x)
        if not self.built:
            self._maybe_build(_shapes(jax.tree_util.tree_map(jnp.asarray, sample)))
        state = self.get_state()
        # Shapes of the whole data (not the one-row sample), so shape errors quote the user's arrays.
        full = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype), x)
        spec = jax.eval_shape(lambda s, xb: self.stateless_call(s, xb)[0], state, full)
        if self._setup is not None and self._setup["spec"] == jax.tree_util.tree_structure(spec):
            return self._setup
        names = self._output_names(spec)
        y_pred_shapes = [(None,) + tuple(s.shape[1:]) for s in compile_utils.flatten_outputs(spec, names)]
        setup = {"spec": jax.tree_util.tree_structure(spec), "names": names, "y_pred_shapes": y_pred_shapes}
        if self.compiled and self._compile_args["loss"] is not None:
            args = self._compile_args
            loss = compile_utils.CompiledLoss(args["loss"], args["loss_weights"], names)
            y_flat = compile_utils.flatten_targets(y, names) if y is not None else [None] * len(names)
            y_shapes = [None if t is None else (None,) + tuple(np.shape(t)[1:]) for t in y_flat]
            metrics = compile_utils.CompiledMetrics(args["metrics"], args["weighted_metrics"], names)
            metrics.build(loss, y_shapes, y_pred_shapes)
            setup.update(loss=loss, metrics=metrics, fused=compile_utils.fusable_outputs(self, loss))
        elif self.compiled:
            from lamina import metrics as metrics_lib

            metrics = compile_utils.CompiledMetrics(None, None, names)
            metrics.entries = [("loss", metrics_lib.Mean(name="loss"), None, "loss")]
            setup.update(loss=None, metrics=metrics, fused={})
        self._setup = setup
        self._fns = {}
        return setup

    def _check_training_data(self, data, setup):
        largest = data_adapter.check_finite(data.x, "x")
        data_adapter.check_finite(data.y, "y")
        if setup.get("loss") is not None and data.y is not None:
            y_flat = compile_utils.flatten_targets(data.y, setup["names"])
            compile_utils.validate_targets(setup["loss"], y_flat, setup["y_pred_shapes"])
            compile_utils.output_activation_warnings(self, setup["loss"], setup["y_pred_shapes"])
        if largest >= 1000 and not self._scales_its_inputs():
            warnings.warn(
                f"Input values reach {largest:.4g}: unscaled inputs in the thousands slow or stall training. "
                "Standardize them (e.g. a `Normalization` layer with `adapt`, or (x - mean) / std).",
                stacklevel=3,
            )

    @staticmethod
    def _apply_class_weight(data, setup, class_weight):
        """Fold `class_weight` into `data.sample_weight` (multiplied with given sample weights)."""
        if class_weight is None:
            return
        y_flat = compile_utils.flatten_targets(data.y, setup["names"])
        if len(y_flat) != 1:
            raise ValueError("class_weight works with single-output models; use sample_weight instead.")
        cw = data_adapter.class_weight_to_sample_weight(y_flat[0], class_weight)
        data.sample_weight = cw if data.sample_weight is None else data.sample_weight * cw

    def _scales_its_inputs(self):
        """Whether the first layer rescales or looks up its inputs (then large raw values are fine)."""
        first = next((l for l in self.layers if type(l).__name__ != "InputLayer"), None)
        return type(first).__name__ in ("Normalization", "Rescaling", "BatchNormalization", "Embedding")

    # ----- the pure step pieces ------------------------------------------------------------

    def compute_loss_and_updates(self, trainable, non_trainable, x, y, sample_weight, training, rng):
        """Forward pass and loss: returns (loss, (y_pred list, new non_trainable, per-output losses, next rng)).

        `rng` is a key, a `StepKey` (then the next rng is its `carry()`) or None.
        """
        setup = self._setup
        fused = setup["fused"]
        state = {"trainable": trainable, "non_trainable": non_trainable}
        with compile_utils.SwapActivations(fused.values()):
            outputs, new_state, extra = self.stateless_call(state, x, training=training, rng=rng,
                                                            batch_mask=self.batch_mask, return_losses=True)
        raw = compile_utils.flatten_outputs(outputs, setup["names"])
        y_pred = [fused[i].activation(o) if i in fused else o for i, o in enumerate(raw)]
        loss, per_output = self.compute_loss(x, y, raw, sample_weight, logit_outputs=set(fused))
        if extra:
            loss = loss + sum(jnp.sum(e) for e in extra)
        next_rng = rng.carry() if isinstance(rng, StepKey) else rng
        return loss, (y_pred, new_state["non_trainable"], per_output, next_rng)

    def compute_loss(self, x, y, y_pred, sample_weight=None, logit_outputs=()):
        """(total loss, per-output losses) for flat `y_pred`; padding rows are excluded via `batch_mask`."""
        setup = self._setup
        if setup.get("loss") is None:
            return jnp.zeros(()), []
        y_flat = compile_utils.flatten_targets(y, setup["names"])
        sw = sample_weight
        if isinstance(sw, (dict, list, tuple)) and len(setup["names"]) > 1:
            sw = compile_utils.flatten_targets(sw, setup["names"], "sample_weight")
        return setup["loss"](y_flat, y_pred, sw, self.batch_mask, logit_outputs)

    def update_metrics(self, metric_states, loss, per_output_losses, y, y_pred, sample_weight=None):
        """New metric states after one batch (pure)."""
        setup = self._setup
        y_flat = compile_utils.flatten_targets(y, setup["names"]) if y is not None else [None] * len(setup["names"])
        sw = sample_weight
        if isinstance(sw, (dict, list, tuple)) and len(setup["names"]) > 1:
            sw = compile_utils.flatten_targets(sw, setup["names"], "sample_weight")
        return setup["metrics"].update(metric_states, loss, per_output_losses, y_flat, y_pred, sw, self.batch_mask)

    def apply_constraints(self, params):
        """Project updated weights with their constraints (MaxNorm, NonNeg, ...)."""
        variables = self.trainable_variables
        return [v.constraint(p) if v.constraint is not None else p for v, p in zip(variables, params)]

    def train_step(self, state, data):
        """One optimization step: (state, (x, y, sample_weight)) -> new state. Pure; compiled by fit."""
        x, y, sample_weight = data
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable, per_output, rng)), grads = grad_fn(
            state["trainable"], state["non_trainable"], x, y, sample_weight, True, StepKey(state["rng"]))
        params, opt_state = self.optimizer.apply(grads, state["optimizer"], state["trainable"])
        params = self.apply_constraints(params)
        metric_states = self.update_metrics(state["metrics"], loss, per_output, y, y_pred, sample_weight)
        return {"trainable": params, "non_trainable": non_trainable, "optimizer": opt_state,
                "metrics": metric_states, "rng": rng}

    def test_step(self, state, data):
        """One evaluation step: updates only the metric states. Pure; compiled by evaluate."""
        x, y, sample_weight = data
        loss, (y_pred, _, per_output, _) = self.compute_loss_and_updates(
            state["trainable"], state["non_trainable"], x, y, sample_weight, False, None)
        return dict(state, metrics=self.update_metrics(state["metrics"], loss, per_output, y, y_pred, sample_weight))

    def predict_step(self, state, x):
        """Model outputs for one batch of inputs (inference mode)."""
        outputs, _ = self.stateless_call({"trainable": state["trainable"], "non_trainable": state["non_trainable"]}, x)
        return outputs

    # ----- compiled loops -------------------------------------------------------------------

    def _with_mask(self, step, state, data, mask):
        self.batch_mask = mask
        try:
            return step(state, data)
        finally:
            self.batch_mask = None

    def _train_state(self, rng):
        """A fresh TrainState from the model's variables (the optimizer keeps its state if still valid)."""
        weights = self.get_state()
        owner = tuple(v.uid for v in self.trainable_variables)
        fresh_optimizer = self.optimizer.state is None or getattr(self.optimizer, "_built_for", None) != owner
        opt_state, metric_states = self._init_fn(fresh_optimizer)(weights["trainable"])
        if fresh_optimizer:
            self.optimizer.state = opt_state
            self.optimizer._built_for = owner
        # device_put, not jnp.asarray: converting would compile a program (and load MLIR) on a warm run
        return dict(weights, optimizer=self.optimizer.state, metrics=metric_states, rng=jax.device_put(np.asarray(rng)))

    def _init_fn(self, with_optimizer):
        """One compiled function making fresh optimizer and metric states (instead of one compile per op)."""
        metrics = self._setup["metrics"]
        init_opt = self.optimizer.init if with_optimizer else (lambda params: None)
        return loops.compiled(self, ("init", with_optimizer), lambda params: (init_opt(params), metrics.init_state()))

    def _write_back(self, state):
        """Store a TrainState's weights and optimizer state in the model's Variables and optimizer."""
        trainable, non_trainable = self._state_variables()
        for var, value in zip(trainable + non_trainable, [*state["trainable"], *state["non_trainable"]]):
            var._value = value
        self.optimizer.state = state["optimizer"]

    def _read_weights(self, state):
        """Refresh a TrainState from the Variables (a callback may have changed weights or the LR)."""
        return dict(state, **self.get_state(), optimizer=self.optimizer.state)

    def _chunk_size(self, steps, batch_size, verbose, callbacks):
        if self.steps_per_execution:
            return min(self.steps_per_execution, steps)
        if callbacks.wants_every_batch():
            return 1
        if verbose != 1:
            return steps
        flops_per_step = 6 * max(self.count_params(), 1) * batch_size
        return int(min(max(2.5e9 // flops_per_step, 1), steps))

    def _logs_to_floats(self, logs):
        """Device logs -> {name: float}, in the order of `metrics_names` (loss first)."""
        logs = jax.device_get(logs)
        return {k: float(logs[k]) if np.ndim(logs[k]) == 0 else np.asarray(logs[k]) for k in self.metrics_names if k in logs}

    # ----- fit ------------------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns a `History`. Arguments follow Keras."""
        from lamina.backend.random import draw_key
        from lamina.callbacks import CallbackList, History, ProgbarLogger

        self._require_compiled("training it")
        verbose = 1 if verbose == "auto" else int(verbose)
        if x is None:
            raise ValueError("fit: `x` is required.")
        warmup.start()
        stream = data_adapter.is_stream(x)
        if stream:
            if y is not None or sample_weight is not None:
                raise ValueError("fit: when x is a generator or dataset, it must yield (x, y[, sample_weight]); "
                                 "do not pass `y` or `sample_weight` separately.")
            if validation_split:
                raise ValueError("fit: validation_split needs in-memory arrays; pass validation_data instead.")
            train = data_adapter.StreamData(x, steps_per_epoch)
        else:
            train = data_adapter.ArrayData(x, y, sample_weight)
            if validation_split and validation_data is None:
                train, val = data_adapter.ArrayData.split(train, validation_split)
                validation_data = (val.x, val.y, val.sample_weight)
            if train.y is None:
                raise ValueError("fit: `y` (the targets) is required with array inputs.")
        val = None
        if validation_data is not None:
            val = self._as_eval_data(validation_data)
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}.")

        history = History()
        cb_list = list(callbacks or [])
        progbar = ProgbarLogger(verbose) if verbose else None
        all_cbs = cb_list + ([progbar] if progbar else []) + [history]
        if stream:
            first = train.peek()
            setup = self._prepare(first[0], first[1])
            steps = train.steps
        else:
            setup = self._prepare(train.x, train.y)
            self._check_training_data(train, setup)
            self._apply_class_weight(train, setup, class_weight)
            steps = math.ceil(train.n / batch_size)
            if steps_per_epoch is not None:
                steps = min(int(steps_per_epoch), steps)
        params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        cbs = CallbackList(all_cbs, self, params)
        history.model = self
        history.params = params
        self.history = history
        self.stop_training = False

        state = self._train_state(draw_key())
        fresh_metrics = state["metrics"]
        with jax.disable_jit(self.run_eagerly):
            cbs.on_train_begin()
            if not stream:
                arrays = train.on_device()
                chunk = self._chunk_size(steps, batch_size, verbose, cbs)
                n_chunks = math.ceil(steps / chunk)
                run_chunk = loops.array_chunk(self, "train", chunk, batch_size, guard=n_chunks * chunk != steps)
                make_order = loops.sample_order(train.n, max(train.n, n_chunks * chunk * batch_size), bool(shuffle))
                shuffle_seed = int(np.asarray(draw_key())[1])
            # With nothing to show or call between epochs, epochs are queued back to back and their
            # logs fetched at the end: no host round trip per epoch.
            quiet = not stream and verbose == 0 and val is None and not cb_list
            pending = []
            for epoch in range(initial_epoch, epochs):
                if not quiet:
                    cbs.on_epoch_begin(epoch)
                    state = self._read_weights(state)
                state["metrics"] = fresh_metrics
                if stream:
                    state, logs = self._run_stream("train", state, train, cbs, progbar)
                else:
                    state, logs = self._train_epoch(state, arrays, make_order(shuffle_seed, epoch), train.n,
                                                    steps, chunk, run_chunk, cbs, progbar)
                if quiet:
                    pending.append(logs)
                    continue
                logs = self._logs_to_floats(logs)
                self._write_back(state)
                if val is not None and self._due(epoch, validation_freq):
                    val_logs = self._evaluate_data(val, validation_batch_size or batch_size, validation_steps)
                    logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            if quiet:
                self._write_back(state)
                for epoch, logs in zip(range(initial_epoch, epochs), jax.device_get(pending)):
                    logs = self._logs_to_floats(logs)
                    cbs.on_epoch_end(epoch, logs)
            cbs.on_train_end(logs if epochs > initial_epoch else {})
        return history

    def _train_epoch(self, state, arrays, order, n, steps, chunk, run_chunk, cbs, progbar):
        """Run one epoch of array data in chunks of `chunk` steps; batch hooks fire between chunks."""
        if chunk >= steps:
            return run_chunk(state, arrays, order, 0, n)
        for first in range(0, steps, chunk):
            cbs.on_train_batch_begin(first)
            state, logs = run_chunk(state, arrays, order, first, n)
            done = min(first + chunk, steps)
            logs = self._logs_to_floats(logs)
            if cbs.wants_every_batch():
                self._write_back(state)
            cbs.on_train_batch_end(done - 1, logs)
            if progbar:
                progbar.update_chunk(done, logs)
            if self.stop_training:  # set by a batch hook: end this epoch now, as Keras does
                break
        return state, logs

    @staticmethod
    def _due(epoch, freq):
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return (epoch + 1) in freq

    def _as_eval_data(self, data):
        if data_adapter.is_stream(data):
            return data_adapter.StreamData(data)
        if isinstance(data, tuple) and len(data) in (2, 3):
            return data_adapter.ArrayData(*data)
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or a "
                         f"generator/dataset; got {type(data).__name__}.")

    def _run_stream(self, kind, state, data, cbs, progbar, chunk=16):
        """Run one pass over a generator: batches are stacked K at a time (prefetched) and scanned.

        A callback with batch hooks gets one batch per compiled call, like with arrays.
        """
        from concurrent.futures import ThreadPoolExecutor

        per_batch = cbs is not None and kind == "train" and cbs.wants_every_batch()
        if per_batch:
            chunk = 1
        batches = data.batches()
        batch_size = None
        run = loops.stream_chunk(self, kind)

        def next_chunk():
            nonlocal batch_size
            items = []
            for item in batches:
                items.append(item)
                if len(items) == chunk:
                    break
            if not items:
                return None
            if batch_size is None:
                batch_size = data_adapter.num_samples(items[0][0], "x")
            return loops.stack_batches(items, batch_size, chunk)

        logs, done = {}, 0
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(next_chunk)
            while True:
                ready = pending.result()
                if ready is None:
                    break
                pending = pool.submit(next_chunk)
                stacked, masks, count = ready
                if per_batch:
                    cbs.on_train_batch_begin(done)
                state, logs = run(state, stacked, masks)
                done += count
                if per_batch:
                    self._write_back(state)
                    cbs.on_train_batch_end(done - 1, self._logs_to_floats(logs))
                    if self.stop_training:
                        break
                if progbar and kind == "train":
                    progbar.params["steps"] = data.steps or done
                    progbar.update_chunk(done, self._logs_to_floats(logs))
        if not done:
            raise ValueError(f"The {kind} data produced no batches.")
        return state, self._logs_to_floats(logs)

    # ----- evaluate / predict ------------------------------------------------------------------------

    def _evaluate_data(self, data, batch_size, steps=None):
        state = dict(self.get_state(), metrics=self._init_fn(False)([])[1], rng=np.zeros((2,), np.uint32))
        if isinstance(data, data_adapter.StreamData):
            _, logs = self._run_stream("test", state, data, None, None)
            return logs
        n_steps = math.ceil(data.n / batch_size)
        if steps is not None:
            n_steps = min(int(steps), n_steps)
        run = loops.array_chunk(self, "test", n_steps, batch_size)
        order = loops.sample_order(data.n, n_steps * batch_size, False)()
        _, logs = run(state, data.on_device(), order, 0, min(data.n, n_steps * batch_size))
        return self._logs_to_floats(logs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Loss and metrics over the whole data set (accumulated, not averaged per batch)."""
        self._require_compiled("evaluating it")
        data = data_adapter.StreamData(x, steps) if data_adapter.is_stream(x) else data_adapter.ArrayData(x, y, sample_weight)
        if isinstance(data, data_adapter.ArrayData):
            if data.y is None:
                raise ValueError("evaluate: `y` (the targets) is required with array inputs.")
            setup = self._prepare(data.x, data.y)
            self._check_training_data(data, setup)
        else:
            first = data.peek()
            self._prepare(first[0], first[1])
        with jax.disable_jit(self.run_eagerly):
            logs = self._evaluate_data(data, batch_size or 32, steps)
        verbose = 1 if verbose == "auto" else int(verbose)
        if verbose:
            from lamina.callbacks.progbar import format_logs

            print(format_logs(logs), flush=True)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for `x` as NumPy arrays (batched on device; small inputs in one call)."""
        if data_adapter.is_stream(x):
            outs = [self.predict(batch[0] if isinstance(batch, tuple) else batch, batch_size, 0)
                    for batch in data_adapter.StreamData(x, steps).batches()]
            return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *outs)
        x = data_adapter.to_numpy_tree(x, "x")
        n = data_adapter.num_samples(x, "x")
        batch_size = batch_size or 32
        if not self.built:
            from lamina.layers.base import _shapes

            self._maybe_build(_shapes(jax.tree_util.tree_map(lambda a: jnp.asarray(a[:1]), x)))
        if n <= min(batch_size, host_predict.MAX_ROWS) and not self.run_eagerly:
            out = host_predict.predict(self, x)
            if out is not None:
                return out
        state = self.get_state()
        if n <= batch_size:
            out = loops.predict_direct(self)(state, x)
        else:
            n_steps = math.ceil(n / batch_size)
            order = loops.sample_order(n, n_steps * batch_size, False)()
            out = loops.predict_scan(self, n_steps, batch_size)(state, x, order)
            out = jax.tree_util.tree_map(lambda o: o[:n], out)
        return jax.tree_util.tree_map(np.asarray, out)

    def predict_on_batch(self, x):
        """Outputs for one batch (no batching)."""
        x = data_adapter.to_numpy_tree(x, "x")
        return self.predict(x, batch_size=max(data_adapter.num_samples(x, "x"), 1))

    # ----- single batches ----------------------------------------------------------------------------

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimization step on exactly this batch; returns its loss and metrics."""
        from lamina.backend.random import draw_key

        self._require_compiled("training it")
        data = data_adapter.ArrayData(x, y, sample_weight)
        setup = self._prepare(data.x, data.y)
        self._check_training_data(data, setup)
        self._apply_class_weight(data, setup, class_weight)
        state = self._train_state(draw_key())
        run = loops.array_chunk(self, "train", 1, data.n)
        order = loops.sample_order(data.n, data.n, False)()
        with jax.disable_jit(self.run_eagerly):
            state, logs = run(state, data.on_device(), order, 0, data.n)
        self._write_back(state)
        return self._batch_result(self._logs_to_floats(logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on exactly this batch."""
        self._require_compiled("evaluating it")
        data = data_adapter.ArrayData(x, y, sample_weight)
        self._prepare(data.x, data.y)
        logs = self._evaluate_data(data, data.n)
        return self._batch_result(logs, return_dict)

    def _batch_result(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @property
    def metrics_names(self):
        if self._setup is None or "metrics" not in self._setup:
            return []
        return self._setup["metrics"].log_names

