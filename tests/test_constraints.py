import jax
import numpy as np
import pytest

from lamina import constraints as C


@pytest.fixture(scope="module")
def w():
    w = np.random.default_rng(2).standard_normal((5, 4)).astype("float32") * 2
    w[:, 3] = 0.0  # a zero slice: epsilon keeps it finite
    return w


CASES = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 1.5, "axis": 1}), ("MaxNorm", {"axis": [0, 1]}),
    ("NonNeg", {}), ("UnitNorm", {}), ("UnitNorm", {"axis": 1}),
    ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 1.0, "max_value": 3.0, "rate": 0.5, "axis": 1}),
    ("Constraint", {}),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_values_and_config_match_keras(keras, w, name, kwargs):
    ours = getattr(C, name)(**kwargs)
    theirs = getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(w)), np.asarray(theirs(w)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert C.serialize(ours) == keras.constraints.serialize(theirs)
    back = C.deserialize(keras.constraints.serialize(theirs))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()


def test_formulas_by_hand():
    w = np.array([[3.0, 0.1], [4.0, 0.0]], "float32")  # column norms 5 and 0.1
    eps = 1e-7
    out = np.asarray(C.MaxNorm(2.0)(w))
    np.testing.assert_allclose(out[:, 0], w[:, 0] * 2.0 / (5.0 + eps), rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], w[:, 1] * 0.1 / (0.1 + eps), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(C.UnitNorm()(w))[:, 0], [0.6, 0.8], rtol=1e-6)
    out = np.asarray(C.MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(w))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [3.5, 0.55], rtol=1e-5)
    np.testing.assert_array_equal(C.NonNeg()(np.array([-1.0, 2.0])), [0.0, 2.0])


def test_aliases_and_get():
    assert isinstance(C.get("max_norm"), C.MaxNorm) and C.get("max_norm").max_value == 2
    assert isinstance(C.get("non_neg"), C.NonNeg)
    assert isinstance(C.get("unit_norm"), C.UnitNorm)
    assert isinstance(C.get("min_max_norm"), C.MinMaxNorm)
    assert isinstance(C.get("MaxNorm"), C.MaxNorm)
    assert C.max_norm is C.MaxNorm
    assert C.get(None) is None
    c = C.UnitNorm(axis=1)
    assert C.get(c) is c
    assert isinstance(C.get(C.NonNeg), C.NonNeg)
    assert C.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1]}})._axis == (0, 1)
    fn = lambda v: v  # noqa: E731
    assert C.get(fn) is fn


def test_errors():
    with pytest.raises(ValueError, match="Did you mean 'max_norm'"):
        C.get("max_nrom")
    with pytest.raises(ValueError, match="axis"):
        C.MaxNorm(axis="rows")
    with pytest.raises(ValueError, match="max_value"):
        C.MaxNorm(max_value="2")
    with pytest.raises(ValueError, match="min_value"):
        C.MinMaxNorm(min_value=2.0, max_value=1.0)
    with pytest.raises(TypeError, match="constraint"):
        C.get(1)


def test_jit(w):
    c = C.MinMaxNorm(0.5, 1.5, rate=0.7)
    np.testing.assert_allclose(jax.jit(c)(w), c(w), rtol=1e-6)
