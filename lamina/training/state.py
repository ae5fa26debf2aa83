"""The typed states of the compiled steps, and their sync with the model's Variables.

The states are pytrees (NamedTuples) that unpack as Keras 3's tuples, so a
`train_step(self, state, data)` written for Keras on JAX runs unchanged:

    TrainState(trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)
    EvalState(trainable_variables, non_trainable_variables, metrics_variables)
    PredictState(trainable_variables, non_trainable_variables)

Each field is a list of arrays in the order of the matching list of Variables:
`model.trainable_variables`, `model.non_trainable_variables` (seed states included),
`model.optimizer.variables`, `model.metrics_variables`.

`StateSync` reads a state from the Variables and writes one back (the engine's only
two doors between compiled programs and the stateful objects users see).
`assignments()` tells whether anything assigned a Variable in between (a callback
changing weights or the learning rate), so the engine knows when to read again.

The states are registered with the program cache (`register_namedtuple`): compiled
programs return them, and stored programs write their output trees as JSON.
"""

from typing import NamedTuple

from lamina.backend.program_trees import register_namedtuple
from lamina.backend.variables import assignments


@register_namedtuple
class TrainState(NamedTuple):
    trainable_variables: list
    non_trainable_variables: list
    optimizer_variables: list
    metrics_variables: list


@register_namedtuple
class EvalState(NamedTuple):
    trainable_variables: list
    non_trainable_variables: list
    metrics_variables: list


@register_namedtuple
class PredictState(NamedTuple):
    trainable_variables: list
    non_trainable_variables: list


_FIELDS = {
    TrainState: ("trainable", "non_trainable", "optimizer", "metrics"),
    EvalState: ("trainable", "non_trainable", "metrics"),
    PredictState: ("trainable", "non_trainable"),
}


class StateSync:
    """The Variable lists behind a state, gathered once (walking the model is not free).

    Args:
        model: the model; its optimizer and metrics are included when given.
        optimizer: the optimizer (or None), metrics: the metric objects whose variables form
            `metrics_variables`, in order.
        placer: under a distribution, `placer(variables) -> (shardings, put)`: states read are laid out.
    """

    def __init__(self, model, optimizer=None, metrics=(), placer=None):
        self.variables = {
            "trainable": list(model.trainable_variables),
            "non_trainable": list(model.non_trainable_variables),
            "optimizer": list(optimizer.variables) if optimizer is not None else [],
            "metrics": [v for m in metrics for v in m.variables],
        }
        # Under a distribution: each Variable's sharding, and `place(values, sharding)`.
        self.shardings, self._put = placer(self.variables) if placer is not None else (None, None)
        self.seen = assignments()

    def place(self, name, values):
        """`values` of the Variables `name` ("metrics", ...) laid out as those Variables are (as is on one device)."""
        if self.shardings is None:
            return list(values)
        return [self._put(value, s) for value, s in zip(values, self.shardings[name])]

    def read(self, kind):
        """A fresh `kind` (TrainState, EvalState or PredictState) from the Variables' current values."""
        self.seen = assignments()
        return kind(*(self.place(name, [v.value for v in self.variables[name]]) for name in _FIELDS[kind]))

    def write(self, state):
        """Store a state's values in the Variables (not counted as an assignment)."""
        for name, values in zip(_FIELDS[type(state)], state):
            for variable, value in zip(self.variables[name], values):
                variable._value = value
        self.seen = assignments()

    def changed(self):
        """Whether any Variable was assigned since the last read or write."""
        return assignments() != self.seen
