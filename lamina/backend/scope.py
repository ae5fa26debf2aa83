"""`StatelessScope`: the call context that turns stateful code into a pure function.

Inside a scope, a `Variable` reads its value from the scope's mapping (when the
scope maps it) and every `assign` is recorded in the scope instead of changing the
variable, exactly as in Keras 3. `Layer.stateless_call`, the metrics' and optimizers'
stateless methods and the training engine are built on it, so layer code written
statefully runs as a pure function under `jax.jit`, `jax.grad` and `jax.vmap`.

lamina adds one field: `batch_mask`, a [batch] 0/1 array marking the real rows of a
padded batch (the engine pads a ragged last batch so an epoch is one compiled
program); layers that pool over the batch (BatchNormalization) leave padding rows
out. A nested scope inherits its parent's mask.
"""

import threading

_local = threading.local()


def _stack():
    if not hasattr(_local, "scopes"):
        _local.scopes = []
    return _local.scopes


def current_scope():
    """The innermost active `StatelessScope`, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def in_stateless_scope():
    return bool(_stack())


def get_stateless_scope():
    """Keras's name for `current_scope()`."""
    return current_scope()


class StatelessScope:
    """Values for variables, and a record of assignments and added losses, for one pure call.

    Args:
        state_mapping: list of `(Variable, value)` pairs; values must match the variables' shapes.
        collect_losses: kept for Keras's signature; losses added inside a scope are always collected.
        initialize_variables: kept for Keras's signature (lamina variables are created initialized).
        batch_mask: optional [batch] float array, 1 for real rows and 0 for padding rows
            (None: inherited from the enclosing scope, if any).
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True, batch_mask=None):
        self.state_mapping = {}
        for variable, value in state_mapping or ():
            if not hasattr(variable, "_value") or not hasattr(variable, "path"):
                raise ValueError(
                    f"StatelessScope: every key of `state_mapping` must be a Variable; got {type(variable).__name__}."
                )
            self.state_mapping[id(variable)] = _checked(variable, value)
        self.collect_losses = collect_losses
        self.losses = []
        parent = current_scope()
        self.batch_mask = batch_mask if batch_mask is not None or parent is None else parent.batch_mask

    def get_current_value(self, variable):
        """The variable's value in this scope (mapped or assigned here), or None if the scope has none."""
        return self.state_mapping.get(id(variable))

    def add_update(self, update):
        """Record `(variable, new_value)`: later reads in this scope see the new value."""
        variable, value = update
        self.state_mapping[id(variable)] = _checked(variable, value)

    def add_loss(self, loss):
        self.losses.append(loss)

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()
        return False


def _checked(variable, value):
    """`value` as an array of the variable's dtype, after checking its shape."""
    import jax.numpy as jnp

    if not hasattr(value, "shape") or getattr(value, "dtype", None) != variable.dtype:
        value = jnp.asarray(value, dtype=variable.dtype)
    if tuple(value.shape) != variable.shape:
        raise ValueError(
            f"Variable '{variable.path}' has shape {variable.shape}, but a value of shape {tuple(value.shape)} "
            "was given for it."
        )
    return value
