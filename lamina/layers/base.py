"""The `Layer` base class: weights, building, calling, config.

A layer is written the Keras way:

    class Linear(Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
        def build(self, input_shape):                # input_shape: (batch, ..., features)
            self.w = self.add_weight(shape=(input_shape[-1], self.units))
        def call(self, inputs):                      # [batch, ..., features] -> [batch, ..., units]
            return inputs @ self.w

Calling a layer on arrays runs it eagerly; on symbolic tensors (`Input`) it
records a node for the functional API. `layer.stateless_call(trainable_variables,
non_trainable_variables, inputs)` runs the same code as a pure function of the
variables (see `lamina.backend.scope`). A layer is `Trackable`: its variables and
sublayers are found by the named walk of `lamina.backend.tracking`.

Masks (Keras's timestep masks, e.g. [batch, steps] from `Embedding(mask_zero=True)`) travel next to
values: `_call_with_mask` is one call that takes the first input's mask and returns the outputs'
(`compute_mask`, by default the input mask when `supports_masking`); functional graphs and
Sequential call layers through it, symbolic tensors carry `_keras_mask`, and a model reports its
outputs' mask to its caller (`report_output_mask`), so it reaches nested models and the loss.
"""

import functools
import inspect
import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config, naming, tracking
from lamina.backend.memory import check_fits
from lamina.backend.random import SeedGenerator
from lamina.backend.scope import StatelessScope, current_scope
from lamina.backend.variables import Variable, charge
from lamina.layers import symbolic

_context = threading.local()


def current_training():
    """The `training` flag of the innermost layer call in progress (None outside calls)."""
    return getattr(_context, "training", None)


class _TrainingContext:
    def __init__(self, training):
        self.training = training

    def __enter__(self):
        self.saved = getattr(_context, "training", None)
        _context.training = self.training

    def __exit__(self, *exc):
        _context.training = self.saved


class _MaskReport:
    """The frame of one layer call in which a model's `call` reports the mask of its outputs.

    Masks travel next to values, not on them: a functional graph keeps one per tensor, a
    Sequential passes it from layer to layer, and a model running either reports its outputs'
    mask to the frame of its own call (`report_output_mask`), which is how the mask of a nested
    model's outputs, and of the whole model's, reaches its caller (and the loss).
    """

    def __init__(self):
        self.reported = False
        self.mask = None

    def __enter__(self):
        if not hasattr(_context, "mask_reports"):
            _context.mask_reports = []
        _context.mask_reports.append(self)
        return self

    def __exit__(self, *exc):
        _context.mask_reports.pop()


def report_output_mask(mask):
    """Called by a model's `call`: `mask` (in the structure of its outputs) is the mask of what it returns."""
    reports = getattr(_context, "mask_reports", None)
    if reports:
        reports[-1].reported = True
        reports[-1].mask = mask


def flat_masks(mask, count=None):
    """A mask structure as a flat list with None kept as entries (jax's flatten drops None);
    padded with None to `count` entries (Keras pairs masks with outputs in flat order)."""
    flat = jax.tree_util.tree_leaves(mask, is_leaf=lambda m: m is None)
    if count is not None:
        flat = (flat + [None] * count)[:count]
    return flat


def structure_mask(masks, tree):
    """The masks of `tree`'s leaves (a list, None for no mask) in `tree`'s structure; None if all are None."""
    if all(m is None for m in masks):
        return None
    treedef = jax.tree_util.tree_structure(tree, is_leaf=symbolic.is_symbolic)
    if treedef.num_leaves == 1 and treedef == jax.tree_util.tree_structure(0):
        return masks[0]
    return jax.tree_util.tree_unflatten(treedef, masks)


