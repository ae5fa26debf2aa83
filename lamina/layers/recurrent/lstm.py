"""`LSTMCell` and `LSTM`: long short-term memory, gates in Keras's order i, f, c, o."""

import jax.numpy as jnp

from lamina import activations, initializers
from lamina.layers.recurrent.cell import RecurrentCell
from lamina.layers.recurrent.rnn import BuiltinRNN


class LSTMCell(RecurrentCell):
    """One LSTM step. Weights: `kernel` [features, 4 * units], `recurrent_kernel` [units, 4 * units],
    `bias` [4 * units], each the input (i), forget (f), cell (c) and output (o) gates side by side.
    States: `[h, c]`, each [batch, units]; output `h`.

        i = recurrent_activation(x W_i + h U_i + b_i)      f likewise, o likewise
        c' = f * c + i * activation(x W_c + h U_c + b_c)   h' = o * activation(c')

    Args: as Keras's LSTMCell (`units`, `activation="tanh"`, `recurrent_activation="sigmoid"`,
    `use_bias`, `unit_forget_bias=True` (forget-gate bias starts at 1), initializers, regularizers,
    constraints, `dropout`, `recurrent_dropout`, `seed`).
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def unit_forget(shape, dtype=None):
            ones = initializers.get("ones")
            return jnp.concatenate([base((units,), dtype=dtype), ones((units,), dtype=dtype),
                                    base((2 * units,), dtype=dtype)])

        return unit_forget

    def gate(self, z, states):
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * states[1] + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class LSTM(BuiltinRNN):
    """Long short-term memory over [batch, timesteps, features] -> [batch, units] (or
    [batch, timesteps, units] with `return_sequences`); `return_state` adds the final `h` and `c`.

    Args: the cell's (see `LSTMCell`), `RNN`'s (`return_sequences`, `return_state`, `go_backwards`,
    `stateful`, `unroll`), `activity_regularizer`, and `use_cudnn` (accepted for Keras scripts; XLA
    compiles the same loop on every device). Call with `mask` [batch, timesteps] and
    `initial_state=[h, c]` as in Keras.
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell_args = dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, implementation=kwargs.pop("implementation", 2))
        super().__init__(cell_args, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn, **kwargs)
