"""`Variable`: a named, stateful holder of one array, with Keras 3's constructor.

Outside any scope, reading `.value` gives the stored array and `assign` replaces it.
Inside a `StatelessScope` (see `lamina.backend.scope`) reads come from the scope and
assignments are recorded there instead, so the same code runs as a pure function.

    v = Variable(initializer="zeros", shape=(3,), dtype="float32", trainable=True, name="bias")
    v = Variable(np.ones((2, 2)))           # an initial value
"""

import itertools
import threading

import jax
import jax.numpy as jnp
import numpy as np

from lamina.backend import config
from lamina.backend.scope import current_scope

_uid = itertools.count()
_counters = {"created": 0, "assigned": 0}
_placement = {"place": None}


def set_placement(place):
    """`place(variable) -> value` lays out each Variable as it is made and named (`lamina.distribution`
    sets it while a distribution is current); None: values stay where JAX puts them."""
    _placement["place"] = place


def host_array(value):
    """`value` as NumPy, also when it spans other processes' devices (gathered: every process must ask)."""
    if isinstance(value, jax.Array) and not value.is_fully_addressable:
        if value.sharding.is_fully_replicated:
            return np.asarray(value.addressable_shards[0].data)
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)


def variables_created():
    """How many Variables this process has made (a cheap 'has anything new appeared?' check)."""
    return _counters["created"]


def assignments():
    """How many eager `assign` calls this process has made: the engine compares it before and after
    a callback to know whether the callback changed any weight, optimizer or metric state."""
    return _counters["assigned"]


class WeightBudget:
    """`with WeightBudget(max_bytes, source):` caps the bytes of the weights layers create in the block.

    A model loader sets it from the size of the weights in the file, so a config that claims enormous
    layers (a few bytes of JSON asking for terabytes) is refused before anything is allocated.
    `Layer.add_weight` calls `charge` before it runs the initializer.
    """

    _local = threading.local()

    def __init__(self, max_bytes, source):
        self.max_bytes = int(max_bytes)
        self.source = source
        self.used = 0

    def __enter__(self):
        self._saved = getattr(WeightBudget._local, "active", None)
        WeightBudget._local.active = self
        return self

    def __exit__(self, *exc):
        WeightBudget._local.active = self._saved
        return False


def charge(shape, dtype, what):
    """Count a weight of `shape` and `dtype` against the active `WeightBudget` (if any); raise ValueError
    when the weights would exceed it."""
    budget = getattr(WeightBudget._local, "active", None)
    if budget is None:
        return
    nbytes = int(np.prod([int(d) for d in shape], dtype=np.float64)) * np.dtype(dtype).itemsize
    budget.used += nbytes
    if budget.used > budget.max_bytes:
        raise ValueError(
            f"{what} of shape {tuple(shape)} would bring the model's weights to {budget.used:,} bytes, but "
            f"{budget.source} holds only {budget.max_bytes:,}: the config claims far larger layers than the file "
            "stores; refused before allocating.")


def _resolve_initializer(initializer):
    """A string names a registered initializer class (the registry keeps this floor free of upward imports)."""
    if isinstance(initializer, str):
        from lamina.backend import registry

        found = registry.deserialize_keras_object(initializer, None, "initializer")
        return found() if isinstance(found, type) else found
    return initializer


def _as_array(value, dtype):
    """`jnp.asarray(value, dtype)`; a NumPy value is cast on the host and sent as it is (a cast by
    `jnp.asarray` compiles a conversion program for each new shape: ~10 ms per weight)."""
    if isinstance(value, (np.ndarray, np.generic)):
        dtype = jax.dtypes.canonicalize_dtype(value.dtype if dtype is None else dtype)
        return jax.device_put(np.asarray(value, dtype=dtype))
    return jnp.asarray(value, dtype=dtype)


