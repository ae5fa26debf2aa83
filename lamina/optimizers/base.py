"""`Optimizer`: a Keras-named, stateful facade over a pure optax update.

Pure core (what the training engine compiles):

    state = opt.init(params)                       # params: any pytree of arrays
    params, state = opt.apply(grads, state, params)  # jittable, no side effects

`state` is a dict: `"iterations"` (int32 scalar, updates applied so far),
`"learning_rate"` (float32 scalar: the base rate for a float learning rate,
the schedule's value at `iterations` for a schedule) and `"slots"` (the
update rule's buffers). The learning rate is read from the state, so setting
`opt.learning_rate` between epochs changes the next update without
recompiling.

Facade (what users see): `opt.state` holds the latest state (set by
`build`, written back by the engine), `opt.iterations`, the settable
`opt.learning_rate`, `apply_gradients([(grad, Variable), ...])`,
`get_config`/`from_config`, `get_weights`/`set_weights` in Keras's
variable order.

Each update follows Keras 3: gradients are cast to the parameter dtype,
divided by `loss_scale_factor`, clipped (`clipnorm` per variable,
`global_clipnorm`, `clipvalue`), `weight_decay` is applied to the
parameters as `p - p * wd * lr`, then the update rule runs with the learning
rate for this step (`schedule(iterations)`), and `iterations` grows by one.
Constraints of Variables are applied by `apply_gradients` (and by the
engine), not by the pure `apply`.
"""

import inspect
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lamina.backend.variables import Variable
from lamina.optimizers import schedules as schedules_lib
from lamina.optimizers import transforms
from lamina.saving import serialization


def _auto_name(cls_name):
    """'Adam' -> 'adam', then 'adam_1', ... (reset by `clear_session`, like layer names)."""
    from lamina.layers.base import unique_name

    return unique_name(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls_name).lower())


def _check_nonnegative(cls_name, **values):
    for arg, value in values.items():
        if value is not None and not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"{cls_name}: `{arg}` must be a number >= 0 or None. Received: {arg}={value!r}")


class _LearningRateValue(float):
    """The current learning rate as a float, with Keras Variable-like `numpy()`/`assign()`."""

    def numpy(self):
        return np.float32(self)

    @property
    def value(self):
        return float(self)

    def assign(self, value):
        self._optimizer.learning_rate = value


class _IterationsValue(int):
    """The number of updates applied so far, as an int with a Keras Variable-like `numpy()`."""

    def numpy(self):
        return np.int32(self)

    @property
    def value(self):
        return int(self)


