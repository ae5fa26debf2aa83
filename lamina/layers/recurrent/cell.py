"""`RecurrentCell`: what SimpleRNNCell, LSTMCell and GRUCell share, and how `RNN` runs any cell.

A cell computes one time step, `call(inputs [batch, features], states) -> (output, new_states)`,
with Keras's weights: `kernel` [features, gates * units], `recurrent_kernel` [units, gates * units]
and `bias`, gates side by side in Keras's order: `step` computes `gate(x_t @ kernel + bias + h @
recurrent_kernel, states)` (GRU its own way). Inside `RNN` a cell runs by `loop_step`: its step with
the pass's dropout masks bound.

The input product stays inside the loop: computing it for all steps first (one large product) made
the loop 2x slower on XLA's CPU backend, whose elementwise loop bodies read a slice of a stacked
array much more slowly than a fresh product.

Dropout follows Keras exactly: one mask per call of the RNN for the inputs and one for the
recurrent state (or one per gate, Keras's `implementation=1`, which `recurrent_dropout > 0`
implies), drawn from the cell's `SeedGenerator` before the loop, in Keras's order, whenever the
rate is positive (in inference too, so the seed advances as in Keras), applied only in training.
"""

import inspect

import jax
import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.random import SeedGenerator
from lamina.layers.base import Layer
from lamina.layers.core import _positive_int


def masked_matmul(x, kernel, masks):
    """`x @ kernel` with dropout `masks` on `x`: None, one mask, or one mask per block of `kernel`'s columns."""
    if masks is None:
        return jnp.matmul(x, kernel)
    if not isinstance(masks, list):
        return jnp.matmul(x * masks, kernel)
    blocks = jnp.split(kernel, len(masks), axis=1)
    return jnp.concatenate([jnp.matmul(x * m, k) for m, k in zip(masks, blocks)], axis=-1)


class LoopCell:
    """A cell that gives `RNN` its own step function (`loop_step`): the built-in cells and `StackedRNNCells`."""

    def loop_variables(self, training):
        """The variables `loop_step(training, ...)`'s step reads, if they are all it reads besides its
        arguments (then the loop can run on each slice of a batch apart, see `scan.run`); else None."""
        return None

    def loop_step(self, training, batch_size, input_shape):
        """`step(x_t, states) -> (output, new_states)` for one pass over a sequence of steps shaped
        `input_shape` (dropout masks drawn now, once, as Keras does)."""
        raise NotImplementedError


def loop_step(cell, training, batch_size, input_shape):
    """The step `RNN` runs for any cell: lamina's cells give theirs (unless a subclass replaced
    `call`); any other cell is called at every step, as Keras's RNN does."""
    if isinstance(cell, LoopCell) and getattr(type(cell).call, "_loop_call", False):
        return cell.loop_step(training, batch_size, input_shape)
    call = cell if callable(cell) else cell.call
    kwargs = {}
    if isinstance(cell, Layer):
        kwargs = {"training": training}
    else:
        try:
            if "training" in inspect.signature(cell.call).parameters:
                kwargs = {"training": training}
        except (TypeError, ValueError):
            pass

    def step(x_t, states):
        output, new_states = call(x_t, states, **kwargs)
        if not isinstance(new_states, (list, tuple)):
            new_states = [new_states]
        leaves = jax.tree_util.tree_leaves(new_states)
        treedef = jax.tree_util.tree_structure(states)
        if len(leaves) != treedef.num_leaves:
            raise ValueError(f"Cell {getattr(cell, 'name', cell)!r} returned {len(leaves)} state arrays for "
                             f"{treedef.num_leaves} states (its `state_size` is {cell.state_size}).")
        return output, jax.tree_util.tree_unflatten(treedef, leaves)

    return step


def loop_variables(cell, training):
    """`cell.loop_variables(training)` for lamina's cells run by their own `loop_step`, else None (any other
    cell may read arrays bound outside the loop)."""
    if isinstance(cell, LoopCell) and getattr(type(cell).call, "_loop_call", False):
        return cell.loop_variables(training)
    return None


def initial_state_of(cell, batch_size, dtype):
    """A cell's zero state for `batch_size` rows, as a list: its `get_initial_state`, else zeros of
    its `state_size` (Keras's rule)."""
    own = getattr(cell, "get_initial_state", None)
    if own is not None:
        state = own(batch_size=batch_size)
        return list(state) if isinstance(state, (list, tuple)) else [state]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [jnp.zeros((batch_size, d), dtype) for d in sizes]


def loop_call(call):
    """Mark a cell's `call` as the one its `loop_step` reproduces (a subclass replacing it is run as is)."""
    call._loop_call = True
    return call


def _clamped_rate(value):
    return min(1.0, max(0.0, float(value)))