class InputSpec:
    """What a layer accepts: rank bounds and fixed sizes of some axes.

    Args:
        ndim / min_ndim / max_ndim: exact / minimum / maximum rank.
        axes: {axis: size}, e.g. {-1: 8} for 8 input features.
        dtype: required dtype name, or None.
        layout: the expected axes in words, e.g. "(batch, rows, cols, channels)", named in the
            error when the rank is wrong.
    """

    def __init__(self, ndim=None, min_ndim=None, max_ndim=None, axes=None, dtype=None, shape=None, layout=None):
        self.layout = layout
        self.ndim = len(shape) if shape is not None else ndim
        self.min_ndim = min_ndim
        self.max_ndim = max_ndim
        self.axes = dict(axes or {})
        self.dtype = dtype
        self.shape = tuple(shape) if shape is not None else None
        if shape is not None:
            self.axes.update({i: d for i, d in enumerate(shape) if d is not None and i > 0})

    def check(self, layer, shape, index=0):
        """Raise a ValueError naming `layer` if `shape` does not fit."""
        where = f"Layer '{layer.name}' ({type(layer).__name__})"
        got = f"received input {index} with shape {_fmt(shape)}"
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            shaped = f", shaped {self.layout}" if self.layout else ""
            raise ValueError(f"{where} expects inputs of rank {self.ndim}{shaped}, but {got} (rank {rank}).")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f"{where} expects inputs of rank >= {self.min_ndim}, but {got}.")
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ValueError(f"{where} expects inputs of rank <= {self.max_ndim}, but {got}.")
        for axis, size in self.axes.items():
            if size is None or -rank > axis or axis >= rank:
                continue
            if shape[axis] is not None and shape[axis] != size:
                what = "features (last axis)" if axis in (-1, rank - 1) else f"entries on axis {axis}"
                raise ValueError(f"{where} expects inputs with {size} {what}, but {got}.")


def _fmt(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def shapes_of(tree):
    """Shapes of the array leaves of `tree`, in the same structure (what `build` receives)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree, is_leaf=symbolic.is_symbolic)
    shapes = [tuple(x.shape) if hasattr(x, "shape") else x for x in leaves]
    if treedef == jax.tree_util.tree_structure(0):
        return shapes[0]
    # shapes are tuples, which tree_unflatten would treat as nodes: box them, then unbox.
    boxed = jax.tree_util.tree_unflatten(treedef, [_ShapeLeaf(s) for s in shapes])
    return jax.tree_util.tree_map(lambda b: b.shape, boxed, is_leaf=lambda b: isinstance(b, _ShapeLeaf))


class _ShapeLeaf:
    def __init__(self, shape):
        self.shape = shape


_signature_cache = {}


def _call_accepts(layer, name):
    """Whether `type(layer).call` takes the keyword `name` (cached per class)."""
    key = (type(layer), name)
    if key not in _signature_cache:
        try:
            params = inspect.signature(layer.call).parameters
            _signature_cache[key] = name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        except (TypeError, ValueError):
            _signature_cache[key] = False
    return _signature_cache[key]


def _call_default(layer, name):
    """The default of `type(layer).call`'s parameter `name` when it is a bool, else None (cached per class)."""
    key = (type(layer), name, "default")
    if key not in _signature_cache:
        try:
            param = inspect.signature(layer.call).parameters.get(name)
        except (TypeError, ValueError):
            param = None
        default = None if param is None else param.default
        _signature_cache[key] = default if isinstance(default, bool) else None
    return _signature_cache[key]


def _to_array(x, dtype):
    """Arrays and array-likes -> jax arrays; floats cast to the layer's dtype."""
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, (np.ndarray, jax.Array, list, float, int, np.generic)) or hasattr(x, "__array__"):
        if isinstance(x, (bool, str)) or x is None:
            return x
        arr = jnp.asarray(x)
        if jnp.issubdtype(arr.dtype, jnp.floating) and arr.dtype != dtype:
            arr = arr.astype(dtype)
        return arr
    return x


def _marking_built(build):
    """Wrap a subclass's `build` so that `layer.build(shape)` called directly marks the layer built
    (as in Keras, where user `build` methods need not set `self.built`)."""

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        if args and getattr(self, "_build_shapes", None) is None:
            self._build_shapes = _plain_shapes(args[0])
        return result

    wrapper._marks_built = True
    return wrapper


_KERAS_ONLY_KEYS = ("quantization_config", "lora_rank", "lora_alpha")


def _call_names(layer, name):
    """Whether `type(layer).call` has a parameter called `name` (not only **kwargs; cached per class)."""
    key = (type(layer), name, "named")
    if key not in _signature_cache:
        try:
            _signature_cache[key] = name in inspect.signature(layer.call).parameters
        except (TypeError, ValueError):
            _signature_cache[key] = False
    return _signature_cache[key]


def _call_accepts_init(cls, name):
    """Whether `cls.__init__` names the parameter `name` explicitly."""
    try:
        return name in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


