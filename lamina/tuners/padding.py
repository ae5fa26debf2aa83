"""Dense stacks of different widths and depths trained in one program, padded to one shape.

A search's trials often differ only in the sizes of a `Sequential` stack of `Dense` layers (units
per hidden layer, number of hidden layers). `embed(models)` gives each model a *padded twin*: one
shared architecture of K hidden `PaddedDense(W)` layers (K, W: the largest depth and width) and
the models' output layer. The twins differ only in their variables, so they form one `Population`
(one compiled program). `restore(twin, model)` copies the trained weights and optimizer state back
into the model (the part of each array the model owns).

Why a twin trains as its model would alone:

* A hidden unit the model lacks is multiplied by 0 (`units_mask`, a non-trainable variable): its
  output is 0 whatever its weights, so it adds nothing to the next layer and gets no gradient.
* A hidden layer the model lacks has `active` 0 and passes its input through (its weights get no
  gradient). The model's own layers come first; the missing ones sit just before the output layer.
* The extra weights start at zero, their gradients are exactly zero, and so they stay zero under
  lamina's optimizers; they add nothing to regularization losses.
* The model's own weights meet the same values; products now also add exact zeros, so results can
  differ from the model's own program by float rounding only (the matrix products may group their
  sums differently).

What can be padded (`signature` is None otherwise): a built lamina `Sequential` of 2-D input whose
layers are all `Dense`, at least one hidden; the hidden layers share one config apart from `units`
(no activity regularizers: one would see the pass-through); no constraints (one may move the zeros);
an optimizer that is not built yet (a fresh trial's). Models whose optimizers are all *plain*
(`optimizer_choice.plain`) pad together whatever their classes: each twin then gets an
`OptimizerChoice` that applies its model's optimizer. Others pad with models of their own class.

Padding pays when compiling is the cost (`worth_padding`): a twin computes as much as the largest model,
so models of very different sizes pad together only while they are small (per-operation overhead, not
arithmetic, sets a small model's step time); otherwise the padding may waste at most half the work.

The twins' layers are named explicitly, so making them advances no automatic name ("dense_3").
"""

import copy

import jax.numpy as jnp
import numpy as np

from lamina.layers.core import Dense
from lamina.layers.input_layer import InputLayer
from lamina.models.sequential import Sequential
from lamina.training.engine import SMALL_MODEL_WEIGHTS
from lamina.tuners import optimizer_choice

#: Padding may make the members' work at most this much larger in all (when the twin is not small).
MAX_PADDED_WORK = 1.5

#: Config keys that padding may change or that do not change the program.
_FREE = ("name", "units", "kernel_initializer", "bias_initializer")


class PaddedDense(Dense):
    """`Dense` whose units beyond the member's own are masked to 0 and which, inactive, passes its input
    through: [batch, d_in] -> [batch, units] (inactive: d_in == units)."""

    def build(self, input_shape):
        super().build(input_shape)
        self.units_mask = self.add_weight(shape=(self.units,), initializer="ones", trainable=False,
                                          name="units_mask")
        self.active = self.add_weight(shape=(), initializer="ones", trainable=False, name="active")

    def call(self, inputs):
        outputs = super().call(inputs) * self.units_mask.value
        if inputs.shape[-1] != self.units:  # the first hidden layer is always active
            return outputs
        return jnp.where(self.active.value > 0, outputs, inputs)


def _plain_config(layer):
    return {k: v for k, v in layer.get_config().items() if k not in _FREE}


def _layers(model):
    """(input width, hidden Dense layers, output Dense) of a paddable model, else None."""
    if type(model) is not Sequential or not model.built or not getattr(model, "compiled", False):
        return None
    shape = model.input_shape
    layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    if len(shape or ()) != 2 or shape[1] is None or len(layers) < 2 or any(type(la) is not Dense for la in layers):
        return None
    hidden, output = layers[:-1], layers[-1]
    first = _plain_config(hidden[0])
    if any(_plain_config(layer) != first for layer in hidden[1:]) or not all(la.trainable for la in layers):
        return None
    if any(la.kernel_constraint or la.bias_constraint for la in layers) or any(la.activity_regularizer for la in hidden):
        return None
    if model.optimizer is None or model.optimizer.built:
        return None
    return shape[1], hidden, output


def signature(model):
    """What models must share to be padded together (a hashable), or None when `model` cannot be padded."""
    found = _layers(model)
    if found is None:
        return None
    width, hidden, output = found
    compile_config = {k: v for k, v in (model._compile_config or {}).items() if k != "optimizer"}
    optimizer = "plain" if optimizer_choice.plain(model.optimizer) else type(model.optimizer).__name__
    return width, repr(_plain_config(hidden[0])), repr(_plain_config(output)), optimizer, repr(compile_config)


def _padded_shape(found):
    """(depth, width) of the twins of models whose `_layers` are `found`: the largest of each."""
    return (max(len(hidden) for _, hidden, _ in found),
            max(layer.units for _, hidden, _ in found for layer in hidden))


