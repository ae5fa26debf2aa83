"""Variables and the stateless scope that turns stateful layers into pure functions.

A `Variable` is a named holder of one array. Outside any scope, reading
`.value` gives the stored array and `.assign` replaces it. Inside a
`StatelessScope` (entered by `Model.stateless_call` and by the training
engine) reads come from the scope's mapping and assignments are recorded in
the scope instead, so the same layer code runs as a pure function that
`jax.jit`, `jax.grad` and `jax.vmap` accept.
"""

import itertools
import threading

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config

_local = threading.local()
_uid = itertools.count()
_created = [0]


def variables_created():
    """How many Variables this process has made (a cheap 'has anything new appeared?' check)."""
    return _created[0]


def _scope_stack():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


def current_scope():
    """The innermost active `StatelessScope`, or None."""
    stack = _scope_stack()
    return stack[-1] if stack else None


class Variable:
    """One weight or state array of a layer.

    Args:
        value: initial array (any array-like).
        name: short name ("kernel", "bias", "moving_mean").
        trainable: whether optimizers update it.
        dtype: dtype name; None keeps the value's float dtype as floatx().
        regularizer: callable `w -> scalar` added to the training loss.
        constraint: callable `w -> w` applied after each optimizer update.
    """

    def __init__(self, value, name="variable", trainable=True, dtype=None,
                 regularizer=None, constraint=None):
        self.uid = next(_uid)
        _created[0] = self.uid + 1
        self.name = name
        self.path = name
        self.trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint
        if dtype is None and not hasattr(value, "dtype"):
            dtype = config.floatx()
        with jax.ensure_compile_time_eval():
            self._value = jnp.asarray(value, dtype=dtype)

    @property
    def shape(self):
        return tuple(self._value.shape)

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def value(self):
        scope = current_scope()
        if scope is not None:
            found = scope.get(self)
            if found is not None:
                return found
        return self._value

    def assign(self, value):
        """Set the variable's value (recorded, not stored, inside a stateless scope)."""
        value = jnp.asarray(value, dtype=self.dtype)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                f"Variable '{self.path}': cannot assign a value of shape {tuple(value.shape)} "
                f"to a variable of shape {self.shape}."
            )
        scope = current_scope()
        if scope is not None and scope.owns(self):
            scope.record(self, value)
        else:
            self._value = value

    def assign_add(self, delta):
        self.assign(self.value + delta)

    def assign_sub(self, delta):
        self.assign(self.value - delta)

    def numpy(self):
        return np.asarray(self.value)

    def __array__(self, dtype=None, copy=None):
        arr = np.asarray(self.value)
        return arr.astype(dtype) if dtype is not None else arr

    def __jax_array__(self):
        return self.value

    def __repr__(self):
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype.name}>"

    # Arithmetic so that `w * 2` or `x @ self.kernel` work like on arrays.
    def __getitem__(self, idx):
        return self.value[idx]

    def __neg__(self):
        return -self.value

    def __add__(self, o):
        return self.value + o

    def __radd__(self, o):
        return o + self.value

    def __sub__(self, o):
        return self.value - o

    def __rsub__(self, o):
        return o - self.value

    def __mul__(self, o):
        return self.value * o

    def __rmul__(self, o):
        return o * self.value

    def __truediv__(self, o):
        return self.value / o

    def __rtruediv__(self, o):
        return o / self.value

    def __matmul__(self, o):
        return self.value @ o

    def __rmatmul__(self, o):
        return o @ self.value

    def __pow__(self, o):
        return self.value**o


class StatelessScope:
    """Maps variables to values for the duration of a pure call.

    Args:
        variables: the variables whose values are supplied.
        values: their values, in the same order.
        rng: a PRNG key (or a `random.StepKey`) for random layers, or None (inference).
        batch_mask: optional [batch] float array, 1 for real rows and 0 for
            padding rows; layers that pool over the batch (BatchNormalization)
            ignore padding rows.

    Assignments to the given variables are collected in `updates`; losses
    added by layers (`Layer.add_loss`) in `losses`.
    """

    def __init__(self, variables, values, rng=None, batch_mask=None):
        self._values = {v.uid: x for v, x in zip(variables, values)}
        self.updates = {}
        self.losses = []
        self.rng = rng
        self.batch_mask = batch_mask
        self._key_count = 0

    def owns(self, variable):
        return variable.uid in self._values

    def get(self, variable):
        uid = variable.uid
        if uid in self.updates:
            return self.updates[uid]
        return self._values.get(uid)

    def record(self, variable, value):
        self.updates[variable.uid] = value

    def value_of(self, variable):
        """The variable's latest value inside this scope."""
        found = self.get(variable)
        return variable._value if found is None else found

    def next_key(self):
        from lamina.backend.random import StepKey

        self._key_count += 1
        rng = self.rng.draw() if isinstance(self.rng, StepKey) else self.rng
        return jax.random.fold_in(rng, self._key_count)

    def __enter__(self):
        _scope_stack().append(self)
        return self

    def __exit__(self, *exc):
        _scope_stack().pop()
        return False
