import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import regularizers as R
from lamina.backend.variables import Variable


@pytest.fixture(scope="module")
def w():
    return np.random.default_rng(1).standard_normal((6, 4)).astype("float32")


CASES = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.5}),
    ("L1L2", {}), ("L1L2", {"l1": 0.1, "l2": 0.2}), ("L1L2", {"l2": 0.05}),
    ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.2, "mode": "columns"}),
]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_values_match_keras(keras, w, name, kwargs):
    expected = float(getattr(keras.regularizers, name)(**kwargs)(jnp.asarray(w)))
    got = getattr(R, name)(**kwargs)(w)
    assert got.shape == () and got.dtype == jnp.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_config_round_trip_with_keras(keras, name, kwargs):
    ours = getattr(R, name)(**kwargs)
    theirs = getattr(keras.regularizers, name)(**kwargs)
    # Keras stores L1's factor after a float32 round trip (0.30000001192...); we keep the float given.
    assert ours.get_config().keys() == theirs.get_config().keys()
    for key, value in theirs.get_config().items():
        if isinstance(value, str):  # e.g. OrthogonalRegularizer's mode
            assert ours.get_config()[key] == value
        else:
            assert ours.get_config()[key] == pytest.approx(value, rel=1e-6)
    data = R.serialize(ours)
    assert {k: data[k] for k in ("module", "class_name", "registered_name")} == {
        k: keras.regularizers.serialize(theirs)[k] for k in ("module", "class_name", "registered_name")
    }
    back = R.deserialize(keras.regularizers.serialize(theirs))
    assert type(back) is type(ours)
    np.testing.assert_allclose(back.get_config().get("l1", 0), ours.get_config().get("l1", 0), rtol=1e-6)
    assert R.deserialize(data).get_config() == ours.get_config()


def test_formulas_by_hand():
    w = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
    assert float(R.L1(0.1)(w)) == pytest.approx(0.1 * 3.5)
    assert float(R.L2(0.1)(w)) == pytest.approx(0.1 * 5.25)  # no factor 1/2
    assert float(R.L1L2(l1=0.1, l2=0.2)(w)) == pytest.approx(0.35 + 1.05)
    assert float(R.L1L2()(w)) == 0.0
    assert float(R.L2()(Variable(w))) == pytest.approx(0.0525)
    ortho = np.eye(3, dtype="float32")
    assert float(R.OrthogonalRegularizer()(ortho)) == pytest.approx(0.0, abs=1e-7)


def test_defaults_and_aliases():
    assert R.get("l1").l1 == 0.01 and R.get("l2").l2 == 0.01
    assert isinstance(R.get("l1_l2"), R.L1L2) and R.get("l1_l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert isinstance(R.get("l1l2"), R.L1L2) and isinstance(R.get("L1L2"), R.L1L2)
    assert isinstance(R.get("orthogonal_regularizer"), R.OrthogonalRegularizer)
    assert R.l1_l2(l1=0.1).l1 == 0.1
    assert R.L1(None).l1 == 0.01
    assert R.get(None) is None
    reg = R.L2(0.3)
    assert R.get(reg) is reg
    assert isinstance(R.get(R.L1), R.L1)
    assert R.get({"class_name": "L2", "config": {"l2": 0.2}}).l2 == 0.2


def test_validation_errors():
    with pytest.raises(ValueError, match="l1"):
        R.L1(-0.1)
    with pytest.raises(ValueError, match="l2"):
        R.L2("0.1")
    with pytest.raises(ValueError, match="l2"):
        R.L1L2(l2=float("nan"))
    with pytest.raises(ValueError, match="mode"):
        R.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match="rank 2"):
        R.OrthogonalRegularizer()(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Did you mean 'l2'"):
        R.get("l3")
    with pytest.raises(TypeError, match="regularizer"):
        R.get(0.5)
    with pytest.raises(NotImplementedError, match="get_config"):
        R.Regularizer().get_config()


def test_jit_and_grad(w):
    reg = R.L1L2(l1=0.1, l2=0.2)
    np.testing.assert_allclose(jax.jit(reg)(w), reg(w), rtol=1e-6)
    grad = jax.grad(lambda v: reg(v))(jnp.asarray(w))
    np.testing.assert_allclose(grad, 0.1 * np.sign(w) + 0.4 * w, rtol=1e-5)
