"""`predict` on a few rows without an XLA call: the predict step run by NumPy on the CPU.

On a tiny batch an XLA call costs more than its math (see `backend/numpy_eval.py`).
Per input signature the predict step is traced once into a `NumpyProgram` and its
first result is compared with XLA's; a model using a primitive NumPy does not
cover, or whose results differ, keeps using XLA for that signature.
"""

import jax
import numpy as np

from lamina.backend import numpy_eval
from lamina.backend.variables import variables_created
from lamina.training import loops, steps
from lamina.training.state import PredictState

#: Batches of up to this many rows are predicted with NumPy when JAX computes on the CPU.
MAX_ROWS = 8


def predict(engine, x):
    """NumPy outputs for `x` (a NumPy array or tree of arrays, at most `MAX_ROWS` rows), or None."""
    leaves, treedef = jax.tree_util.tree_flatten(x)
    key = ("host", treedef, tuple((a.shape, a.dtype.str) for a in leaves))
    runner = engine.programs.get(key)
    if runner is None or not runner.still_valid(engine.model):
        runner = engine.programs[key] = HostRunner(engine, x)
        return runner.first_outputs
    if runner.program is None:
        return None
    return runner(leaves)


class HostRunner:
    """The NumPy program of one model and input signature, with the model's variables it reads."""

    def __init__(self, engine, x):
        model = engine.model
        self.variables = list(model.trainable_variables) + list(model.non_trainable_variables)
        state = PredictState([v.value for v in model.trainable_variables],
                             [v.value for v in model.non_trainable_variables])

        def predict_outputs(state, x):
            return steps.predict_step(model, state, x)[0]

        # The first answer comes from XLA, with the state it returns written back (a layer drawing
        # random numbers in predict advances its seed, a stateful RNN carries its states).
        xla = engine.program(("predict_direct",), loops.predict_direct(lambda s, b: steps.predict_step(model, s, b)))
        outputs, new_state = xla(state, x)
        changes_state = False
        for variable, value in zip(model.non_trainable_variables, new_state.non_trainable_variables):
            changes_state = changes_state or not np.array_equal(np.asarray(variable._value), np.asarray(value))
            variable._value = value
        self.first_outputs = jax.tree_util.tree_map(np.asarray, outputs)
        self.uids = tuple(v.uid for v in self.variables)
        self.seen_variables = variables_created()
        self.program = None
        if jax.default_backend() != "cpu" or changes_state:
            # A predict that changes the model's state (a stateful RNN carrying its states, a seed
            # advancing) stays on XLA: the NumPy program computes outputs only.
            return
        self._sources = [None] * len(self.variables)
        self._arrays = [None] * len(self.variables)
        reference, self.out_tree = jax.tree_util.tree_flatten(self.first_outputs)
        try:
            program = numpy_eval.NumpyProgram(jax.make_jaxpr(predict_outputs)(state, x))
            outs = program(*self._weights(), *jax.tree_util.tree_leaves(x))
        except Exception:  # numpy_eval.Unsupported, or NumPy refusing an edge case (an empty reduction)
            return
        if len(outs) == len(reference) and all(
                a.shape == b.shape and a.dtype == b.dtype and np.allclose(a, b, rtol=1e-4, atol=1e-6, equal_nan=True)
                for a, b in zip(outs, reference)):
            self.program = program

    def still_valid(self, model):
        """False when the model's variables changed (a layer added or removed) since this was built."""
        if variables_created() == self.seen_variables:
            return True
        current = tuple(v.uid for v in list(model.trainable_variables) + list(model.non_trainable_variables))
        if current != self.uids:
            return False
        self.seen_variables = variables_created()
        return True

    def _weights(self):
        """The variables' current values as NumPy arrays (converted again only when a value changed).

        Matrices are kept in column-major order: BLAS multiplies a row by them ~25% faster.
        """
        for i, variable in enumerate(self.variables):
            value = variable.value
            if value is not self._sources[i]:
                self._sources[i], self._arrays[i] = value, np.asfortranarray(value) if value.ndim == 2 else np.asarray(value)
        return self._arrays

    def __call__(self, leaves):
        return jax.tree_util.tree_unflatten(self.out_tree, self.program(*self._weights(), *leaves))