class Variable:
    """One weight or state array.

    Args:
        initializer: the initial value (array-like), or a callable `(shape, dtype) -> array`
            or an initializer name; callables and names need `shape`.
        shape: the shape, required with a callable initializer.
        dtype: dtype name; None keeps a value's float dtype as floatx().
        trainable: whether optimizers update it.
        autocast, aggregation, synchronization: Keras's arguments, kept as attributes.
        name: short name ("kernel", "bias", "moving_mean").
        regularizer: (lamina) callable `w -> scalar` added to the training loss.
        constraint: callable `w -> w` applied after each optimizer update.
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True, aggregation="none",
                 synchronization="auto", name=None, *, regularizer=None, constraint=None):
        self.uid = next(_uid)
        _counters["created"] += 1
        self.name = name or "variable"
        self._path = self.name
        self.trainable = bool(trainable)
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.regularizer = regularizer
        self.constraint = constraint
        self.overwrite_with_gradient = False
        initializer = _resolve_initializer(initializer)
        if callable(initializer) and not hasattr(initializer, "shape") and not isinstance(initializer, Variable):
            if shape is None:
                raise ValueError(
                    f"Variable '{self.name}': a callable initializer needs `shape`, e.g. "
                    "Variable(initializer='zeros', shape=(3,))."
                )
            dtype = config.standardize_dtype(dtype)
            with jax.ensure_compile_time_eval():
                value = initializer(tuple(shape), dtype=dtype)
        else:
            value = initializer.value if isinstance(initializer, Variable) else initializer
            if dtype is None and not hasattr(value, "dtype"):
                dtype = config.floatx()
        with jax.ensure_compile_time_eval():
            self._value = _as_array(value, dtype)
        if shape is not None and tuple(self._value.shape) != tuple(shape):
            raise ValueError(
                f"Variable '{self.name}': the initial value has shape {tuple(self._value.shape)}, "
                f"but shape={tuple(shape)} was given."
            )
        self._place()

    @property
    def path(self):
        """"<layer>/<name>" once a layer owns it (the key `LayoutMap`s match), else the name."""
        return self._path

    @path.setter
    def path(self, value):
        self._path = value
        self._place()

    def _place(self):
        place = _placement["place"]
        if place is not None:
            self._value = place(self)

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
    def size(self):
        return int(np.prod(self.shape))

    @property
    def value(self):
        scope = current_scope()
        if scope is not None:
            found = scope.get_current_value(self)
            if found is not None:
                return found
        return self._value

    def assign(self, value):
        """Set the value (recorded in the scope, not stored, inside a `StatelessScope`)."""
        if isinstance(value, Variable):
            value = value.value
        value = _as_array(value, self.dtype)
        if tuple(value.shape) != self.shape:
            raise ValueError(
                f"Variable '{self.path}': cannot assign a value of shape {tuple(value.shape)} "
                f"to a variable of shape {self.shape}."
            )
        scope = current_scope()
        if scope is not None:
            scope.add_update((self, value))
        else:
            self._value = value
            self._place()
            _counters["assigned"] += 1
        return value

    def assign_add(self, delta):
        return self.assign(self.value + delta)

    def assign_sub(self, delta):
        return self.assign(self.value - delta)

    def numpy(self):
        return host_array(self.value)

    def __array__(self, dtype=None, copy=None):
        arr = host_array(self.value)
        return arr.astype(dtype) if dtype is not None else arr

    def __jax_array__(self):
        return self.value

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}, value={host_array(self._value)}>"

    def __int__(self):
        return int(self.value)

    def __float__(self):
        return float(self.value)

    def __index__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __len__(self):
        return len(self._value)

    # Arithmetic and comparisons work on the value, so `w * 2`, `x @ self.kernel` or `it == 0` read naturally.
    def __getitem__(self, idx):
        return self.value[idx]

    def __neg__(self):
        return -self.value

    def __abs__(self):
        return abs(self.value)

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

    def __floordiv__(self, o):
        return self.value // o

    def __mod__(self, o):
        return self.value % o

    def __matmul__(self, o):
        return self.value @ o

    def __rmatmul__(self, o):
        return o @ self.value

    def __pow__(self, o):
        return self.value**o

    def __eq__(self, o):
        return self.value == o

    def __ne__(self, o):
        return self.value != o

    def __lt__(self, o):
        return self.value < o

    def __le__(self, o):
        return self.value <= o

    def __gt__(self, o):
        return self.value > o

    def __ge__(self, o):
        return self.value >= o

    __hash__ = object.__hash__
