"""`StackedRNNCells`: several cells run as one, each feeding the next within a time step."""

from lamina.backend import registry
from lamina.layers.base import Layer
from lamina.layers.recurrent.cell import LoopCell, initial_state_of, loop_call, loop_step, loop_variables


def output_size(cell):
    """A cell's output width: `output_size`, else its (first) state size."""
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size


def _check_cell(cell, owner):
    if not hasattr(cell, "call"):
        raise ValueError(f"{owner}: every cell needs a `call` method; got {cell!r}.")
    if not hasattr(cell, "state_size"):
        raise ValueError(f"{owner}: every cell needs a `state_size` attribute (an int or a list of ints); "
                         f"got {cell!r}.")


class StackedRNNCells(Layer, LoopCell):
    """Cells applied in order at every step: cell k's output is cell k+1's input.

    States: one entry per cell (that cell's state list), so `state_size` is the list of the cells'
    state sizes; the output is the last cell's.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells: `cells` must hold at least one cell.")
        for cell in cells:
            _check_cell(cell, "StackedRNNCells")
        self.cells = cells

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [initial_state_of(cell, batch_size, self.dtype) for cell in self.cells]

    def build(self, input_shape):
        batch = input_shape[0]
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (batch, output_size(cell))
        self.built = True

    def loop_variables(self, training):
        found = [loop_variables(cell, training) for cell in self.cells]
        return None if any(v is None for v in found) else [v for cell_variables in found for v in cell_variables]

    def loop_step(self, training, batch_size, input_shape):
        steps = []
        for cell in self.cells:
            steps.append(loop_step(cell, training, batch_size, input_shape))
            input_shape = (output_size(cell),)

        def step(x_t, states):
            new_states = []
            for cell_step, cell_states in zip(steps, states):
                x_t, cell_states = cell_step(x_t, list(cell_states))
                new_states.append(list(cell_states))
            return x_t, new_states

        return step

    @loop_call
    def call(self, inputs, states, training=False):
        """One step of every cell: `inputs` [batch, features], `states` (one list per cell)."""
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            single = not isinstance(cell_states, (list, tuple))
            cell_states = [cell_states] if single else list(cell_states)
            kwargs = {"training": training} if isinstance(cell, Layer) else {}
            inputs, cell_states = (cell if callable(cell) else cell.call)(inputs, cell_states, **kwargs)
            if single and isinstance(cell_states, (list, tuple)) and len(cell_states) == 1:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [registry.serialize_keras_object(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["cells"] = [registry.deserialize_keras_object(c, None, "layer", custom_objects) for c in config["cells"]]
        return super().from_config.__func__(cls, config)
