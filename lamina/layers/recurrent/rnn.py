"""`RNN(cell)`: runs a cell over the time axis; the base of SimpleRNN, LSTM and GRU.

Input [batch, timesteps, features...]; output the last step's output [batch, units], or every
step's [batch, timesteps, units] with `return_sequences`; `return_state` appends the final states.
The loop is `scan.run` (one `lax.scan`; see `cell.py` for how cells run in it). A `mask` [batch, timesteps] (given, or carried from `Embedding(mask_zero=
True)` / `Masking`) skips steps: states carry over and the output repeats (or is zero with
`zero_output_for_mask`). With `return_sequences` the mask passes on to the next layer.

`stateful=True` keeps the final states of each batch as the next batch's initial states (row i
continues row i). They live in non-trainable variables that are not weights (`layer.states`), so
they flow through lamina's compiled `fit` / `evaluate` / `predict` and persist between calls
(Keras 3 on JAX drops them there); `reset_states()` zeroes them.
"""

import jax
import jax.numpy as jnp

from lamina.backend import registry
from lamina.backend.variables import Variable
from lamina.layers.base import Layer, _fmt
from lamina.layers.recurrent import scan
from lamina.layers.recurrent.cell import initial_state_of, loop_step, loop_variables
from lamina.layers.recurrent.stacked import StackedRNNCells, _check_cell

_FLAGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")


