"""lamina.optimizers.schedules against real Keras 3 schedules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.optimizers import schedules

STEPS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 100]

CASES = [
    ("ExponentialDecay", (0.1, 3, 0.5), {}),
    ("ExponentialDecay", (0.1, 3, 0.5), {"staircase": True}),
    ("PiecewiseConstantDecay", ([2, 5], [1.0, 0.5, 0.1]), {}),
    ("PiecewiseConstantDecay", ([4], [0.3, 0.2]), {}),
    ("PolynomialDecay", (0.1, 4), {"end_learning_rate": 0.01, "power": 0.5}),
    ("PolynomialDecay", (0.1, 4), {"cycle": True}),
    ("InverseTimeDecay", (0.1, 2, 0.5), {}),
    ("InverseTimeDecay", (0.1, 2, 0.5), {"staircase": True}),
    ("CosineDecay", (0.1, 5), {"alpha": 0.1}),
    ("CosineDecay", (0.0, 5), {"warmup_target": 0.2, "warmup_steps": 3}),
    ("CosineDecay", (0.05, 5), {"warmup_target": 0.2, "warmup_steps": 0}),
    ("CosineDecayRestarts", (0.1, 3), {}),
    ("CosineDecayRestarts", (0.1, 3), {"t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}),
]


@pytest.mark.parametrize(
    "name,args,kwargs", CASES, ids=[f"{n}-{'-'.join(k) or 'default'}" for n, _, k in CASES]
)
def test_values_and_config_match_keras(keras, name, args, kwargs):
    ref = getattr(keras.optimizers.schedules, name)(*args, **kwargs)
    ours = getattr(schedules, name)(*args, **kwargs)
    expected = np.array([float(ref(jnp.asarray(s, "int32"))) for s in STEPS])
    got = np.array([float(ours(jnp.asarray(s, "int32"))) for s in STEPS])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert len(set(np.round(expected, 8))) > 1  # the schedule really changes
    assert ours.get_config() == ref.get_config()


def test_hand_computed_values():
    exp = schedules.ExponentialDecay(1.0, decay_steps=10, decay_rate=0.5, staircase=True)
    assert float(exp(19)) == pytest.approx(0.5)
    assert float(exp(20)) == pytest.approx(0.25)
    pw = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [float(pw(s)) for s in (10, 11, 20, 21)] == pytest.approx([1.0, 0.5, 0.5, 0.1])
    cos = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert float(cos(2)) == pytest.approx(0.5)
    assert float(cos(4)) == pytest.approx(1.0)
    assert float(cos(9)) == pytest.approx(0.5, abs=1e-6)
    assert float(cos(1000)) == pytest.approx(0.0, abs=1e-7)


def test_schedules_run_under_jit_with_traced_step():
    sched = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    f = jax.jit(sched)
    assert [float(f(jnp.asarray(s, jnp.int32))) for s in (0, 3, 9)] == pytest.approx([1.0, 0.5, 0.1])
    assert f._cache_size() == 1
    restarts = jax.jit(schedules.CosineDecayRestarts(0.1, 3))
    assert float(restarts(jnp.asarray(3, jnp.int32))) == pytest.approx(0.1)


def test_serialize_round_trip_and_keras_format(keras):
    sched = schedules.PolynomialDecay(0.1, 50, end_learning_rate=0.001, power=2.0, cycle=True)
    conf = schedules.serialize(sched)
    kconf = keras.optimizers.schedules.serialize(
        keras.optimizers.schedules.PolynomialDecay(0.1, 50, end_learning_rate=0.001, power=2.0, cycle=True)
    )
    assert conf == kconf
    again = schedules.deserialize(conf)
    assert isinstance(again, schedules.PolynomialDecay) and again.get_config() == sched.get_config()
    restarts = schedules.deserialize(
        keras.optimizers.schedules.serialize(keras.optimizers.schedules.CosineDecayRestarts(0.1, 7, t_mul=3.0))
    )
    assert restarts.get_config()["t_mul"] == 3.0 and restarts.first_decay_steps == 7
    with pytest.raises(ValueError, match="Did you mean 'ExponentialDecay'"):
        schedules.deserialize({"class_name": "ExponentalDecay", "config": {}})


def test_custom_schedule_subclass():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, initial):
            self.initial = initial

        def __call__(self, step):
            return self.initial / (1.0 + jnp.asarray(step, jnp.float32))

        def get_config(self):
            return {"initial": self.initial}

    sched = Halving(0.4)
    assert float(sched(3)) == pytest.approx(0.1)
    assert Halving.from_config(sched.get_config()).initial == 0.4
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, -3)
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(0.1, 0)
    with pytest.raises(ValueError, match="one more entry"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="strictly increasing"):
        schedules.PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3])
