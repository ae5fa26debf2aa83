"""`SimpleRNNCell` and `SimpleRNN`: `h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`."""

from lamina.layers.recurrent.cell import RecurrentCell
from lamina.layers.recurrent.rnn import BuiltinRNN


class SimpleRNNCell(RecurrentCell):
    """The fully connected recurrent step; weights `kernel` [features, units], `recurrent_kernel`
    [units, units], `bias` [units]. State: `[h]`, [batch, units]; output `h`.

    Args: as Keras's SimpleRNNCell (`units`, `activation="tanh"`, `use_bias`, initializers,
    regularizers, constraints, `dropout`, `recurrent_dropout`, `seed`).
    """

    gates = 1
    _applies_full_dropout = True  # Keras applies SimpleRNN's masks whenever they exist

    def gate(self, z, states):
        out = self.activation(z)
        return out, [out]


class SimpleRNN(BuiltinRNN):
    """A fully connected RNN: [batch, timesteps, features] -> [batch, units] (or [batch, timesteps, units]
    with `return_sequences`); `return_state` adds the final state [batch, units].

    Args: the cell's (see `SimpleRNNCell`), `RNN`'s (`return_sequences`, `return_state`, `go_backwards`,
    `stateful`, `unroll`) and `activity_regularizer`. Call with `mask` [batch, timesteps] and
    `initial_state` ([h]) as in Keras.
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"
    #: Keras's SimpleRNN config has no `seed` (its cell's does).
    config_drops = ("seed",)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell_args = dict(units=units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_args, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

