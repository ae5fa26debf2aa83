"""Symbolic tensors: the placeholders the functional API wires layers with.

A `KerasTensor` carries a shape (None for unknown dims, always the batch dim)
and a dtype, plus the `Node` that produced it. A `Node` records one call of a
layer on symbolic inputs; following nodes backwards from a model's outputs
gives the graph that `Functional` runs.
"""

import jax
import numpy as np

from lamina.backend.scope import StatelessScope


class KerasTensor:
    """A symbolic tensor of `shape` (tuple, None = unknown) and `dtype`.

    `_keras_mask` (Keras's name) is the symbolic mask the tensor carries, or None.
    """

    _keras_mask = None

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        label = f", name={self.name}" if self.name else ""
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}{label}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value: it stands for data that does not exist "
            "yet. Use layers (or a Lambda layer) to compute with it."
        )

    # Python operators build op nodes, as `keras.ops` calls on symbolic tensors do (see OpLayer).
    def __getitem__(self, key):
        return _ops().get_item(self, key)

    def __neg__(self):
        return _ops().negative(self)

    def __abs__(self):
        return _ops().absolute(self)

    def __invert__(self):
        return _ops().logical_not(self) if self.dtype == "bool" else _ops().bitwise_invert(self)

    def __round__(self, ndigits=None):
        return _ops().round(self, 0 if ndigits is None else ndigits)


def _ops():
    from lamina import ops

    return ops


def _binary_operator(op_name, reflected=False):
    def method(self, other):
        op = getattr(_ops(), op_name)
        return op(other, self) if reflected else op(self, other)

    return method


for _names, _op in [(("__add__", "__radd__"), "add"), (("__sub__", "__rsub__"), "subtract"),
                    (("__mul__", "__rmul__"), "multiply"), (("__truediv__", "__rtruediv__"), "divide"),
                    (("__floordiv__", "__rfloordiv__"), "floor_divide"), (("__mod__", "__rmod__"), "mod"),
                    (("__pow__", "__rpow__"), "power"), (("__matmul__", "__rmatmul__"), "matmul"),
                    (("__and__", "__rand__"), "logical_and"), (("__or__", "__ror__"), "logical_or"),
                    (("__xor__", "__rxor__"), "logical_xor"), (("__lt__", "__gt__"), "less"),
                    (("__le__", "__ge__"), "less_equal"), (("__gt__", "__lt__"), "greater"),
                    (("__ge__", "__le__"), "greater_equal")]:
    if _op in ("less", "less_equal", "greater", "greater_equal"):
        setattr(KerasTensor, _names[0], _binary_operator(_op))
        continue
    setattr(KerasTensor, _names[0], _binary_operator(_op))
    setattr(KerasTensor, _names[1], _binary_operator(_op, reflected=True))


class Node:
    """One call of `layer` on symbolic arguments.

    Attributes:
        layer: the layer called.
        args, kwargs: the call's arguments with KerasTensors in place of data.
        inputs: the KerasTensors among args/kwargs, flattened.
        outputs: the output structure (KerasTensors).
    """

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.inputs = symbolic_leaves((args, kwargs))
        self.outputs = outputs
        for i, tensor in enumerate(symbolic_leaves(outputs)):
            tensor.node = self
            tensor.index = i

    @property
    def parent_nodes(self):
        return [t.node for t in self.inputs if t.node is not None]


def is_symbolic(x):
    return isinstance(x, KerasTensor)


def symbolic_leaves(tree):
    """The KerasTensors in a nested structure, in flattening order."""
    return [x for x in jax.tree_util.tree_leaves(tree, is_leaf=is_symbolic) if is_symbolic(x)]


def any_symbolic(tree):
    return bool(symbolic_leaves(tree))


def _concrete(spec, size):
    shape = tuple(size if d is None else d for d in spec.shape)
    return jax.ShapeDtypeStruct(shape, np.dtype(spec.dtype))


def compute_output_spec(fn, args, kwargs):
    """Trace `fn(*args, **kwargs)` abstractly and return KerasTensors for its outputs.

    Unknown dims are traced with two different sizes; output dims that differ
    between the traces are unknown (None) in the result.
    """

    def traced(size):
        concrete = jax.tree_util.tree_map(
            lambda x: _concrete(x, size) if is_symbolic(x) else x, (args, kwargs), is_leaf=is_symbolic
        )
        leaves, treedef = jax.tree_util.tree_flatten(concrete, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))
        spec_idx = [i for i, leaf in enumerate(leaves) if isinstance(leaf, jax.ShapeDtypeStruct)]

        def run(*arrays):
            filled = list(leaves)
            for i, arr in zip(spec_idx, arrays):
                filled[i] = arr
            a, k = jax.tree_util.tree_unflatten(treedef, filled)
            with StatelessScope():  # state changes while tracing (a seed advancing) stay in the trace
                return fn(*a, **k)

        return jax.eval_shape(run, *[leaves[i] for i in spec_idx])

    first = traced(2)
    has_unknown = any(None in t.shape for t in symbolic_leaves((args, kwargs)))
    second = traced(3) if has_unknown else first

    def merge(a, b):
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return KerasTensor(shape, a.dtype)

    return jax.tree_util.tree_map(merge, first, second)
