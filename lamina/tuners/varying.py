"""What may differ between the members of a `Population`, and how it enters the vectorized program.

Members must share one program: the same layers (types, units, activations, ...), optimizer class,
loss, metrics and compile settings. They may differ in their weights and optimizer state (stacked,
one row per member) and in float hyperparameters: the learning rate (already a state variable of
the optimizer), the optimizer's other floats (`beta_1`, `momentum`, `epsilon`, a schedule's rates,
...), regularizer factors, dropout rates and any other float in a layer's config.

* `compare(models)` walks each member's description (model config, optimizer config, compile
  arguments; names, seeds and initializers left out: they do not change the trained program) against
  models[0]'s. A float that differs becomes a `Varying` (where it lives in models[0], each member's
  value); anything else that differs raises a ValueError naming the first difference, e.g.
  "models[3] differs from models[0] at layers[1].units: 16 vs 12".
* `bound(varying, values)` is the context in which the step is traced: the attributes of models[0]'s
  objects are replaced by `Hyper` stand-ins holding this member's traced value (under `jax.vmap`),
  and restored afterwards.

A `Hyper` computes like its value (arithmetic and `jnp` functions give traced arrays), while a
Python decision on it (`rate == 0`, `if self.l2:`) is answered from the members' actual values when
they all agree (every member takes the same branch, as it would alone); when they disagree the
difference changes the program and is refused with the place named. Values are float32 inside the
program: a member trains as it would alone up to float32 rounding of the hyperparameter arithmetic
(Python computes `1 - beta_1` in float64 before it meets float32 arrays), far below 1e-4.
"""

import contextlib
import operator

import jax.numpy as jnp
import numpy as np

from lamina.backend import registry
from lamina.training import program_key

#: Config keys that do not change the trained program: names, seeds (random layers keep their seed
#: state in a non-trainable variable, stacked per member) and initializers (used once, at build).
_IGNORED = ("name", "seed")


def _ignored(key):
    return key in _IGNORED or (isinstance(key, str) and key.endswith("_initializer"))


class Varying:
    """A float that differs between members: `path` (as written in errors), `owner` and `attribute`
    (where models[0] keeps it), `values` (one float per member)."""

    def __init__(self, path, owner, attribute, values):
        self.path, self.owner, self.attribute, self.values = path, owner, attribute, [float(v) for v in values]

    def __repr__(self):
        return f"Varying({self.path}: {self.values})"


def describe(model):
    """(description, raw model config): the tree `compare` walks; positions in both agree."""
    raw = model.get_config()
    try:
        config = program_key.anonymous(raw)  # a functional graph's layer names become positions
    except registry.NotExact:
        config = raw
    optimizer = registry.serialize_keras_object(model.optimizer) if model.optimizer is not None else None
    compile_config = {k: _serialized(v) for k, v in (model._compile_config or {}).items() if k != "optimizer"}
    description = {"model": {"class": type(model).__qualname__, "config": config}, "optimizer": optimizer,
                   "compile": compile_config,
                   "trainable": [layer.trainable for layer in model._flatten_layers()]}
    return description, raw