class DTypePolicy:
    """A single-dtype policy (`keras.DTypePolicy("float32")`): `name`, `compute_dtype`, `variable_dtype`."""

    def __init__(self, name="float32"):
        self.name = _policy_dtype(name, "DTypePolicy")

    @property
    def compute_dtype(self):
        return self.name

    @property
    def variable_dtype(self):
        return self.name

    def get_config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


class Layer(tracking.Trackable):
    """Base class of all layers (and of `Model`).

    Args:
        name: unique name; default from the class name (`dense`, `dense_1`, ...).
        trainable: False freezes the layer's weights.
        dtype: weight and compute dtype (default floatx()).
        input_shape / input_dim / batch_size / batch_input_shape: on a first
            layer of a `Sequential`, declare the input like Keras 2 scripts do.
        activity_regularizer: callable on the layer's output added to the loss.
    """

    _tracking_kind = "layer"
    # Attributes that reference layers or state without owning them (graph nodes, engine caches).
    _untracked = frozenset({"_inbound_nodes", "_own_trainable", "_own_non_trainable", "_eager_losses",
                            "_losses_override", "_output_shapes", "_batch_input_shape"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__ and not getattr(cls.__dict__["build"], "_marks_built", False):
            cls.build = _marking_built(cls.__dict__["build"])

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_size=None, batch_input_shape=None, activity_regularizer=None, input_length=None,
                 **kwargs):
        kwargs.pop("autocast", None)
        if kwargs:
            bad = ", ".join(sorted(kwargs))
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s): {bad}.")
        self.name = name or naming.auto_name(type(self).__name__)
        self._trainable = bool(trainable)
        self.dtype = _policy_dtype(dtype, self.name)
        self.built = False
        self.input_spec = None
        self._supports_masking = None  # None: decided by whether the class overrides `compute_mask`
        self._own_trainable = []  # the layer's own variables created trainable (frozen ones included)
        self._own_non_trainable = []
        self._eager_losses = []
        self._losses_override = None  # set by Trainer.compute_loss_and_updates: the forward pass's losses
        self._inbound_nodes = []
        self._output_shapes = None
        self._build_shapes = None  # the input shape(s) `build` got (`get_build_config`)
        if activity_regularizer is not None:
            from lamina import regularizers

            activity_regularizer = regularizers.get(activity_regularizer)
        self.activity_regularizer = activity_regularizer
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,) if input_length is None else (input_length, input_dim)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None

    # ----- weights -------------------------------------------------------------

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None, **unused):
        """Create a weight of `shape` owned by this layer and return its `Variable`."""
        from lamina import constraints, initializers, regularizers

        shape = tuple(int(d) for d in (shape or ()))
        dtype = config.standardize_dtype(dtype or self.dtype)
        name = name or f"variable_{len(self._own_trainable) + len(self._own_non_trainable)}"
        size = 1
        for d in shape:
            size *= d
        charge(shape, dtype, f"Layer '{self.name}': weight '{name}'")  # a loader's size guard
        check_fits(size * np.dtype(dtype).itemsize, f"Layer '{self.name}': weight '{name}' of shape {shape}")
        if initializer is None:
            initializer = "glorot_uniform" if jnp.issubdtype(dtype, jnp.floating) else "zeros"
        init = initializers.get(initializer)
        try:
            with jax.ensure_compile_time_eval():
                value = init(shape, dtype=dtype) if callable(init) else jnp.asarray(init, dtype)
                value = jnp.asarray(value, dtype)
        except Exception as err:  # an allocation failure inside XLA becomes a catchable MemoryError
            if "RESOURCE_EXHAUSTED" in str(err) or "out of memory" in str(err).lower():
                raise MemoryError(f"Layer '{self.name}': weight '{name}' of shape {shape} could not be "
                                  f"allocated: {err}") from None
            raise
        var = Variable(value, dtype=dtype, trainable=trainable and self.trainable, name=name,
                       regularizer=regularizers.get(regularizer), constraint=constraints.get(constraint))
        var.path = f"{self.name}/{name}"
        (self._own_trainable if trainable else self._own_non_trainable).append(var)
        return var

    add_variable = add_weight

    def _tracked_variables(self):
        """Own variables in Keras's order: created trainable first, then non-trainable (`vars/0`, ...)."""
        return self._own_trainable + self._own_non_trainable

    def _own_seed_generators(self):
        """SeedGenerators held in this layer's attributes (their states are non-trainable variables)."""
        return [v for v in vars(self).values() if isinstance(v, SeedGenerator)]

    def _own_state_variables(self):
        """State of this layer that is not a weight (not in `weights`, not saved with them): its seed
        generators' states; stateful recurrent layers add the states they carry between batches."""
        return [g.state for g in self._own_seed_generators()]

    def _flatten_layers(self, include_self=True, recursive=True):
        """This layer and the layers below it, in tracking order, each once."""
        if recursive:
            found = tracking.objects(self, follow=_is_layer)
        else:
            found = [self] + [c for _, c in tracking.children(self, named=False) if _is_layer(c)]
        return found if include_self else found[1:]

    def _own_metrics(self):
        """Metrics held in this layer's attributes (directly or in containers)."""
        return [c for _, c in tracking.children(self, named=False) if getattr(c, "_tracking_kind", None) == "metric"]

    def _tracked_metrics(self):
        """Metrics held by this layer and the layers below it (not those of nested models' trainers)."""
        found = list(self._own_metrics())
        for layer in self._flatten_layers(include_self=False):
            if "_engine_instance" not in vars(layer):  # a nested model keeps its own trainer metrics
                found += layer._own_metrics()
        return found

    @property
    def metrics(self):
        return self._tracked_metrics()

    @property
    def _layers(self):
        return [child for _, child in tracking.children(self, named=False) if _is_layer(child)]

    @property
    def layers(self):
        return self._layers

    @property
    def weights(self):
        """All weights (own, then sublayers', each once); seed states excluded, as in Keras."""
        return _unique([v for layer in self._flatten_layers() for v in layer._tracked_variables()])

    @property
    def variables(self):
        """All state: the weights plus the states of random generators and of stateful recurrent layers
        (each layer's own, then sublayers')."""
        found = []
        for layer in self._flatten_layers():
            found += layer._tracked_variables() + layer._own_state_variables()
        return _unique(found)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    @property
    def trainable_variables(self):
        if not self.trainable:
            return []
        return [v for v in self.variables if v.trainable]

    @property
    def non_trainable_variables(self):
        """Non-trainable weights (BatchNormalization statistics, frozen weights) and random seed states."""
        if not self.trainable:
            return self.variables
        return [v for v in self.variables if not v.trainable]

    # ----- dtypes and names, as Keras 3 exposes them --------------------------------------------------

    @property
    def dtype_policy(self):
        """The layer's dtype policy; lamina's policies are single dtypes (compute = variable dtype)."""
        return DTypePolicy(self.dtype)

    @property
    def compute_dtype(self):
        return self.dtype

    @property
    def variable_dtype(self):
        return self.dtype

    @property
    def input_dtype(self):
        """The dtype float inputs are cast to before `call`."""
        return self.dtype

    @property
    def path(self):
        """The layer's path (its name: lamina has no name scopes)."""
        return self.name

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freeze or unfreeze the layer and every layer below it, as Keras does."""
        value = bool(value)
        for layer in self._flatten_layers():
            layer._trainable = value
            for v in layer._own_trainable:
                v.trainable = value

    def get_weights(self):
        """The weights' values as a list of NumPy arrays (order of `weights`)."""
        return [v.numpy() for v in self.weights]  # numpy(): also for values split over processes

    def set_weights(self, weights):
        """Set all weights from a list of arrays; counts, shapes and values are all checked before any is set."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            names = ", ".join(v.path for v in own)
            raise ValueError(
                f"Layer '{self.name}' has {len(own)} weights ({names}) but set_weights received "
                f"{len(weights)} arrays."
            )
        values = []
        for var, value in zip(own, weights):
            shape = tuple(np.shape(value))
            if shape != var.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight '{var.path}' has shape {var.shape} but set_weights "
                    f"received an array of shape {shape}."
                )
            try:
                values.append(np.asarray(value, dtype=var.dtype))
            except (TypeError, ValueError) as err:
                raise ValueError(f"Layer '{self.name}': the value given for weight '{var.path}' is not "
                                 f"numeric ({err}).") from None
        for var, value in zip(own, values):
            var.assign(value)

    def save_own_variables(self, store):
        """Write this layer's own variables into `store` as {"0": array, "1": ...} (Keras's file layout)."""
        for i, v in enumerate(self._tracked_variables()):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store):
        """Read what `save_own_variables` wrote; count and shapes are checked before anything changes."""
        own = self._tracked_variables()
        if len(store.keys()) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expects {len(own)} variables, but the saved state has {len(store.keys())}."
            )
        values = [np.asarray(store[str(i)]) for i in range(len(own))]
        for var, value in zip(own, values):
            if tuple(value.shape) != var.shape:
                raise ValueError(
                    f"Layer '{self.name}': variable '{var.path}' has shape {var.shape}, but the saved value has "
                    f"shape {tuple(value.shape)}."
                )
        for var, value in zip(own, values):
            var.assign(value)

    def count_params(self):
        """Number of scalars in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no weights to count. Call it on "
                "data or on an `Input`, or call `build(input_shape)` first."
            )
        return int(sum(int(np.prod(v.shape)) for v in self.weights))

    # ----- the pure call ---------------------------------------------------------------

    def stateless_call(self, trainable_variables, non_trainable_variables, *args, return_losses=False,
                       return_mask=False, **kwargs):
        """Call the layer as a pure function of its state (Keras 3's signature).

        Args:
            trainable_variables: values for `self.trainable_variables`, in that order.
            non_trainable_variables: values for `self.non_trainable_variables` (statistics, seed states).
            *args, **kwargs: the call's arguments (e.g. `x, training=True`).
            return_losses: also return the losses added during the call plus the weight
                regularization penalties.
            return_mask: (lamina) also return the mask of the outputs (see `compute_mask`), last.

        Returns:
            `(outputs, non_trainable_variables)`, or `(outputs, non_trainable_variables, losses)`;
            the returned non-trainable values include updated statistics, advanced seed states and
            the states of stateful recurrent layers. With `return_mask`, the output mask follows.
            Nothing is assigned: the layer's variables keep their values. Works under `jax.jit`,
            `jax.grad` and `jax.vmap`.
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built, so it has no variables yet: call it on a batch of data "
                "or call `build(input_shape)` before `stateless_call`."
            )
        trainable, non_trainable = self.trainable_variables, self.non_trainable_variables
        for given, own, what in ((trainable_variables, trainable, "trainable_variables"),
                                 (non_trainable_variables, non_trainable, "non_trainable_variables")):
            if len(given) != len(own):
                raise ValueError(
                    f"Layer '{self.name}': `{what}` must hold one value per entry of `layer.{what}` "
                    f"({len(own)}), in that order; received {len(given)}."
                )
        mapping = list(zip(trainable, trainable_variables)) + list(zip(non_trainable, non_trainable_variables))
        with StatelessScope(mapping, collect_losses=return_losses) as scope:
            if not args:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            outputs, mask = self._call_with_mask(args, kwargs)
            if return_losses:
                losses = list(scope.losses) + self._regularization_losses()
        result = (outputs, [_current(scope, v) for v in non_trainable])
        if return_losses:
            result += (losses,)
        return result + (mask,) if return_mask else result

    # ----- losses ----------------------------------------------------------------

    def add_loss(self, loss):
        """Add a scalar to the training loss (e.g. an activity penalty) from inside `call`."""
        scope = current_scope()
        if scope is not None:
            scope.add_loss(loss)
        else:
            self._eager_losses.append(loss)

    def _regularization_losses(self):
        return [v.regularizer(v.value) for v in self.weights if v.regularizer is not None]

    @property
    def losses(self):
        """Losses added during the last call (or the current stateless call) plus weight penalties."""
        if self._losses_override is not None:
            return list(self._losses_override)
        scope = current_scope()
        if scope is not None:
            found = list(scope.losses)
        else:
            found = [loss for layer in self._flatten_layers() for loss in layer._eager_losses]
        return found + self._regularization_losses()

    # ----- building and calling ------------------------------------------------------

    def build(self, input_shape):
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def call(self, *args, **kwargs):
        """The layer's computation; subclasses implement it (Keras's base raises too)."""
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not have a `call()` method implemented: define "
            f"`call(self, inputs)` in {type(self).__name__} (it computes the layer's outputs).")

    def _maybe_build(self, shapes):
        if self.built:
            return
        self.build(shapes)
        self.built = True
        if self._build_shapes is None:
            self._build_shapes = _plain_shapes(shapes)

    def get_build_config(self):
        """`{"input_shape": shape}` the layer was built for (Keras's form, written into model files), or
        None when it is not built or was built without a known input shape."""
        if not self.built or self._build_shapes is None:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config):
        """Build the layer from `get_build_config()` (a loader calls it before setting the weights)."""
        if config and not self.built and config.get("input_shape") is not None:
            self.build(config["input_shape"])
            self.built = True

    def _check_inputs(self, inputs):
        if self.input_spec is None:
            return
        specs = self.input_spec if isinstance(self.input_spec, (list, tuple)) else [self.input_spec]
        arrays = [x for x in jax.tree_util.tree_leaves(inputs, is_leaf=symbolic.is_symbolic) if hasattr(x, "shape")]
        for i, (spec, x) in enumerate(zip(specs, arrays)):
            if spec is not None:
                spec.check(self, tuple(x.shape), i)

    def __call__(self, *args, **kwargs):
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without inputs.")
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        return self._call_with_mask(args, kwargs)[0]

    def _call_with_mask(self, args, kwargs, input_mask=None):
        """`(outputs, output mask)` of one call on arrays.

        `input_mask` is the mask carried by the first input (a graph run and Sequential pass it);
        a `mask=` given in `kwargs` takes its place. `call` receives the mask when it takes a `mask`
        argument; the output mask is what a model's `call` reports, else `compute_mask(inputs, mask)`
        when the layer supports masking, else None.
        """
        args = jax.tree_util.tree_map(lambda x: _to_array(x, self.dtype), args, is_leaf=lambda x: isinstance(x, Variable))
        inputs = args[0]
        if not self.built:
            self._check_inputs(inputs)  # a wrong rank is reported before `build` makes weights from it
            self._maybe_build(shapes_of(inputs))
        self._check_inputs(inputs)
        kwargs = dict(kwargs)
        training = kwargs.pop("training", None)
        if training is None:
            training = current_training()
        if training is None and _call_accepts(self, "training"):
            training = _call_default(self, "training")  # Keras's rule: explicit > context > `call`'s default
        if _call_accepts(self, "training"):
            kwargs["training"] = bool(training) if training is not None else False
        given = kwargs.pop("mask", None)
        if given is not None:  # passed by the caller: to `call` if it takes it (named or **kwargs)
            mask = jax.tree_util.tree_map(jnp.asarray, given)
            if _call_accepts(self, "mask"):
                kwargs["mask"] = mask
        else:  # carried by the input: to a `call` that names `mask` (Keras's rule)
            mask = input_mask
            if _call_names(self, "mask"):
                kwargs["mask"] = mask
        if current_scope() is None:
            self._eager_losses = []
        with _TrainingContext(bool(training) if training is not None else None), _MaskReport() as report:
            outputs = self.call(*args, **kwargs)
        if self.activity_regularizer is not None:
            for out in jax.tree_util.tree_leaves(outputs):
                self.add_loss(self.activity_regularizer(out) / out.shape[0])
        if report.reported:
            return outputs, report.mask
        if self.supports_masking:
            return outputs, self.compute_mask(inputs, mask)
        return outputs, None

    def _symbolic_call(self, args, kwargs):
        inputs = args[0]
        self._check_inputs(inputs)
        if not self.built:
            self._maybe_build(shapes_of(inputs))
            self._check_inputs(inputs)
        input_mask = structure_mask([getattr(t, "_keras_mask", None) if symbolic.is_symbolic(t) else None
                                     for t in jax.tree_util.tree_leaves(inputs, is_leaf=symbolic.is_symbolic)], inputs)
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            # Keras's rule: a layer that defines `compute_output_shape` gives its symbolic outputs from it (unknown
            # sizes stay None), and its output mask from `compute_mask`; the others are traced with stand-in sizes
            # for the unknown dims.
            outputs = _spec_of_shape(self.compute_output_shape(shapes_of(inputs)), self.dtype)
            mask = input_mask if kwargs.get("mask") is None else kwargs["mask"]
            output_mask = None
            if mask is not None and self.supports_masking:
                output_mask = symbolic.compute_output_spec(self.compute_mask, (inputs, mask), {})
        else:
            outputs, output_mask = symbolic.compute_output_spec(
                lambda a, k, m: self._call_with_mask(a, k, m), (args, kwargs, input_mask), {})
        flat_outputs = symbolic.symbolic_leaves(outputs)
        for tensor, mask in zip(flat_outputs, flat_masks(output_mask, len(flat_outputs))):
            tensor._keras_mask = mask
        if input_mask is not None and kwargs.get("mask") is None and output_mask is None and not self.supports_masking:
            warnings.warn(
                f"Layer '{self.name}' ({type(self).__name__}) received an input with a mask but does not support "
                "masking, so the layers after it will not see the mask (as in Keras).", stacklevel=3)
        node = symbolic.Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        self._output_shapes = jax.tree_util.tree_map(lambda t: t.shape, outputs, is_leaf=symbolic.is_symbolic)
        return outputs

    # ----- masks ----------------------------------------------------------------------------------

    @property
    def supports_masking(self):
        """Whether the layer's outputs carry a mask (`compute_mask`); by default, as in Keras, whether
        the class overrides `compute_mask`."""
        if self._supports_masking is None:
            return type(self).compute_mask is not Layer.compute_mask
        return self._supports_masking

    @supports_masking.setter
    def supports_masking(self, value):
        self._supports_masking = bool(value)

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs for these inputs and input `mask` (default: the input mask, unchanged).

        A mask is a boolean array: for sequences [batch, steps], True where a step holds data.
        """
        return mask

    def compute_output_shape(self, input_shape):
        """Output shape(s) for an input of `input_shape` (traced, no compute)."""
        spec = symbolic.KerasTensor(input_shape, self.dtype)
        out = symbolic.compute_output_spec(self.__call__, (spec,), {})
        return jax.tree_util.tree_map(lambda t: t.shape, out, is_leaf=symbolic.is_symbolic)

    @property
    def output(self):
        """The symbolic output of this layer's only call in a functional graph."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has not been called on a symbolic input.")
        return self._inbound_nodes[-1].outputs

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has not been called on a symbolic input.")
        node = self._inbound_nodes[-1]
        return node.args[0]

    @property
    def output_shape(self):
        if self._output_shapes is None:
            raise AttributeError(f"Layer '{self.name}' has no known output shape yet (it was never called).")
        return self._output_shapes

    # ----- config -------------------------------------------------------------------

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict (extend in subclasses)."""
        # Like Keras 3, the input shape is not part of a layer's config: a Sequential or
        # functional config records it in its InputLayer.
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        if "batch_shape" in config and "batch_input_shape" not in config:
            config["batch_input_shape"] = config.pop("batch_shape")
        for key in _KERAS_ONLY_KEYS:  # written by Keras 3 into layer configs; inert when null / 0
            if config.get(key) and not _call_accepts_init(cls, key):
                raise ValueError(f"{cls.__name__}.from_config: `{key}={config[key]!r}` is not supported by lamina.")
            if not _call_accepts_init(cls, key):
                config.pop(key, None)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _policy_dtype(dtype, layer_name):
    """The dtype a layer computes and stores in, from a dtype name or a Keras DTypePolicy (name or config).

    Mixed policies ("mixed_float16", "mixed_bfloat16": float16 math on float32 weights) are refused rather
    than silently run in float32: lamina has no mixed precision.
    """
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", dtype.get("name"))
    elif dtype is not None and not isinstance(dtype, str) and hasattr(dtype, "name") and not hasattr(dtype, "itemsize"):
        dtype = dtype.name  # a DTypePolicy-like object
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        raise ValueError(f"Layer '{layer_name}': the dtype policy {dtype!r} (mixed precision) is not supported by "
                         "lamina; use a single dtype such as 'float32' or 'bfloat16'.")
    return config.standardize_dtype(dtype)


def _plain_shapes(shapes):
    """Shapes as JSON-friendly lists (None for unknown sizes), keeping list / dict nesting."""
    if isinstance(shapes, dict):
        return {k: _plain_shapes(v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and all(d is None or isinstance(d, (int, np.integer)) for d in shapes):
        return [None if d is None else int(d) for d in shapes]
    if isinstance(shapes, (list, tuple)):
        return [_plain_shapes(s) for s in shapes]
    return None


def _is_layer(obj):
    return isinstance(obj, Layer)


def _spec_of_shape(shape, dtype):
    """KerasTensors for what `compute_output_shape` returned: one shape, or a list / dict of shapes."""
    if isinstance(shape, dict):
        return {k: _spec_of_shape(v, dtype) for k, v in shape.items()}
    shape = tuple(shape)
    if all(d is None or isinstance(d, (int, np.integer)) for d in shape):
        return symbolic.KerasTensor(shape, dtype)
    return [_spec_of_shape(s, dtype) for s in shape]


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _current(scope, variable):
    """The variable's value at the end of a stateless call: assigned or mapped in the scope."""
    found = scope.get_current_value(variable)
    return variable._value if found is None else found
