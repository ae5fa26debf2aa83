"""Every public `keras.ops` and `keras.random` callable, called with the same inputs in Keras 3 and in
lamina: same outputs (rtol 1e-5), dtypes and shapes. The names come from Keras itself, so a name Keras
adds shows up here as missing; the argument recipes live in `ops_recipes.py`."""

import inspect
import types

import numpy as np
import pytest

import lamina
from ops_recipes import NOT_COMPARED, PARTIAL, RECIPES, Custom, Gen


def _keras():
    return pytest.importorskip("keras")


def keras_names():
    """'relu', 'image.resize', 'random.normal', ...: every public callable of keras.ops (and its image
    submodule, whose ops are not in the flat namespace) and of keras.random."""
    keras = _keras()
    names = [n for n in dir(keras.ops) if not n.startswith("_") and not isinstance(getattr(keras.ops, n), types.ModuleType)]
    names += [f"image.{n}" for n in dir(keras.ops.image) if not n.startswith("_")]
    names += [f"random.{n}" for n in dir(keras.random) if not n.startswith("_")]
    return sorted(names)


def _resolve(root, name):
    obj = root
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _pair(name):
    keras = _keras()
    if name.startswith("random."):
        return _resolve(keras, name), _resolve(lamina, name)
    return _resolve(keras.ops, name), _resolve(lamina.ops, name)


def test_every_keras_name_exists_in_lamina():
    missing = []
    for name in keras_names():
        try:
            _pair(name)
        except AttributeError:
            missing.append(name)
    assert not missing, f"lamina lacks {missing}"


def test_submodules_match_keras():
    keras = _keras()
    for sub in ("numpy", "nn", "linalg", "image"):
        theirs = {n for n in dir(getattr(keras.ops, sub)) if not n.startswith("_")}
        ours = set(getattr(getattr(lamina.ops, sub), "__all__"))
        assert theirs <= ours, (sub, sorted(theirs - ours))
        assert ours <= theirs, (sub, sorted(ours - theirs))
    assert lamina.ops.nn.relu is lamina.ops.relu and lamina.ops.numpy.add is lamina.ops.add


def test_every_name_has_a_recipe_or_a_reason():
    names = set(keras_names())
    assert not names - set(RECIPES) - set(NOT_COMPARED), sorted(names - set(RECIPES) - set(NOT_COMPARED))
    assert not set(RECIPES) - names, f"recipes for names Keras does not have: {sorted(set(RECIPES) - names)}"
    assert set(PARTIAL) <= set(RECIPES)


def test_signatures_match_keras():
    """Same parameter names, order and defaults (so keyword calls and defaults behave alike)."""
    different = []
    for name in keras_names():
        theirs, ours = _pair(name)
        try:
            a, b = inspect.signature(theirs), inspect.signature(ours)
        except (TypeError, ValueError):
            continue
        strip = lambda s: [(p.name, p.kind, p.default if not callable(p.default) else "fn")  # noqa: E731
                           for p in s.parameters.values() if p.name != "self"]
        if strip(a) != strip(b):
            different.append(f"{name}: keras{a} lamina{b}")
    assert not different, "\n".join(different)


def _leaves(out):
    if isinstance(out, (list, tuple)):
        return [leaf for item in out for leaf in _leaves(item)]
    if isinstance(out, dict):
        return [leaf for key in sorted(out) for leaf in _leaves(out[key])]
    return [out]


def _structure(out):
    """The nesting of an output: containers by kind (list / tuple / dict), leaves as '*'."""
    if isinstance(out, list):
        return [_structure(item) for item in out]
    if isinstance(out, tuple):
        return tuple(_structure(item) for item in out)
    if isinstance(out, dict):
        return {key: _structure(value) for key, value in out.items()}
    return "*"


def _compare(name, index, theirs, ours):
    assert _structure(ours) == _structure(theirs), (
        f"{name}[{index}]: output structure {_structure(ours)}, Keras {_structure(theirs)}")
    a, b = _leaves(theirs), _leaves(ours)
    assert len(a) == len(b), f"{name}[{index}]: {len(b)} outputs, Keras {len(a)}"
    for k, (x, y) in enumerate(zip(a, b)):
        where = f"{name}[{index}] output {k}"
        if x is None or isinstance(x, (bool, int, float, str, tuple)) and not hasattr(x, "shape"):
            assert x == y and type(x) is type(y), f"{where}: lamina {y!r}, Keras {x!r}"
            continue
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype, f"{where}: dtype {y.dtype}, Keras {x.dtype}"
        assert x.shape == y.shape, f"{where}: shape {y.shape}, Keras {x.shape}"
        if x.dtype.kind in "biu":
            np.testing.assert_array_equal(y, x, err_msg=where)
        else:
            np.testing.assert_allclose(y.astype(np.complex128 if x.dtype.kind == "c" else np.float64),
                                       x.astype(np.complex128 if x.dtype.kind == "c" else np.float64),
                                       rtol=1e-5, atol=1e-5 if x.dtype != np.float16 else 2e-3, err_msg=where,
                                       equal_nan=True)


def _call(op, recipe, seed):
    g = Gen(seed)
    if isinstance(recipe, Custom):
        return recipe.fn(op, g)
    args, kwargs = recipe(g)
    return op(*args, **kwargs)


@pytest.mark.parametrize("name", sorted(set(RECIPES)))
def test_matches_keras(name):
    keras_op, lamina_op = _pair(name)
    for index, recipe in enumerate(RECIPES[name]):
        theirs = _call(keras_op, recipe, index)
        ours = _call(lamina_op, recipe, index)
        _compare(name, index, theirs, ours)


def test_counts(capsys):
    """How many Keras names exist, are compared, and how many cases run (printed with -s)."""
    names = keras_names()
    cases = sum(len(RECIPES[n]) for n in names if n in RECIPES)
    with capsys.disabled():
        print(f"\nkeras.ops/random names: {len(names)}; compared: {len([n for n in names if n in RECIPES])} "
              f"({len(PARTIAL)} on part of their domain), not compared: {len(NOT_COMPARED)}; cases: {cases}")
    assert len(names) > 350
