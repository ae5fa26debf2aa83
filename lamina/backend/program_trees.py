"""A compiled program's output structure (a JAX PyTreeDef) as JSON, and back.

A stored executable returns a flat list of arrays; the tree that turns them back
into `(TrainState(...), {"loss": ..., "accuracy": ...})` is written beside it as
plain JSON, never pickled:

    leaf                       -> "*"
    None                       -> null
    tuple / list               -> {"tuple": [...]} / {"list": [...]}
    dict with str keys         -> {"dict": [[key, child], ...]}   (JAX's key order)
    registered NamedTuple      -> {"namedtuple": "module.QualName", "fields": [...]}

A NamedTuple is rebuilt only from the allowlist that lamina's own packages fill
with `register_namedtuple` (the train states); a name read from a file never
imports anything. Anything else (another pytree node type, non-str keys) cannot be
described, and its program is then not stored.
"""

import jax

_NAMEDTUPLES = {}  # "module.QualName" -> class


class Undescribable(ValueError):
    """The tree holds a node this format cannot write or a file names one it does not know."""


def register_namedtuple(cls):
    """Allow lamina's NamedTuple `cls` in stored output trees (returns `cls`, usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")):
        raise TypeError(f"register_namedtuple: {cls!r} is not a NamedTuple class.")
    if not cls.__module__.startswith("lamina."):
        raise ValueError(f"register_namedtuple: only lamina's own classes are allowed, not {cls.__module__}.")
    _NAMEDTUPLES[_name(cls)] = cls
    return cls


def _name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


class _Leaf:
    """Placeholder leaf (never a pytree node itself)."""


def describe(treedef):
    """JSON-able description of `treedef` (raises `Undescribable`)."""
    skeleton = jax.tree_util.tree_unflatten(treedef, [_Leaf()] * treedef.num_leaves)
    description = _describe(skeleton)
    if rebuild(description) != treedef:  # e.g. a node type that flattens like a tuple but is not one
        raise Undescribable(f"output tree {treedef} does not survive its description")
    return description


def _describe(node):
    if isinstance(node, _Leaf):
        return "*"
    if node is None:
        return None
    kind = type(node)
    if kind is tuple or kind is list:
        return {kind.__name__: [_describe(child) for child in node]}
    if kind is dict:
        if not all(type(k) is str for k in node):
            raise Undescribable(f"dict keys must be strings, got {sorted(map(repr, node))}")
        return {"dict": [[k, _describe(node[k])] for k in sorted(node)]}
    if _NAMEDTUPLES.get(_name(kind)) is kind:
        return {"namedtuple": _name(kind), "fields": [_describe(child) for child in node]}
    raise Undescribable(f"cannot describe a {_name(kind)} node in an output tree")


def rebuild(description):
    """The PyTreeDef a `describe` output stands for (raises `Undescribable` on anything else)."""
    return jax.tree_util.tree_structure(_skeleton(description))


def _skeleton(d):
    if d == "*":
        return 0
    if d is None:
        return None
    if isinstance(d, dict) and len(d) == 1:
        (kind, children), = d.items()
        if kind in ("tuple", "list") and isinstance(children, list):
            items = [_skeleton(child) for child in children]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and isinstance(children, list):
            pairs = [(_key(pair), _skeleton(pair[1])) for pair in children]
            return dict(pairs)
    if isinstance(d, dict) and set(d) == {"namedtuple", "fields"} and isinstance(d["fields"], list):
        cls = _NAMEDTUPLES.get(d["namedtuple"]) if isinstance(d["namedtuple"], str) else None
        if cls is None:
            raise Undescribable(f"unknown tree class {d['namedtuple']!r}")
        if len(d["fields"]) != len(cls._fields):
            raise Undescribable(f"{d['namedtuple']} has {len(cls._fields)} fields, not {len(d['fields'])}")
        return cls(*(_skeleton(child) for child in d["fields"]))
    raise Undescribable(f"not a tree description: {str(d)[:80]}")


def _key(pair):
    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
        raise Undescribable(f"not a dict entry: {str(pair)[:80]}")
    return pair[0]