class RNN(Layer):
    """A recurrent layer around `cell` (a cell, or a list of cells for `StackedRNNCells`).

    Args:
        cell: an object with `call(inputs, states[, training]) -> (output, new_states)` and
            `state_size` (an int or a list of ints), optionally `output_size` and
            `get_initial_state(batch_size)`; a Layer (built here) or a plain object.
        return_sequences: return every step's output instead of the last.
        return_state: also return the final states (`output, *states`).
        go_backwards: process the sequence backwards (outputs in processing order).
        stateful: carry states across batches (needs a fixed batch size).
        unroll: unroll the loop (same answer; XLA sees every step).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call: `layer(sequences, initial_state=None, mask=None, training=False)`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        _check_cell(cell, f"{type(self).__name__}")
        state_size = cell.state_size
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError(f"{type(self).__name__}: the cell's `state_size` must be an int or a list of ints; got "
                             f"{state_size!r}.")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.state_size = [state_size] if isinstance(state_size, int) else list(state_size)
        self.single_state = isinstance(state_size, int)
        self.states = None  # the carried state Variables (stateful), in the structure of the initial state

    # ----- shapes -----------------------------------------------------------------------------

    def _describe(self):
        return f"Layer '{self.name}' ({type(self).__name__})"

    #: The rank sequences must have (None: at least 3, for cells over feature maps).
    sequence_rank = None

    def _check_sequence_shape(self, shape):
        rank = self.sequence_rank
        if len(shape) < 3 or (rank is not None and len(shape) != rank):
            expected = f"rank {rank}" if rank is not None else "rank >= 3"
            raise ValueError(
                f"{self._describe()} expects sequences of {expected}, shaped (batch, timesteps, features), but "
                f"received an input of shape {_fmt(shape)} (rank {len(shape)}). Give every sample a time axis "
                "(e.g. x.reshape(batch, timesteps, features), or an `Embedding` / `Reshape` before this layer)."
            )

    def _check_inputs(self, inputs):
        self._check_sequence_shape(tuple(jax.tree_util.tree_leaves(inputs)[0].shape))
        super()._check_inputs(inputs)

    def build(self, sequences_shape, initial_state_shape=None):
        self._check_sequence_shape(tuple(sequences_shape))
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(
                    f"{self._describe()} is stateful, so it needs a fixed batch size, but its input shape is "
                    f"{_fmt(sequences_shape)}. Declare it, e.g. `Input(batch_shape=(32, timesteps, features))` or "
                    "`batch_input_shape=` / `batch_size=` on the first layer."
                )
            initial = self.get_initial_state(batch)
            flat, treedef = jax.tree_util.tree_flatten(initial)
            variables = []
            for i, value in enumerate(flat):
                variable = Variable(value, trainable=False, name="rnn_state")
                variable.path = f"{self.name}/rnn_state_{i}"
                variables.append(variable)
            self.states = jax.tree_util.tree_unflatten(treedef, variables)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        """The input mask with `return_sequences` (else None); None for the states."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # ----- states -------------------------------------------------------------------------------

    def _state_variables(self):
        return jax.tree_util.tree_leaves(self.states, is_leaf=lambda v: isinstance(v, Variable))

    def _own_state_variables(self):
        return super()._own_state_variables() + self._state_variables()

    def get_initial_state(self, batch_size):
        """Zero states for `batch_size` rows: a list with one entry per state (per cell when stacked)."""
        return initial_state_of(self.cell, batch_size, self.dtype)

    def reset_state(self):
        """Zero the carried states of a stateful layer."""
        for variable in self._state_variables():
            variable.assign(jnp.zeros_like(variable.value))

    def reset_states(self, states=None):
        """Zero the carried states, or set them to `states` (Keras 2's form: arrays in state order)."""
        if states is None:
            return self.reset_state()
        variables = self._state_variables()
        values = [states] if not isinstance(states, (list, tuple)) else jax.tree_util.tree_leaves(list(states))
        if not self.stateful or len(values) != len(variables):
            raise ValueError(f"{self._describe()}: reset_states(states) needs a stateful layer and "
                             f"{len(variables)} arrays; got {len(values)}.")
        for variable, value in zip(variables, values):
            variable.assign(value)

    # ----- calling ------------------------------------------------------------------------------

    def _initial_states(self, sequences, initial_state):
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                if batch != jax.tree_util.tree_leaves(self.states)[0].shape[0]:
                    raise ValueError(
                        f"{self._describe()} is stateful with batch size {self.states_batch_size}, but received a batch "
                        f"of {batch} sequences. Feed batches of exactly that size (e.g. batch_size="
                        f"{self.states_batch_size} in fit/predict, with a sample count divisible by it)."
                    )
                return jax.tree_util.tree_map(lambda v: v.value, self.states,
                                              is_leaf=lambda v: isinstance(v, Variable))
            return self.get_initial_state(batch)
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        expected = jax.tree_util.tree_structure(self.get_initial_state(1))
        leaves = [jnp.asarray(s, self.dtype) for s in jax.tree_util.tree_leaves(given)]
        if len(leaves) != expected.num_leaves:
            raise ValueError(f"{self._describe()} expects {expected.num_leaves} initial state array(s) (state sizes "
                             f"{self.state_size}), but received {len(leaves)}.")
        return jax.tree_util.tree_unflatten(expected, leaves)

    @property
    def states_batch_size(self):
        return None if self.states is None else jax.tree_util.tree_leaves(self.states)[0].shape[0]

    def _time_mask(self, mask, sequences):
        """A mask as bool [time, batch] (a step counts when any of its entries is True), checked."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask = jnp.asarray(mask)
        if mask.ndim < 2 or tuple(mask.shape[:2]) != tuple(sequences.shape[:2]):
            raise ValueError(
                f"{self._describe()}: `mask` must be shaped (batch, timesteps) = {_fmt(sequences.shape[:2])} like the "
                f"inputs, but has shape {_fmt(mask.shape)}."
            )
        mask = mask.astype(bool)
        if mask.ndim > 2:
            mask = jnp.any(mask, axis=tuple(range(2, mask.ndim)))
        return jnp.transpose(mask)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if sequences.shape[1] == 0:
            raise ValueError(f"{self._describe()} received sequences with 0 timesteps (shape {_fmt(sequences.shape)}).")
        states = self._initial_states(sequences, initial_state)
        time_mask = self._time_mask(mask, sequences)
        step = loop_step(self.cell, bool(training), sequences.shape[0], tuple(sequences.shape[2:]))
        time_major = jnp.swapaxes(sequences, 0, 1)
        last, outputs, states = scan.run(step, time_major, states, time_mask, self.go_backwards,
                                         self.unroll, self.zero_output_for_mask, self.return_sequences,
                                         owner=self._describe(),
                                         variables=loop_variables(self.cell, bool(training)))
        if self.stateful:
            for variable, value in zip(self._state_variables(), jax.tree_util.tree_leaves(states)):
                variable.assign(value)
        output = jnp.swapaxes(outputs, 0, 1) if self.return_sequences else last
        if self.return_state:
            return (output, *states)
        return output

    # ----- config -------------------------------------------------------------------------------

    def get_config(self):
        config = {**super().get_config(), **{flag: getattr(self, flag) for flag in _FLAGS}}
        config["cell"] = registry.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cell"] = registry.deserialize_keras_object(config["cell"], None, "layer", custom_objects)
        return super().from_config.__func__(cls, config)


class BuiltinRNN(RNN):
    """SimpleRNN, LSTM and GRU: an `RNN` around a cell it makes itself from its own arguments.

    Subclasses set `cell_class` and `cell_name`; the cell's configuration is part of the layer's
    (Keras's layout: the layer's config holds the cell's keys instead of a `cell` entry), and the
    cell's settings read through the layer (`layer.units`, `layer.dropout`, ...).
    """

    cell_class = None
    cell_name = None
    config_drops = ()
    sequence_rank = 3

    def __init__(self, cell_args, use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: `use_cudnn` must be 'auto', True or False; got {use_cudnn!r}.")
        cell = self.cell_class(name=self.cell_name, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
                               **cell_args)
        super().__init__(cell, **kwargs)
        self.use_cudnn = use_cudnn

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = {k: v for k, v in self.cell.get_config().items() if k not in ("name", "trainable", "dtype")}
        config.update(cell_config)
        config["activity_regularizer"] = registry.serialize_keras_object(self.activity_regularizer)
        for key in self.config_drops:
            config.pop(key, None)
        return config

    @classmethod
    def from_config(cls, config):
        return Layer.from_config.__func__(cls, config)


def _reads_cell(name):
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


for _name in ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
              "reset_after", "implementation"):
    setattr(BuiltinRNN, _name, _reads_cell(_name))
