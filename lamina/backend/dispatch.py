"""How an op meets a symbolic tensor.

Every public op of `lamina.ops` is wrapped by `keras_op`: on arrays it runs its JAX code; when an
argument is a symbolic tensor (a functional model's `Input` or a layer's output), the registered
handler builds a graph node instead, as Keras's ops do. The symbolic tensor class lives on a higher
floor (`lamina.layers`), which registers it here at import; this ground-floor module keeps that
registration from loading `lamina.ops` on `import lamina`.
"""

import functools

_registry = {"types": (), "handler": None}


def register_symbolic(cls, handler):
    """Route op calls with `cls` arguments to `handler(fn, args, kwargs)`."""
    _registry["types"] = tuple({*_registry["types"], cls})
    _registry["handler"] = handler


def is_symbolic(x):
    return bool(_registry["types"]) and isinstance(x, _registry["types"])


def any_symbolic(args, kwargs=None):
    """Whether a symbolic tensor is among `args`/`kwargs` (searched through lists, tuples and dicts)."""
    types = _registry["types"]
    if not types:
        return False
    todo = [args, kwargs or {}]
    while todo:
        item = todo.pop()
        if isinstance(item, types):
            return True
        if isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, dict):
            todo.extend(item.values())
    return False


def keras_op(fn):
    """Make `fn` an op: unchanged on arrays, a graph node on symbolic tensors."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _registry["types"] and any_symbolic(args, kwargs):
            return _registry["handler"](fn, args, kwargs)
        return fn(*args, **kwargs)

    return op


def make_op(fn, name, doc, module, symbolic=True):
    """`fn` as the public op `name` of `module` with docstring `doc` (for ops built by a factory);
    `symbolic=False` leaves symbolic arguments to `fn` itself."""
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = module
    return keras_op(fn) if symbolic else fn
