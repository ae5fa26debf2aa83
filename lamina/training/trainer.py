"""`Trainer`: Keras 3's training API on a model, as a thin facade over the engine.

`compile` / `fit` / `evaluate` / `predict` / `*_on_batch` hand the work to
`lamina.training.engine.Engine`. The step methods are Keras 3's JAX forms, so a
custom step written for Keras on JAX runs unchanged inside lamina's compiled loop:

    def train_step(self, state, data):                      # state: TrainState (a 4-tuple)
        trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables = state
        ...
        return logs, (trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)

    test_step(self, state, data) -> (logs, (trainable, non_trainable, metrics_variables))
    predict_step(self, state, data) -> (outputs, non_trainable_variables)
    compute_loss_and_updates(trainable, non_trainable, metrics_variables, x, y, sample_weight,
                             training=False, optimizer_variables=None)
    compute_loss(x, y, y_pred, sample_weight=None, training=True), compute_metrics(x, y, y_pred, sample_weight)
    stateless_compute_loss(...), get_metrics_result(), metrics, metrics_variables, reset_metrics()

A model that overrides none of these runs lamina's own steps (`steps.py`: the same
math, one program per epoch, padded last batch masked). A model that overrides any of
them runs the Keras-form methods and sees exactly Keras's batches (a ragged last batch
is its own smaller batch, as in Keras), so custom code never sees padding rows.
"""

import jax
import jax.numpy as jnp

from lamina.backend.scope import StatelessScope
from lamina.utils.dataset_utils import unpack_x_y_sample_weight

# The engine, losses, metrics and optimizers (optax) load on first use, so `import lamina` stays fast.

#: The step pieces a model may override; overriding any of them selects the Keras-form steps.
STEP_METHODS = ("train_step", "test_step", "predict_step", "compute_loss_and_updates", "compute_loss",
                "stateless_compute_loss", "compute_metrics", "get_metrics_result")


def _steps_per_execution(value):
    if value in (None, "auto"):
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"compile: steps_per_execution must be a positive int or 'auto', got {value!r}.")
    return value


def _bool_or_auto(name, value):
    if value != "auto" and not isinstance(value, bool):
        raise ValueError(f"compile: `{name}` must be True, False or 'auto'; got {value!r}.")
    return value


