"""`OpLayer`: a `lamina.ops` call on symbolic tensors, as one node of a functional graph.

`keras.ops.add(x, 1)`, `x + 1` or `keras.ops.expand_dims(inputs, -1)` on an `Input` work in a
functional model as in Keras 3 (where ops are graph nodes too): the op's arguments are recorded with
the symbolic tensors in place, and running the graph calls the op on arrays. Importing this module
registers the handler with `lamina.backend.dispatch`.

Its config names the op (`{"op": "expand_dims"}`); the op's arguments are the node's, written in
the model config like any layer call's. Keras writes ops under its own class names, so such a model
saves and loads in lamina, not in Keras.
"""

from lamina.backend import naming
from lamina.layers import symbolic
from lamina.layers.base import Layer
from lamina.backend import dispatch


class OpLayer(Layer):
    """Calls the op `op` (a `lamina.ops` name or the op function) with the node's arguments."""

    def __init__(self, op, name=None):
        fn = op if callable(op) else _lookup(op)
        super().__init__(name=name or naming.auto_name(fn.__name__))
        self.op = fn.__name__
        self._fn = getattr(fn, "__wrapped__", fn)
        self.built = True

    def __call__(self, *args, **kwargs):
        if symbolic.any_symbolic((args, kwargs)):
            outputs = symbolic.compute_output_spec(self._fn, args, kwargs)
            self._inbound_nodes.append(symbolic.Node(self, args, kwargs, outputs))
            return outputs
        return self._fn(*args, **kwargs)

    def _call_with_mask(self, args, kwargs, input_mask=None):
        """A graph run calls the op on the node's arguments as they are (no casting to the layer's dtype:
        an op keeps its inputs' dtypes); an op's output carries no mask, as in Keras."""
        return self._fn(*args, **kwargs), None

    def get_config(self):
        return {"name": self.name, "op": self.op}


def _lookup(name):
    from lamina import ops

    fn = getattr(ops, name, None)
    if fn is None:
        fn = getattr(ops.image, name, None)
    if fn is None:
        raise ValueError(f"OpLayer: unknown op {name!r}; expected a name in lamina.ops or lamina.ops.image.")
    return fn


def _symbolic_op(fn, args, kwargs):
    return OpLayer(fn)(*args, **kwargs)


dispatch.register_symbolic(symbolic.KerasTensor, _symbolic_op)
