"""`Optimizer`: a Keras-named, stateful facade over a pure optax update.

Pure core (what the training engine compiles):

    state = opt.init(params)                       # params: any pytree of arrays
    params, state = opt.apply(grads, state, params)  # jittable, no side effects

`state` is a dict: `"iterations"` (int32 scalar, updates applied so far),
`"learning_rate"` (float32 scalar: the base rate for a float learning rate,
the schedule's value at `iterations` for a schedule), `"slots"` (the
update rule's buffers) and, with `use_ema=True`, `"average"` (the moving
average of the parameters, shaped like them). The learning rate is read from the state, so setting
`opt.learning_rate` between epochs changes the next update without
recompiling.

Keras 3's API on top: the state lives in `opt.variables`, in Keras's order
(`iterations`, the `learning_rate` for a float rate, then the averages with
`use_ema`, then the slots, built by `build(var_list)`), and `stateless_apply(optimizer_variables, grads,
trainable_variables) -> (trainable_variables, optimizer_variables)` is the pure
update on lists of arrays in that order. `opt.iterations` and `opt.learning_rate`
are Variables (assigning the learning rate between steps changes the next
update without recompiling), `apply_gradients([(grad, Variable), ...])` and
`apply(grads, trainable_variables)` update Variables in place,
`get_weights`/`set_weights` and `get_config`/`from_config` follow Keras.

Each update follows Keras 3: gradients are cast to the parameter dtype,
divided by `loss_scale_factor`, clipped (`clipnorm` per variable,
`global_clipnorm`, `clipvalue`), `weight_decay` is applied to the
parameters as `p - p * wd * lr`, then the update rule runs with the learning
rate for this step (`schedule(iterations)`), with `use_ema` the average
becomes `m * average + (1 - m) * params` (`m = ema_momentum`, 0 on the first
step) and every `ema_overwrite_frequency` steps the parameters take the
average's value, and `iterations` grows by one.
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

from lamina.backend import naming, tracking
from lamina.backend.variables import Variable
from lamina.optimizers import schedules as schedules_lib
from lamina.optimizers import transforms
from lamina.backend import registry as serialization


def _check_nonnegative(cls_name, **values):
    for arg, value in values.items():
        if value is not None and not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"{cls_name}: `{arg}` must be a number >= 0 or None. Received: {arg}={value!r}")


class Optimizer(tracking.Trackable):
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
        use_ema: bool. Keep an exponential moving average of the trained parameters (the optimizer's
            "average" variables); `fit` ends by writing it into the model (`finalize_variable_values`),
            and `callbacks.SwapEMAWeights` evaluates with it.
        ema_momentum: float in [0, 1]; the average's momentum.
        ema_overwrite_frequency: int >= 1 or None. With `use_ema`, overwrite the parameters with the
            average every this many steps.
        gradient_accumulation_steps: accepted with its Keras default (so Keras
            configs load); other values raise ValueError (lamina does not implement it).
        name: str; defaults to the snake-case class name ("adam", "adam_1", ...).
        lr: legacy alias of `learning_rate` (Keras 2), accepted with a warning.
        decay: legacy argument, ignored with a warning (as Keras 3 does).

    Subclasses implement `_update_rule()` (an optax transformation whose
    update takes `learning_rate=` and `iterations=`) and `_variable_layout()`.
    """

    _tracking_kind = "optimizer"

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
            if not isinstance(ema_momentum, (int, float)) or not 0 <= ema_momentum <= 1:
                raise ValueError(f"{cls_name}: `ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum!r}")
            if ema_overwrite_frequency is not None and (
                    isinstance(ema_overwrite_frequency, bool) or not isinstance(ema_overwrite_frequency, int)
                    or ema_overwrite_frequency < 1):
                raise ValueError(f"{cls_name}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}")
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
        self.name = name if name is not None else naming.auto_name(cls_name)
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
        # Keras creates these two with the optimizer; the slots come with `build`.
        self._iterations = Variable(np.int32(0), trainable=False, name="iteration")
        self._learning_rate_variable = None
        if not self._has_schedule:
            self._learning_rate_variable = Variable(np.float32(self._learning_rate), trainable=False,
                                                    name="learning_rate")
        self._slot_variables = []
        self._average_variables = []  # with use_ema: one per parameter, in the built list's order
        self._slot_template = None  # the slots' structure (set by build)
        self._variables = None  # the model Variables it was built for
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
        """The learning rate: a Variable for a float rate (assign it or the property to change it);
        a schedule's value at `iterations`."""
        if self._has_schedule:
            return self._learning_rate_at(jnp.asarray(int(self._iterations.value), jnp.int32))
        return self._learning_rate_variable

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules_lib.LearningRateSchedule) or (
            callable(value) and not hasattr(value, "shape") and not isinstance(value, Variable)
        ):
            if self.built:
                raise TypeError(
                    f"Optimizer '{self.name}': a schedule cannot replace the learning rate after the "
                    "optimizer is built (compiled steps would keep the old rule). Create the "
                    "optimizer with the schedule instead."
                )
            self._learning_rate = self._check_learning_rate(value)
            self._learning_rate_variable = None
            return
        if self._has_schedule:
            raise TypeError(
                f"Optimizer '{self.name}' was created with a learning rate schedule "
                f"({type(self._learning_rate).__name__}), so its learning rate is not settable. "
                "Create the optimizer with a float `learning_rate` if you need to set it."
            )
        if isinstance(value, Variable):
            value = value.value
        self._learning_rate = self._check_learning_rate(value)
        self._learning_rate_variable.assign(np.float32(self._learning_rate))

    @property
    def iterations(self):
        """The number of updates applied so far (a Variable)."""
        return self._iterations

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
            lr = jnp.asarray(self._learning_rate_variable.value, jnp.float32)
        state = {"iterations": iterations, "learning_rate": lr, "slots": self._update_rule().init(params)}
        if self.use_ema:
            state["average"] = jax.tree_util.tree_map(jnp.zeros_like, params)
        return state

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
        new_state = {"iterations": new_iterations, "learning_rate": new_lr, "slots": slots}
        if self.use_ema:
            new_params, new_state["average"] = self._moving_average(new_params, opt_state["average"], iterations)
        return new_params, new_state

    def _moving_average(self, params, average, iterations):
        """Keras's EMA step: `(params, average)` after it (`iterations`: before this update)."""
        def step(p, a):
            momentum = (iterations != 0).astype(p.dtype) * self.ema_momentum
            return momentum * a + (1 - momentum) * p

        average = jax.tree_util.tree_map(step, params, average)
        if self.ema_overwrite_frequency is not None:
            overwrite = (iterations + 1) % self.ema_overwrite_frequency == 0
            params = jax.tree_util.tree_map(lambda p, a: jnp.where(overwrite, a, p), params, average)
        return params, average

    # ------------------------------------------------------------------ weight decay exclusions
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for the given Variables or for names matching any of `var_names`.

        Must be called before `build`; the optimizer must be built with the Variables
        (not bare arrays) so their names can be matched.
        """
        if self.built:
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

    # ------------------------------------------------------------------ variables (Keras 3)
    @property
    def built(self):
        return self._slot_template is not None

    @property
    def variables(self):
        """`iterations`, the learning rate (float rates only), the averages (`use_ema`), then the slots:
        Keras's order."""
        rate = self._learning_rate_variable  # compared with None: a rate of 0.0 is a Variable that reads False
        head = [self._iterations] + ([rate] if rate is not None else [])
        return head + self._average_variables + self._slot_variables

    def finalize_variable_values(self, var_list):
        """With `use_ema`, write the averages into `var_list` (the Variables it was built on); `fit` calls
        this when it ends, as Keras does."""
        if not self.use_ema or not self._average_variables:
            return
        if len(var_list) != len(self._average_variables):
            raise ValueError(
                f"Optimizer '{self.name}': {len(var_list)} variables to overwrite but the optimizer keeps "
                f"averages of {len(self._average_variables)}. Was it built on this model's variables?")
        for variable, average in zip(var_list, self._average_variables):
            variable.assign(average.value)

    def _tracked_variables(self):
        return self.variables

    def build(self, var_list):
        """Create the slot variables for `var_list` (Variables or arrays, any pytree); `iterations` is kept."""
        leaves, treedef = jax.tree_util.tree_flatten(var_list, is_leaf=lambda x: isinstance(x, Variable))
        values = [v.value if isinstance(v, Variable) else v for v in leaves]
        self._build(var_list, self.init(jax.tree_util.tree_unflatten(treedef, values))["slots"])

    def _build(self, var_list, slots):
        """`build` with the slots' initial values already computed (the engine computes them in a cached program)."""
        leaves = jax.tree_util.tree_leaves(var_list, is_leaf=lambda x: isinstance(x, Variable))
        self._wd_mask = self._compute_wd_mask(leaves)
        self._variables = list(leaves) if all(isinstance(v, Variable) for v in leaves) and leaves else None
        self._slot_template = slots
        state = {"iterations": self._iterations.value, "slots": slots,
                 "learning_rate": None if self._has_schedule else self._learning_rate_variable.value}
        names = [v.path.replace("/", "_") if isinstance(v, Variable) else f"param_{i}" for i, v in enumerate(leaves)]
        self._average_variables = []
        self._average_template = jax.tree_util.tree_map(
            lambda v: 0, var_list, is_leaf=lambda x: isinstance(x, Variable))  # the parameters' structure
        if self.use_ema:
            self._average_variables = [Variable(jnp.zeros(v.shape, v.dtype), trainable=False, name=f"{name}_average")
                                       for v, name in zip(leaves, names)]
        self._slot_variables = [Variable(value, trainable=False, name=name)
                                for value, name in zip(self._state_to_list(state, slots_only=True),
                                                       self._slot_names(names))]
        self._jitted_apply = None

    def _slot_names(self, param_names):
        """Names of the slot variables, in layout order (`dense_kernel_momentum`, ...)."""
        out = []
        for group in self._variable_layout():
            if isinstance(group, str):
                out.append(group)
                continue
            n = jax.tree_util.tree_structure(self._slot_template[group[0]]).num_leaves
            for i in range(n):
                out += [f"{param_names[i] if i < len(param_names) else i}_{name}" for name in group]
        return out

    @property
    def state(self):
        """The pure core's state dict (see `init`), read from the variables; None before `build`."""
        if not self.built:
            return None
        return self._list_to_state([v.value for v in self.variables])

    @state.setter
    def state(self, state):
        """Write a state dict into the variables (the engine's write-back after compiled steps)."""
        for variable, value in zip(self.variables, self._state_to_list(state)):
            variable._value = value

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """One update on lists of arrays: `(trainable_variables, optimizer_variables)` after it (pure).

        `optimizer_variables` follows `self.variables`; `grads` and `trainable_variables`
        follow the list the optimizer was built on.
        """
        if not self.built:
            raise ValueError(f"Optimizer '{self.name}' is not built: call `optimizer.build(trainable_variables)`.")
        if len(optimizer_variables) != len(self.variables):
            raise ValueError(
                f"Optimizer '{self.name}': `optimizer_variables` must hold one value per entry of "
                f"`optimizer.variables` ({len(self.variables)}); received {len(optimizer_variables)}."
            )
        params, state = self.apply(list(grads), self._list_to_state(list(optimizer_variables)),
                                   list(trainable_variables))
        if self._variables is not None:
            params = [v.constraint(p) if v.constraint is not None else p for v, p in zip(self._variables, params)]
        return params, self._state_to_list(state)

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
                    f"got a {type(v).__name__}. For arrays use `stateless_apply`."
                )
        if not self.built or self._variables is None:
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
        old = self.state
        new_params, new_state = self._jitted_apply(grads, old, params)
        if missing:
            new_params = [params[i] if i in missing else p for i, p in enumerate(new_params)]
            slots = dict(new_state["slots"])
            for name, tree in slots.items():
                if isinstance(tree, list) and len(tree) == len(params):
                    slots[name] = [old["slots"][name][i] if i in missing else t for i, t in enumerate(tree)]
            new_state = dict(new_state, slots=slots)
            if self.use_ema:  # Keras averages every built variable, updated or not
                kept, averages = self._moving_average([params[i] for i in missing],
                                                      [old["average"][i] for i in missing], old["iterations"])
                average = list(new_state["average"])
                for i, p, a in zip(missing, kept, averages):
                    new_params[i], average[i] = p, a
                new_state["average"] = average
        for variable, value in zip(self.variables, self._state_to_list(new_state)):
            variable.assign(value)
        for v, value in zip(self._variables, new_params):
            v.assign(value)
            if v.constraint is not None:
                v.assign(v.constraint(v.value))
        return self.iterations

    # ------------------------------------------------------------------ weights (Keras order)
    def _state_to_list(self, state, slots_only=False):
        """The state as a list in `variables` order (`slots_only`: just the slots' part)."""
        out = []
        if not slots_only:
            out.append(state["iterations"])
            if not self._has_schedule:
                out.append(state["learning_rate"])
            if self.use_ema:
                out.extend(jax.tree_util.tree_leaves(state["average"]))
        slots = state["slots"]
        for group in self._variable_layout():
            if isinstance(group, str):
                out.append(slots[group])
                continue
            columns = [jax.tree_util.tree_leaves(slots[name]) for name in group]
            for row in zip(*columns):
                out.extend(row)
        return out

    def _list_to_state(self, values):
        """The inverse of `_state_to_list` (the slots' structure comes from `build`)."""
        it = iter(values)
        iterations = next(it)
        learning_rate = self._learning_rate_at(iterations) if self._has_schedule else next(it)
        average = None
        if self.use_ema:
            treedef = jax.tree_util.tree_structure(self._average_template)
            average = jax.tree_util.tree_unflatten(treedef, [next(it) for _ in range(treedef.num_leaves)])
        slots = dict(self._slot_template)
        for group in self._variable_layout():
            if isinstance(group, str):
                slots[group] = next(it)
                continue
            treedefs = {name: jax.tree_util.tree_structure(self._slot_template[name]) for name in group}
            columns = {name: [] for name in group}
            for _ in range(treedefs[group[0]].num_leaves):
                for name in group:
                    columns[name].append(next(it))
            for name in group:
                slots[name] = jax.tree_util.tree_unflatten(treedefs[name], columns[name])
        state = {"iterations": iterations, "learning_rate": learning_rate, "slots": slots}
        if self.use_ema:
            state["average"] = average
        return state

    def get_weights(self):
        """Optimizer variables as NumPy arrays, in Keras 3's `optimizer.variables` order ([] before `build`)."""
        if not self.built:
            return []
        return [np.asarray(v.value) for v in self.variables]

    def set_weights(self, weights):
        """Set the variables from arrays in Keras's order (the optimizer must be built); all checked first."""
        if not self.built:
            raise ValueError(
                f"Optimizer '{self.name}' is not built; call `optimizer.build(variables)` before "
                "`set_weights()`."
            )
        variables = self.variables
        if len(weights) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}': expected {len(variables)} weights, got {len(weights)}."
            )
        for i, (old, new) in enumerate(zip(variables, weights)):
            if tuple(old.shape) != tuple(np.shape(new)):
                raise ValueError(
                    f"Optimizer '{self.name}': weight {i} ({old.name}) has shape {tuple(old.shape)}, "
                    f"got {tuple(np.shape(new))}."
                )
        for variable, value in zip(variables, weights):
            variable.assign(np.asarray(value))

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
            learning_rate = float(self._learning_rate_variable.value)
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