class Trainer:
    """Mixin giving `Model` Keras's training API."""

    # What the named walk skips: the engine, and the compiled loss and metrics (Keras files hold no metric
    # state). The optimizer is walked: its variables are saved under "optimizer/vars/<i>".
    _untracked_by_trainer = frozenset({"_engine_instance", "history", "_loss_tracker", "_compile_loss",
                                       "_compile_metrics", "_compile_config"})

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.stop_evaluating = False
        self.stop_predicting = False
        self.history = None
        self._loss_tracker = None
        self._compile_loss = None
        self._compile_metrics = None
        self._compile_config = None
        self._run_eagerly = False
        self._jit_compile = True
        self.steps_per_execution = None
        self._engine_instance = None
        # Where a `fit` resumes, set by a callback's on_train_begin (BackupAndRestore): the epoch (Keras's
        # attribute) and the steps of that epoch already done, whose metric states the callback restored.
        self._initial_epoch = None
        self._initial_step = 0

    @property
    def _engine(self):
        """The model's `Engine` (made on first use)."""
        if self._engine_instance is None:
            from lamina.training.engine import Engine

            self._engine_instance = Engine(self)
        return self._engine_instance

    def _reset_engine(self):
        """Drop compiled programs and the setup (the layers or compile arguments changed)."""
        if self._engine_instance is not None:
            self._engine_instance.reset()

    # ----- compile ----------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution="auto", jit_compile="auto", auto_scale_loss=True):
        """Configure training. Names are checked now; shapes when data first arrives.

        Args:
            optimizer, loss, metrics, loss_weights, weighted_metrics: as in Keras.
            run_eagerly: run each step op by op, uncompiled (for debugging).
            steps_per_execution: "auto" lets the engine choose how many steps run per
                compiled call (a whole epoch when nothing needs to see batches); an int fixes it.
            jit_compile: "auto" or True compile the steps with XLA; False runs them op by op
                (like `run_eagerly`), as Keras does on JAX.
            auto_scale_loss: Keras wraps the optimizer in a LossScaleOptimizer when this is True
                and the dtype policy is "mixed_float16"; lamina computes in floatx() (no mixed
                policy), so, as in Keras with any other policy, there is nothing to scale.
        """
        from lamina import metrics as metrics_lib
        from lamina import optimizers as optimizers_lib
        from lamina.training import compile_utils

        _bool_or_auto("jit_compile", jit_compile)
        if not isinstance(auto_scale_loss, bool):
            raise ValueError(f"compile: `auto_scale_loss` must be True or False; got {auto_scale_loss!r}.")
        compile_utils.check_names(loss, metrics, weighted_metrics)
        self.optimizer = optimizers_lib.get(optimizer)
        self.loss = loss
        self._loss_tracker = metrics_lib.Mean(name="loss")
        self._compile_loss = None  # built from the first batch (output names and shapes)
        self._compile_metrics = None
        self._compile_config = dict(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights,
                                    weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                    steps_per_execution=steps_per_execution, jit_compile=jit_compile)
        self._run_eagerly = bool(run_eagerly)
        self._jit_compile = not self._run_eagerly if jit_compile == "auto" else bool(jit_compile) and not run_eagerly
        self.steps_per_execution = _steps_per_execution(steps_per_execution)
        self.stop_training = False
        self.compiled = True
        self._engine.reset()  # made here, not in the first (timed) fit

    @property
    def run_eagerly(self):
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._run_eagerly = bool(value)
        self._reset_engine()

    @property
    def jit_compile(self):
        return self._jit_compile

    @jit_compile.setter
    def jit_compile(self, value):
        self._jit_compile = bool(value)
        self._reset_engine()

    def get_compile_config(self):
        """The arguments `compile` was called with, as Keras writes them into model files; {} when not compiled.

        The optimizer is the model's optimizer as it is now (its config); losses and metrics keep
        their names, objects become config dicts. `steps_per_execution="auto"` (lamina's default,
        which Keras does not accept) is left out.
        """
        if not self.compiled:
            return {}
        from lamina.backend import registry

        def serialize(value):
            if isinstance(value, (list, tuple)):
                return [serialize(v) for v in value]
            if isinstance(value, dict):
                return {k: serialize(v) for k, v in value.items()}
            return registry.serialize_keras_object(value)

        config = {}
        for key, value in self._compile_config.items():
            if key == "optimizer":
                config[key] = registry.serialize_keras_object(self.optimizer)
            elif key in ("loss", "metrics", "weighted_metrics"):
                config[key] = serialize(value)
            elif key == "steps_per_execution" and value == "auto":
                continue
            else:
                config[key] = value
        return config

    def compile_from_config(self, config):
        """Compile with the arguments saved by `get_compile_config` (or by Keras), then build the
        optimizer's variables when the model is built, as Keras does, so a loader can set them."""
        import inspect
        import warnings

        from lamina import optimizers as optimizers_lib

        accepted = set(inspect.signature(self.compile).parameters)
        unknown = sorted(k for k in config if k not in accepted)
        if unknown:
            warnings.warn(f"compile_from_config: ignoring compile arguments lamina does not know: {unknown}.",
                          stacklevel=2)
        config = {k: v for k, v in config.items() if k in accepted}
        config["optimizer"] = optimizers_lib.get(config.get("optimizer") or "rmsprop")
        for key, kind in (("loss", "loss"), ("metrics", "metric"), ("weighted_metrics", "metric")):
            config[key] = _objects_now(config.get(key), kind)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    # ----- the engine -----------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns a `History`. Arguments follow Keras."""
        return self._engine.fit(
            x=x, y=y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics over the whole data set (accumulated, not averaged per batch)."""
        if kwargs:
            raise ValueError(f"evaluate: arguments not recognized: {sorted(kwargs)}.")
        return self._engine.evaluate(x=x, y=y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                     steps=steps, callbacks=callbacks, return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for `x` as NumPy arrays."""
        return self._engine.predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    # tf.keras 2's generator methods (gone from Keras 3): deprecated aliases that warn and forward. The
    # loader knobs (max_queue_size, workers, use_multiprocessing) are accepted and ignored: the engine reads
    # the next batches on its own background thread.

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Deprecated: `fit(generator, ...)` takes generators and Sequences directly."""
        _deprecated_generator_method("fit_generator", "fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """Deprecated: `evaluate(generator, ...)` takes generators and Sequences directly."""
        _deprecated_generator_method("evaluate_generator", "evaluate")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """Deprecated: `predict(generator, ...)` takes generators and Sequences directly."""
        _deprecated_generator_method("predict_generator", "predict")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimization step on exactly this batch; returns its loss and metrics."""
        return self._engine.train_on_batch(x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on exactly this batch."""
        return self._engine.test_on_batch(x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (no batching)."""
        return self._engine.predict_on_batch(x)

    # ----- metrics -------------------------------------------------------------------------------

    @property
    def metrics(self):
        """The metrics in Keras's order: the loss tracker, the compiled metrics, the per-output
        loss trackers, then metrics held by the model and its layers."""
        found = []
        if self.compiled:
            found.append(self._loss_tracker)
            if self._compile_metrics is not None:
                found.append(self._compile_metrics)
            if self._compile_loss is not None:
                found.extend(self._compile_loss.metrics)
        found.extend(self._tracked_metrics())
        return found

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        """{name: value} of `self.metrics` (a compiled-metrics dict is merged in)."""
        out = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    # ----- Keras's step pieces (JAX forms) ----------------------------------------------------------

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the losses added by layers (regularization, `add_loss`)."""
        del x, training
        losses = []
        if self._compile_loss is not None:
            losses.append(self._compile_loss(y, y_pred, sample_weight))
        losses += [jnp.sum(jnp.asarray(loss, jnp.float32)) for loss in self.losses]
        if not losses:
            return jnp.zeros(())
        return losses[0] if len(losses) == 1 else sum(losses)

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables, metrics_variables, x=None,
                               y=None, y_pred=None, sample_weight=None, training=True):
        """`compute_loss` as a pure function: (loss, (trainable, non_trainable, metrics_variables))."""
        mapping = list(zip(self.trainable_variables, trainable_variables))
        mapping += list(zip(self.non_trainable_variables, non_trainable_variables))
        mapping += list(zip(self.metrics_variables, metrics_variables))
        with StatelessScope(mapping) as scope:
            loss = self.compute_loss(x, y, y_pred, sample_weight=sample_weight, training=training)
        non_trainable = [_current(scope, v) for v in self.non_trainable_variables]
        metrics_variables = [_current(scope, v) for v in self.metrics_variables]
        return loss, (trainable_variables, non_trainable, metrics_variables)

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, metrics_variables, x, y,
                                 sample_weight, training=False, optimizer_variables=None):
        """Forward pass and loss, pure (for `jax.value_and_grad`):
        (loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))."""
        y_pred, non_trainable_variables, losses = self.stateless_call(
            trainable_variables, non_trainable_variables, x, return_losses=True, training=training)
        self._losses_override = losses  # what `self.losses` gives compute_loss: this forward pass's losses
        try:
            loss, (_, non_trainable_variables, metrics_variables) = self.stateless_compute_loss(
                trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y, y_pred=y_pred,
                sample_weight=sample_weight, training=training)
        finally:
            self._losses_override = None
        return loss, (loss, y_pred, non_trainable_variables, metrics_variables)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics and return every metric's result."""
        del x
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _update_metrics_variables(self, metrics_variables, loss, x, y, y_pred, sample_weight):
        with StatelessScope(list(zip(self.metrics_variables, metrics_variables))) as scope:
            batch = jax.tree_util.tree_leaves(x)[0].shape[0]
            self._loss_tracker.update_state(loss, sample_weight=batch)
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        return logs, [_current(scope, v) for v in self.metrics_variables]

    def train_step(self, state, data):
        """One optimization step (pure): (logs, TrainState)."""
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, (loss, y_pred, non_trainable, metrics_variables)), grads = grad_fn(
            trainable, non_trainable, metrics_variables, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_variables)
        trainable, optimizer_variables = self.optimizer.stateless_apply(optimizer_variables, grads, trainable)
        logs, metrics_variables = self._update_metrics_variables(metrics_variables, loss, x, y, y_pred,
                                                                 sample_weight)
        return logs, (trainable, non_trainable, optimizer_variables, metrics_variables)

    def test_step(self, state, data):
        """One evaluation step (pure): (logs, EvalState)."""
        trainable, non_trainable, metrics_variables = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        _, (loss, y_pred, non_trainable, metrics_variables) = self.compute_loss_and_updates(
            trainable, non_trainable, metrics_variables, x, y, sample_weight, training=False)
        logs, metrics_variables = self._update_metrics_variables(metrics_variables, loss, x, y, y_pred,
                                                                 sample_weight)
        return logs, (trainable, non_trainable, metrics_variables)

    def predict_step(self, state, data):
        """Outputs for one batch (pure): (outputs, non_trainable_variables)."""
        trainable, non_trainable = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable, non_trainable, x, training=False)

    def _uses_keras_steps(self):
        """Whether any step piece is overridden, or the model holds metrics of its own (then the
        Keras-form methods run, on Keras's exact batches)."""
        cls = type(self)
        return any(getattr(cls, name) is not getattr(Trainer, name) for name in STEP_METHODS) or bool(
            self._tracked_metrics())


def _objects_now(spec, kind):
    """Config dicts and names of user objects in a saved compile config, turned into objects now: losses
    and metrics are otherwise resolved at the first batch, after a loader's `custom_objects` scope ended.
    Names of built-ins stay names (Keras logs them under those names)."""
    from lamina.backend import registry

    if isinstance(spec, (list, tuple)):
        return [_objects_now(s, kind) for s in spec]
    if isinstance(spec, dict) and not {"class_name", "config"} <= set(spec):
        return {k: _objects_now(v, kind) for k, v in spec.items()}
    if isinstance(spec, dict):
        if kind == "loss":
            from lamina import losses

            return losses.get(spec)
        from lamina import metrics

        return metrics.get(spec)
    if isinstance(spec, str) and spec not in registry.builtins(kind):
        found = registry.get_registered_object(spec)
        return spec if found is None else found
    return spec


def _current(scope, variable):
    found = scope.get_current_value(variable)
    return variable.value if found is None else found


def _deprecated_generator_method(old, new):
    import warnings

    warnings.warn(f"Model.{old} is deprecated (removed in Keras 3): use Model.{new}, which accepts generators and "
                  f"Sequences such as ImageDataGenerator.flow(...) directly.", DeprecationWarning, stacklevel=3)