class RecurrentCell(Layer, LoopCell):
    """Base of the built-in cells (see the module docstring).

    Subclasses set `gates` and implement `gate` or `step` (and may change the bias layout and initializer).
    """

    gates = 1
    #: Whether a dropout mask drawn at rate 1 is applied (SimpleRNN: yes; LSTM/GRU only use 0 < rate < 1).
    _applies_full_dropout = False

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, implementation=2, **kwargs):
        super().__init__(**kwargs)
        self.units = _positive_int(type(self).__name__, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _clamped_rate(dropout)
        self.recurrent_dropout = _clamped_rate(recurrent_dropout)
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.state_size = self.units
        self.output_size = self.units

    # ----- weights ------------------------------------------------------------------------

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) needs a known feature size (last axis); "
                             f"got input shape {input_shape}.")
        width = self.gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, width), name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, width), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(), name="bias", initializer=self._bias_initializer(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def get_initial_state(self, batch_size=None):
        """Zero states: a list of [batch, units] arrays."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [jnp.zeros((batch_size, d), self.dtype) for d in sizes]

    # ----- dropout -------------------------------------------------------------------------

    def _draw(self, shape, rate):
        count = self.gates if self.implementation == 1 and self.gates > 1 else None

        def one():
            if rate >= 1.0:  # Keras returns zeros without drawing
                return jnp.zeros(shape, self.dtype)
            keep = jax.random.bernoulli(self.seed_generator.next(), 1.0 - rate, shape)
            return jnp.where(keep, 1.0 / (1.0 - rate), 0.0).astype(self.dtype)

        return one() if count is None else [one() for _ in range(count)]

    def _applies(self, rate):
        return rate > 0.0 and (rate < 1.0 or self._applies_full_dropout)

    def dropout_masks(self, batch_size, input_shape, training):
        """`(input_masks, recurrent_masks)` for one pass over a sequence: drawn when the rates are
        positive (Keras's draws, in Keras's order), returned only when they apply (training)."""
        step_shape = (batch_size,) + tuple(input_shape)
        drawn_in = self._draw(step_shape, self.dropout) if self.dropout > 0 else None
        drawn_rec = self._draw((batch_size, self.units), self.recurrent_dropout) if self.recurrent_dropout > 0 else None
        use_in = training and self._applies(self.dropout)
        use_rec = training and self._applies(self.recurrent_dropout)
        return (drawn_in if use_in else None), (drawn_rec if use_rec else None)

    # ----- computing ------------------------------------------------------------------------

    def input_params(self, input_masks=None):
        """What `linear` multiplies the inputs by: (kernel, input bias or None, dropout masks)."""
        return self.kernel.value, self._input_bias(), input_masks

    def recurrent_params(self, recurrent_masks=None):
        """What `linear` multiplies the state `h` by: (recurrent kernel, recurrent bias or None, masks)."""
        return self.recurrent_kernel.value, None, recurrent_masks

    @staticmethod
    def linear(v, params):
        """`v @ kernel + bias`, `v` masked: one part of every gate, [batch, n] -> [batch, gates * units]."""
        kernel, bias, masks = params
        out = masked_matmul(v, kernel, masks)
        return out if bias is None else out + bias

    def gate(self, z, states):
        """The elementwise rest of a step: (output, new_states) from the gates' pre-activations
        `z` [batch, gates * units] and `states`."""
        raise NotImplementedError

    def step(self, inputs, states, input_masks=None, recurrent_masks=None):
        """One step: `inputs` [batch, features], `states` (a list) -> (output, new_states)."""
        z = self.linear(inputs, self.input_params(input_masks)) + self.linear(states[0],
                                                                              self.recurrent_params(recurrent_masks))
        return self.gate(z, states)

    def loop_variables(self, training):
        """The cell's weights, unless dropout masks (per-row arrays) are bound into the step."""
        if training and (self._applies(self.dropout) or self._applies(self.recurrent_dropout)):
            return None
        return list(self.weights)

    def loop_step(self, training, batch_size, input_shape):
        input_masks, recurrent_masks = self.dropout_masks(batch_size, input_shape, training)
        return lambda x, states: self.step(x, states, input_masks, recurrent_masks)

    @loop_call
    def call(self, inputs, states, training=False):
        """One step on its own: `inputs` [batch, features], `states` (list) -> (output, new_states)."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        input_masks = recurrent_masks = None
        if training:
            batch = inputs.shape[0]
            if self._applies(self.dropout):
                input_masks = self._draw(tuple(inputs.shape), self.dropout)
            if self._applies(self.recurrent_dropout):
                recurrent_masks = self._draw((batch, self.units), self.recurrent_dropout)
        return self.step(inputs, states, input_masks, recurrent_masks)

    def _input_bias(self):
        return None if self.bias is None else self.bias.value

    # ----- config ---------------------------------------------------------------------------

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
