"""`GRUCell` and `GRU`: gated recurrent unit, gates in Keras's order z (update), r (reset), h."""

import jax.numpy as jnp

from lamina import activations
from lamina.layers.recurrent.cell import RecurrentCell, masked_matmul
from lamina.layers.recurrent.rnn import BuiltinRNN


class GRUCell(RecurrentCell):
    """One GRU step. Weights: `kernel` [features, 3 * units], `recurrent_kernel` [units, 3 * units]
    (z, r, h side by side) and `bias`: [2, 3 * units] (input and recurrent biases) with
    `reset_after=True` (Keras 3's default, cuDNN-compatible), [3 * units] without. State `[h]`.

        z = recurrent_activation(x W_z + h U_z + b_z)      r likewise
        reset_after:   hh = activation(x W_h + b_h + r * (h U_h + b'_h))
        reset before:  hh = activation(x W_h + b_h + (r * h) U_h)
        h' = z * h + (1 - z) * hh

    Args: as Keras's GRUCell (`units`, `activation`, `recurrent_activation`, `use_bias`,
    initializers, regularizers, constraints, `dropout`, `recurrent_dropout`, `reset_after`, `seed`).
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias.value[0] if self.reset_after else self.bias.value

    def recurrent_params(self, recurrent_masks=None):
        bias = self.bias.value[1] if self.bias is not None and self.reset_after else None
        return self.recurrent_kernel.value, bias, recurrent_masks

    def step(self, inputs, states, input_masks=None, recurrent_masks=None):
        h = states[0]
        x_z, x_r, x_h = jnp.split(self.linear(inputs, self.input_params(input_masks)), 3, axis=-1)
        if self.reset_after:  # the candidate's recurrent part is (h @ U_h + b'_h), then reset
            recurrent = self.linear(h, self.recurrent_params(recurrent_masks))
            r_z, r_r, r_h = jnp.split(recurrent, 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            hh = self.activation(x_h + r * r_h)
        else:  # reset before the product: the candidate multiplies (r * h) @ U_h
            u = self.units
            kernel = self.recurrent_kernel.value
            per_gate = isinstance(recurrent_masks, list)
            r_zr = masked_matmul(h, kernel[:, :2 * u], recurrent_masks[:2] if per_gate else recurrent_masks)
            r_z, r_r = jnp.split(r_zr, 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            h_h = h if recurrent_masks is None else h * (recurrent_masks[2] if per_gate else recurrent_masks)
            hh = self.activation(x_h + jnp.matmul(r * h_h, kernel[:, 2 * u:]))
        h = z * h + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class GRU(BuiltinRNN):
    """Gated recurrent unit over [batch, timesteps, features] -> [batch, units] (or
    [batch, timesteps, units] with `return_sequences`); `return_state` adds the final `h`.

    Args: the cell's (see `GRUCell`; `reset_after=True` by default, as in Keras 3), `RNN`'s
    (`return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll`), `activity_regularizer`
    and `use_cudnn` (accepted; XLA compiles the same loop on every device).
    """

    cell_class = GRUCell
    cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell_args = dict(units=units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, reset_after=reset_after, seed=seed,
                         implementation=kwargs.pop("implementation", 2))
        super().__init__(cell_args, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn, **kwargs)