def worth_padding(models):
    """Whether padding `models` (same `signature`) together costs less than it saves: the twin has at most
    `SMALL_MODEL_WEIGHTS` weights, or the twins' work is at most `MAX_PADDED_WORK` times the models' own."""
    found = [_layers(m) for m in models]
    depth, width = _padded_shape(found)
    inputs, _, output = found[0]
    sizes = [inputs] + [width] * depth + [output.units]
    twin = sum(a * b + b for a, b in zip(sizes, sizes[1:]))  # kernels and biases
    return twin <= SMALL_MODEL_WEIGHTS or len(models) * twin <= MAX_PADDED_WORK * sum(m.count_params() for m in models)


def embed(models):
    """One padded twin per model (compiled like it, with a fresh copy of its optimizer; see the module
    docstring). Raises ValueError when the models cannot be padded together."""
    found = [_layers(m) for m in models]
    if any(f is None for f in found) or len({signature(m) for m in models}) != 1:
        raise ValueError("padding: the models are not Dense stacks that differ only in widths and depth.")
    depth, width = _padded_shape(found)
    twins = []
    for model, (inputs, hidden, output) in zip(models, found):
        hidden_config = {**_plain_config(hidden[0]), "kernel_initializer": "zeros", "bias_initializer": "zeros"}
        output_config = {**_plain_config(output), "units": output.units, "kernel_initializer": "zeros",
                         "bias_initializer": "zeros"}
        twin = Sequential([InputLayer(shape=(inputs,), name="input")]
                          + [PaddedDense(width, name=f"hidden_{i}", **hidden_config) for i in range(depth)]
                          + [Dense(name="output", **output_config)], name="padded_twin")
        try:
            compile_config = copy.deepcopy({k: v for k, v in model._compile_config.items() if k != "optimizer"})
        except Exception as error:
            raise ValueError(f"padding: the compile arguments cannot be copied ({error}).") from error
        twin.compile(optimizer=_twin_optimizer(model.optimizer, models), **compile_config)
        _fill(twin, model, hidden)
        twins.append(twin)
    return twins


def _twin_optimizer(optimizer, models):
    """A fresh copy of `optimizer`; when the models' optimizers are of several (plain) classes, an
    `OptimizerChoice` of one of each class (the first model's of each) that picks `optimizer`'s."""
    copy_of = lambda o: type(o).from_config(o.get_config())  # noqa: E731
    first = {}
    for model in models:
        first.setdefault(optimizer_choice.kind_of(model.optimizer), model.optimizer)
    if len(first) == 1:
        return copy_of(optimizer)
    own = optimizer_choice.kind_of(optimizer)
    kinds = [copy_of(optimizer if kind == own else other) for kind, other in first.items()]
    return optimizer_choice.OptimizerChoice(kinds, list(first).index(own), optimizer.get_config()["learning_rate"],
                                            name="optimizer_choice")


def _fill(twin, model, hidden):
    """The twin's variables from `model`'s (`hidden`: its hidden layers): its weights in the leading corner
    (the rest stays at the zeros the twin was made with), its units and layers marked in the masks."""
    for target, source in _pairs(twin, model):
        padded = np.asarray(target.value).copy()
        padded[_corner(source.shape)] = np.asarray(source.value)
        target.assign(padded)
    for i, layer in enumerate(layer for layer in twin.layers if isinstance(layer, PaddedDense)):
        own = hidden[i].units if i < len(hidden) else 0  # a layer the model lacks: no unit of its own
        mask = np.zeros(layer.units, np.float32)
        mask[:own] = 1
        layer.units_mask.assign(mask)
        layer.active.assign(np.float32(i < len(hidden)))


def _corner(shape):
    """The index of an array's leading corner of `shape`."""
    return tuple(slice(0, n) for n in shape)


def _pairs(twin, model):
    """(twin variable, model variable) for each trainable variable of `model`: its hidden layers are the
    twin's first ones, its output layer the twin's last."""
    mine = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    theirs = [layer for layer in twin.layers if not isinstance(layer, InputLayer)]
    layers = list(zip(theirs, mine[:-1])) + [(theirs[-1], mine[-1])]
    return [pair for a, b in layers for pair in zip(a.trainable_variables, b.trainable_variables)]


def restore(twin, model):
    """Copy `twin`'s trained weights and optimizer state into `model` (the corner of each array it owns)."""
    pairs = _pairs(twin, model)
    for source, target in pairs:
        target.assign(np.asarray(source.value)[_corner(target.shape)])
    if not twin.optimizer.built:
        return
    index = {id(v): i for i, v in enumerate(twin.trainable_variables)}
    where = [index[id(source)] for source, _ in pairs]
    params = [target for _, target in pairs]

    def own(tree):  # a list with one entry per twin variable -> the model's corners; anything else as it is
        if isinstance(tree, list) and len(tree) == len(index):
            return [np.asarray(tree[i])[_corner(v.shape)] for i, v in zip(where, params)]
        return tree

    state = twin.optimizer._list_to_state([v.value for v in twin.optimizer.variables])
    slots = state["slots"]
    if isinstance(twin.optimizer, optimizer_choice.OptimizerChoice):
        slots = optimizer_choice.own_slots(slots, optimizer_choice.kind_of(model.optimizer))
    state = {**state, "slots": {name: own(tree) for name, tree in slots.items()}}
    if "average" in state:
        state["average"] = own(state["average"])
    optimizer = model.optimizer
    if model._engine.optimizer_stale():
        optimizer._build(model.trainable_variables, state["slots"])
    optimizer.set_weights([np.asarray(a) for a in optimizer._state_to_list(state)])