class Optimizer:
    """Base class of lamina optimizers (Keras 3 `keras.optimizers.Optimizer`).

    Args:
        learning_rate: float (ints and scalar arrays are converted), a `LearningRateSchedule`, or a callable
            `step -> rate` written with `jax.numpy` (a zero-argument callable
            cannot be traced and is rejected).
        weight_decay: float or None. Decoupled decay `p -= p * wd * lr` before
            each update.
        clipnorm: float or None. Clip each gradient to this L2 norm.
        clipvalue: float or None. Clip gradient entries to [-v, v].
        global_clipnorm: float or None. Clip all gradients jointly to this norm.
        loss_scale_factor: float or None. Gradients are divided by it first.
        use_ema, ema_momentum, ema_overwrite_frequency,
        gradient_accumulation_steps: accepted with their Keras defaults (so
            Keras configs load); non-default values raise ValueError because
            lamina does not implement them.
        name: str; defaults to the snake-case class name ("adam", "adam_1", ...).
        lr: legacy alias of `learning_rate` (Keras 2), accepted with a warning.
        decay: legacy argument, ignored with a warning (as Keras 3 does).

    Subclasses implement `_update_rule()` (an optax transformation whose
    update takes `learning_rate=` and `iterations=`) and `_variable_layout()`.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        cls_name = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(
                f"{cls_name}: `lr` is a legacy name; use `learning_rate`.", stacklevel=3
            )
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                f"{cls_name}: argument `decay` is no longer supported and is ignored; "
                "use a schedule from lamina.optimizers.schedules instead.",
                stacklevel=3,
            )
        if kwargs:
            raise ValueError(f"{cls_name}: argument(s) not recognized: {sorted(kwargs)}.")
        if use_ema:
            raise ValueError(
                f"{cls_name}: `use_ema=True` is not supported by lamina. Remove the argument "
                "(or keep an average of the weights in a callback)."
            )
        if gradient_accumulation_steps:
            raise ValueError(
                f"{cls_name}: `gradient_accumulation_steps` is not supported by lamina. "
                "Use a larger `batch_size` instead."
            )
        _check_nonnegative(cls_name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                           global_clipnorm=global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{cls_name}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}."
            )
        if loss_scale_factor is not None and not loss_scale_factor > 0:
            raise ValueError(f"{cls_name}: `loss_scale_factor` must be > 0. Received: {loss_scale_factor!r}")
        self.name = name if name is not None else _auto_name(cls_name)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._learning_rate = self._check_learning_rate(learning_rate)
        self.state = None
        self._variables = None
        self._wd_exclude_uids = set()
        self._wd_exclude_pattern = None
        self._wd_mask = None
        self._jitted_apply = None

    # ------------------------------------------------------------------ learning rate
    def _check_learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules_lib.LearningRateSchedule):
            return learning_rate
        if isinstance(learning_rate, bool):
            raise TypeError(f"{type(self).__name__}: `learning_rate` must be a float, got a bool.")
        if isinstance(learning_rate, (int, float, np.number)) or (
            hasattr(learning_rate, "shape") and np.shape(learning_rate) == ()
        ):
            return float(learning_rate)
        if callable(learning_rate):
            try:
                n_params = len(inspect.signature(learning_rate).parameters)
            except (TypeError, ValueError):
                n_params = 1
            if n_params == 0:
                raise TypeError(
                    f"{type(self).__name__}: a zero-argument `learning_rate` callable cannot be "
                    "compiled. Pass a float (and set `optimizer.learning_rate` to change it) or a "
                    "LearningRateSchedule / callable taking the step."
                )
            return learning_rate
        raise TypeError(
            f"{type(self).__name__}: `learning_rate` must be a float, a LearningRateSchedule or a "
            f"callable taking the step. Received: {learning_rate!r}"
        )

    @property
    def _has_schedule(self):
        return not isinstance(self._learning_rate, float)

    def _learning_rate_at(self, iterations):
        if self._has_schedule:
            return jnp.asarray(self._learning_rate(iterations), jnp.float32)
        raise AssertionError("float learning rates live in the state")

    @property
    def learning_rate(self):
        """The learning rate of the next update (a float; a schedule's value at `iterations`)."""
        if self._has_schedule:
            value = float(self._learning_rate_at(jnp.asarray(int(self.iterations), jnp.int32)))
        elif self.state is not None:
            value = float(self.state["learning_rate"])
        else:
            value = float(np.float32(self._learning_rate))
        out = _LearningRateValue(value)
        out._optimizer = self
        return out

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules_lib.LearningRateSchedule) or (
            callable(value) and not hasattr(value, "shape")
        ):
            if self.state is not None:
                raise TypeError(
                    f"Optimizer '{self.name}': a schedule cannot replace the learning rate after the "
                    "optimizer is built (compiled steps would keep the old rule). Create the "
                    "optimizer with the schedule instead."
                )
            self._learning_rate = self._check_learning_rate(value)
            return
        if self._has_schedule:
            raise TypeError(
                f"Optimizer '{self.name}' was created with a learning rate schedule "
                f"({type(self._learning_rate).__name__}), so its learning rate is not settable. "
                "Create the optimizer with a float `learning_rate` if you need to set it."
            )
        value = self._check_learning_rate(value)
        self._learning_rate = value
        if self.state is not None:
            self.state = dict(self.state, learning_rate=jnp.asarray(value, jnp.float32))

    @property
    def iterations(self):
        """Number of updates applied so far (0 before `build`)."""
        if self.state is None:
            return _IterationsValue(0)
        return _IterationsValue(int(self.state["iterations"]))

    # ------------------------------------------------------------------ pure core
    def _update_rule(self):
        """The optax transformation for this optimizer's update (takes learning_rate=, iterations=)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_update_rule()`.")

    def _variable_layout(self):
        """Keras's order of optimizer variables: list of tuples of slot names (interleaved
        per parameter) or strings (optimizer-wide scalars)."""
        return []

    def init(self, params):
        """Fresh optimizer state for `params` (any pytree of arrays)."""
        params = jax.tree_util.tree_map(jnp.asarray, params)
        iterations = jnp.zeros((), jnp.int32)
        if self._has_schedule:
            lr = self._learning_rate_at(iterations)
        else:
            lr = jnp.asarray(self._learning_rate, jnp.float32)
        return {"iterations": iterations, "learning_rate": lr, "slots": self._update_rule().init(params)}

    def apply(self, grads, opt_state=None, params=None):
        """One update: `(grads, opt_state, params) -> (new_params, new_opt_state)`, pure and jittable.

        `grads` has the structure of `params`. Called as `apply(grads,
        trainable_variables)` (Keras's stateful form) it updates the
        Variables in place, like `apply_gradients`.
        """
        if params is None and not (isinstance(opt_state, dict) and "iterations" in opt_state):
            variables = opt_state if opt_state is not None else self._variables
            if variables is None:
                raise ValueError(
                    f"Optimizer '{self.name}': `apply(grads)` without variables needs a built optimizer. "
                    "Use `apply_gradients(zip(grads, variables))`."
                )
            return self.apply_gradients(zip(grads, variables))
        iterations = opt_state["iterations"]
        if self._has_schedule:
            lr = self._learning_rate_at(iterations)
        else:
            lr = jnp.asarray(opt_state["learning_rate"], jnp.float32)
        params = jax.tree_util.tree_map(jnp.asarray, params)
        grads = jax.tree_util.tree_map(lambda g, p: jnp.asarray(g).astype(p.dtype), grads, params)
        if self.loss_scale_factor is not None:
            grads = jax.tree_util.tree_map(lambda g: g / self.loss_scale_factor, grads)
        clip = transforms.gradient_clipping(self.clipnorm, self.clipvalue, self.global_clipnorm)
        grads, _ = clip.update(grads, clip.init(params), params)
        if self.weight_decay is not None:
            params = transforms.decoupled_weight_decay(params, lr, self.weight_decay, self._weight_decay_mask(params))
        updates, slots = self._update_rule().update(
            grads, opt_state["slots"], params, learning_rate=lr, iterations=iterations
        )
        new_params = optax.apply_updates(params, updates)
        new_iterations = iterations + 1
        new_lr = self._learning_rate_at(new_iterations) if self._has_schedule else opt_state["learning_rate"]
        return new_params, {"iterations": new_iterations, "learning_rate": new_lr, "slots": slots}

    # ------------------------------------------------------------------ weight decay exclusions
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for the given Variables or for names matching any of `var_names`.

        Must be called before `build`; the optimizer must be built with the Variables
        (not bare arrays) so their names can be matched.
        """
        if self.state is not None:
            raise ValueError(
                f"Optimizer '{self.name}': `exclude_from_weight_decay()` must be called before the "
                "optimizer is built."
            )
        self._wd_exclude_uids = {v.uid for v in (var_list or [])}
        self._wd_exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _weight_decay_mask(self, params):
        if self._wd_mask is None:
            return None
        n = len(jax.tree_util.tree_leaves(params))
        if len(self._wd_mask) != n:
            raise ValueError(
                f"Optimizer '{self.name}' was built on {len(self._wd_mask)} variables but received "
                f"{n} parameters."
            )
        return self._wd_mask

    def _compute_wd_mask(self, leaves):
        if not self._wd_exclude_uids and self._wd_exclude_pattern is None:
            return None
        if not all(isinstance(v, Variable) for v in leaves):
            raise ValueError(
                f"Optimizer '{self.name}': weight-decay exclusions need the optimizer to be built with "
                "Variables (got bare arrays), so names can be matched."
            )
        mask = []
        for v in leaves:
            excluded = v.uid in self._wd_exclude_uids or (
                self._wd_exclude_pattern is not None and self._wd_exclude_pattern.search(v.name)
            )
            mask.append(not excluded)
        return mask

    # ------------------------------------------------------------------ stateful facade
    @property
    def built(self):
        return self.state is not None

    def build(self, var_list):
        """Create the state for `var_list` (Variables or arrays, any pytree) and store it in `opt.state`."""
        leaves, treedef = jax.tree_util.tree_flatten(var_list, is_leaf=lambda x: isinstance(x, Variable))
        self._wd_mask = self._compute_wd_mask(leaves)
        values = [v.value if isinstance(v, Variable) else v for v in leaves]
        self._variables = list(leaves) if all(isinstance(v, Variable) for v in leaves) and leaves else None
        self.state = self.init(jax.tree_util.tree_unflatten(treedef, values))
        self._jitted_apply = None

    def apply_gradients(self, grads_and_vars):
        """Update Variables in place: `grads_and_vars` is a list of `(grad, Variable)`.

        Builds the optimizer on the first call's Variables. A `None` gradient leaves
        its Variable (and its buffers) untouched. Returns `iterations`.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        for _, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"Optimizer '{self.name}': apply_gradients expects (gradient, Variable) pairs; "
                    f"got a {type(v).__name__}. For arrays use the pure `apply(grads, state, params)`."
                )
        if self.state is None or self._variables is None:
            self.build([v for _, v in pairs])
        index = {v.uid: i for i, v in enumerate(self._variables)}
        grads = [None] * len(self._variables)
        for g, v in pairs:
            if v.uid not in index:
                raise ValueError(
                    f"Optimizer '{self.name}': unknown variable '{v.path}'. The optimizer was built on "
                    f"{len(self._variables)} other variables; create a new optimizer for a new model."
                )
            grads[index[v.uid]] = g
        missing = [i for i, g in enumerate(grads) if g is None]
        if len(missing) == len(grads):
            return self.iterations
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {[self._variables[i].path for i in missing]}.",
                stacklevel=2,
            )
        params = [v.value for v in self._variables]
        grads = [jnp.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
        if self._jitted_apply is None:
            self._jitted_apply = jax.jit(self.apply)
        new_params, new_state = self._jitted_apply(grads, self.state, params)
        if missing:
            new_params = [params[i] if i in missing else p for i, p in enumerate(new_params)]
            old_slots = self.state["slots"]
            slots = dict(new_state["slots"])
            for name, tree in slots.items():
                if isinstance(tree, list) and len(tree) == len(params):
                    slots[name] = [old_slots[name][i] if i in missing else t for i, t in enumerate(tree)]
            new_state = dict(new_state, slots=slots)
        self.state = new_state
        for v, value in zip(self._variables, new_params):
            v.assign(value)
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        return self.iterations

    # ------------------------------------------------------------------ weights (Keras order)
    def _state_to_list(self, state):
        out = [state["iterations"]]
        if not self._has_schedule:
            out.append(state["learning_rate"])
        slots = state["slots"]
        for group in self._variable_layout():
            if isinstance(group, str):
                out.append(slots[group])
                continue
            columns = [jax.tree_util.tree_leaves(slots[name]) for name in group]
            for row in zip(*columns):
                out.extend(row)
        return out

    def get_weights(self):
        """Optimizer variables as NumPy arrays, in Keras 3's `optimizer.variables` order."""
        if self.state is None:
            return []
        return [np.asarray(w) for w in self._state_to_list(self.state)]

    def set_weights(self, weights):
        """Set the state from arrays in Keras's order (the optimizer must be built)."""
        if self.state is None:
            raise ValueError(
                f"Optimizer '{self.name}' is not built; call `optimizer.build(variables)` before "
                "`set_weights()`."
            )
        current = self._state_to_list(self.state)
        if len(weights) != len(current):
            raise ValueError(
                f"Optimizer '{self.name}': expected {len(current)} weights, got {len(weights)}."
            )
        for i, (old, new) in enumerate(zip(current, weights)):
            if tuple(np.shape(old)) != tuple(np.shape(new)):
                raise ValueError(
                    f"Optimizer '{self.name}': weight {i} has shape {tuple(np.shape(old))}, "
                    f"got {tuple(np.shape(new))}."
                )
        new_leaves = [jnp.asarray(w, jnp.result_type(old)) for old, w in zip(current, weights)]
        # Rebuild the state by walking the same layout.
        it = iter(new_leaves)
        state = {"iterations": next(it)}
        state["learning_rate"] = self.state["learning_rate"] if self._has_schedule else next(it)
        slots = dict(self.state["slots"])
        for group in self._variable_layout():
            if isinstance(group, str):
                slots[group] = next(it)
                continue
            treedefs = {name: jax.tree_util.tree_structure(slots[name]) for name in group}
            n = treedefs[group[0]].num_leaves
            columns = {name: [] for name in group}
            for _ in range(n):
                for name in group:
                    columns[name].append(next(it))
            for name in group:
                slots[name] = jax.tree_util.tree_unflatten(treedefs[name], columns[name])
        state["slots"] = slots
        self.state = state

    def save_own_variables(self, store):
        """Write the state into `store` as {"0": array, "1": ...} (Keras's `.keras` layout)."""
        for i, w in enumerate(self.get_weights()):
            store[str(i)] = w

    def load_own_variables(self, store):
        """Read the state written by `save_own_variables` (warns and skips on a count mismatch)."""
        expected = len(self.get_weights())
        if len(store.keys()) != expected:
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has {expected} variables "
                f"but the saved optimizer has {len(store.keys())}."
                + (" It is not built yet." if expected == 0 else ""),
                stacklevel=2,
            )
            return
        self.set_weights([np.asarray(store[str(i)]) for i in range(expected)])

    # ------------------------------------------------------------------ config
    def get_config(self):
        if isinstance(self._learning_rate, schedules_lib.LearningRateSchedule):
            learning_rate = schedules_lib.serialize(self._learning_rate)
        elif self._has_schedule:
            learning_rate = serialization.serialize_keras_object(self._learning_rate)
        else:
            learning_rate = float(self.learning_rate)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_lib.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} learning_rate={float(self.learning_rate):g}>"