def _serialized(value):
    if isinstance(value, dict):
        return {k: _serialized(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialized(v) for v in value]
    if callable(value) and not isinstance(value, type):
        return registry.serialize_keras_object(value)
    return value


def _render(path):
    """["model", "config", "layers", 1, "config", "units"] -> "layers[1].units"."""
    out = ""
    for key in path[1:] if path and path[0] == "model" else path:
        if key == "config":
            continue
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out or "<model>"


def _layer_note(raw, path):
    """" (layer 'dense' of models[0])" for a path through a model config's `layers` (the config counts the
    Input layer: its positions may differ from `model.layers`'), else ""."""
    cfg, name = raw, None
    for key, following in zip(path[2:] if path[:1] == ["model"] else [], path[3:]):
        if isinstance(cfg, dict) and key == "layers" and isinstance(following, int):
            entry = cfg["layers"][following] if following < len(cfg.get("layers", [])) else {}
            name = entry.get("name") or (entry.get("config") or {}).get("name") or name
            cfg = entry
        elif isinstance(cfg, dict) and key == "config":
            cfg = cfg.get("config")
        elif isinstance(cfg, dict) and not isinstance(key, int):
            cfg = cfg.get(key)
    return f" (layer {name!r} of models[0])" if name else ""


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _walk(a, b, path, found):
    """Compare two description trees; floats that differ are appended to `found` as paths; any other
    difference is returned as (path, a, b) (the first one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if _ignored(key):
                continue
            if key not in a or key not in b:
                return path + [key], a.get(key, "<absent>"), b.get(key, "<absent>")
            diff = _walk(a[key], b[key], path + [key], found)
            if diff:
                return diff
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return path, f"{len(a)} entries", f"{len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b)):
            diff = _walk(x, y, path + [i], found)
            if diff:
                return diff
        return None
    if _is_number(a) and _is_number(b) and (isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating))):
        if float(a) != float(b):
            found.append(path)
        return None
    if type(a) is not type(b) or a != b:
        return path, a, b
    return None


def compare(models):
    """The `Varying` floats of `models` (see the module docstring); raises ValueError on a structural
    difference, naming the first one."""
    descriptions = [describe(m) for m in models]
    reference = descriptions[0][0]
    paths = []
    for i, (description, _) in enumerate(descriptions[1:], start=1):
        found = []
        diff = _walk(reference, description, [], found)
        if diff:
            path, want, got = diff
            raise ValueError(
                f"Population: models[{i}] differs from models[0] at {_render(path)}{_layer_note(descriptions[0][1], path)}: "
                f"{got!r} vs {want!r}. "
                "Members must share one architecture, optimizer class, loss, metrics and compile settings; "
                "only weights and float hyperparameters (learning rate, optimizer floats, regularizer "
                "factors, dropout rates) may differ.")
        paths += [p for p in found if p not in paths]
    varying = []
    for path in paths:
        if path[:3] == ["optimizer", "config", "learning_rate"] and len(path) == 3:
            continue  # a float learning rate is a variable of the optimizer's state, stacked like the rest
        values = [_value_at(d, path) for d, _ in descriptions]
        owner, attribute = _locate(models[0], descriptions[0][1], path, values[0])
        varying.append(Varying(_render(path), owner, attribute, values))
    return varying


def _value_at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _locate(model, raw, path, value):
    """(object, attribute name) of models[0] holding the float at `path` of its description."""
    where = _render(path)
    if path[0] == "optimizer":
        obj, cfg, rest = model.optimizer, None, path[2:]
    elif path[0] == "model":
        obj, cfg, rest = model, raw, path[2:]
    else:
        raise _unplaceable(where)
    i = 0
    while i < len(rest) - 1:
        key = rest[i]
        if key == "layers" and cfg is not None and isinstance(rest[i + 1], int):
            entry = cfg["layers"][rest[i + 1]]
            name = entry.get("name") or entry.get("config", {}).get("name")
            found = [layer for layer in obj._flatten_layers(include_self=False) if layer.name == name]
            if not found:
                raise _unplaceable(where)
            obj, cfg = found[0], entry
            i += 2
            continue
        if key == "config":
            cfg = cfg.get("config") if isinstance(cfg, dict) else None
            i += 1
            continue
        attribute = "_learning_rate" if obj is model.optimizer and key == "learning_rate" else key
        obj = getattr(obj, attribute, None)
        cfg = cfg.get(key) if isinstance(cfg, dict) else None
        if obj is None:
            raise _unplaceable(where)
        i += 1
    attribute = rest[-1]
    current = getattr(obj, attribute, None)
    if not _is_number(current) or float(current) != float(value):
        raise _unplaceable(where)
    return obj, attribute


def _unplaceable(where):
    return ValueError(
        f"Population: the members differ at {where}, a float lamina cannot vectorize (it does not know "
        "which attribute the program reads). Give the members the same value, or train them alone.")


class Hyper:
    """One member's value of a `Varying` float while the vectorized step is traced (see the module
    docstring): arithmetic gives traced arrays; comparisons with Python numbers and truth tests are
    answered from all members' values, and refused when the members would take different branches."""

    __slots__ = ("value", "members", "where")

    def __init__(self, value, members, where):
        self.value, self.members, self.where = value, members, where

    def __jax_array__(self):
        return self.value

    def _decide(self, op, symbol, other):
        if not _is_number(other):  # an array: a traced comparison
            return op(self.value, other.value if isinstance(other, Hyper) else other)
        answers = {bool(op(v, other)) for v in self.members}
        if len(answers) > 1:
            raise ValueError(
                f"Population: the members' values at {self.where} ({self.members}) make the program take "
                f"different branches (it tests `{symbol} {other!r}`), so they cannot share one program. "
                "Group the members by that test, or train them alone.")
        return answers.pop()

    def __eq__(self, other):
        return self._decide(operator.eq, "==", other)

    def __ne__(self, other):
        return self._decide(operator.ne, "!=", other)

    def __lt__(self, other):
        return self._decide(operator.lt, "<", other)

    def __le__(self, other):
        return self._decide(operator.le, "<=", other)

    def __gt__(self, other):
        return self._decide(operator.gt, ">", other)

    def __ge__(self, other):
        return self._decide(operator.ge, ">=", other)

    def __bool__(self):
        return self._decide(operator.ne, "!=", 0)

    __hash__ = object.__hash__

    def __float__(self):
        raise TypeError(
            f"Population: the code needs a Python float for {self.where}, whose members' values differ "
            f"({self.members}); it cannot be vectorized. Give the members the same value, or train them alone.")

    __int__ = __index__ = __float__


def _binary(op, reflected=False):
    def method(self, other):
        other = other.value if isinstance(other, Hyper) else other
        return op(other, self.value) if reflected else op(self.value, other)

    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("pow", operator.pow),
                   ("mod", operator.mod)):
    setattr(Hyper, f"__{_name}__", _binary(_op))
    setattr(Hyper, f"__r{_name}__", _binary(_op, reflected=True))
Hyper.__neg__ = lambda self: -self.value
Hyper.__pos__ = lambda self: self.value
Hyper.__abs__ = lambda self: jnp.abs(self.value)
del _name, _op


def hyper_values(varying):
    """{path: float32 [members]}: the vectorized inputs of `varying` (the `hyper` of a `Members` state)."""
    return {v.path: np.asarray(v.values, np.float32) for v in varying}


@contextlib.contextmanager
def bound(varying, values):
    """Within: models[0]'s attributes hold `Hyper`s of `values` ({path: this member's traced value})."""
    saved = [(v.owner, v.attribute, getattr(v.owner, v.attribute)) for v in varying]
    try:
        for v in varying:
            object.__setattr__(v.owner, v.attribute, Hyper(values[v.path], v.values, v.path))
        yield
    finally:
        for owner, attribute, value in saved:
            object.__setattr__(owner, attribute, value)


