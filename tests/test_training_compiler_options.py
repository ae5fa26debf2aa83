"""Small models compile fast: their programs ask XLA:CPU for its loop emitters, bigger ones use the defaults,
and the choice changes no result beyond rounding."""

import jax
import numpy as np
import pytest

import lamina as keras
from lamina.backend import lanes, programs
from lamina.training import engine

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu", reason="the fast-compile options are XLA:CPU's")


SMALL = {"xla_cpu_use_fusion_emitters": False, "xla_cpu_copy_insertion_use_region_analysis": True}


def mlp(hidden):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_small_models_compile_with_the_loop_emitters_and_big_ones_with_the_defaults():
    small, big = mlp(12), mlp(engine.SMALL_MODEL_WEIGHTS // 9)  # 8*h + h + h + 1 weights: just above the limit
    assert small.count_params() <= engine.SMALL_MODEL_WEIGHTS < big.count_params()
    x, y = np.ones((20, 8), "float32"), np.ones(20, "float32")
    for model in (small, big):
        model.fit(x, y, epochs=1, batch_size=10, verbose=0)
        model.predict(x, verbose=0)
    for program in small._engine.programs.values():
        assert program.compiler_options == programs.known_options(SMALL)
    assert big._engine.programs and all(p.compiler_options == {} for p in big._engine.programs.values())


def test_the_options_change_no_result_beyond_rounding(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), (rng.random(64) > 0.5).astype("float32")
    results = []
    for limit in (engine.SMALL_MODEL_WEIGHTS, 0):
        monkeypatch.setattr(engine, "SMALL_MODEL_WEIGHTS", limit)
        keras.utils.set_random_seed(3)
        model = mlp(12)
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
        results.append((history.history["loss"], model.get_weights(), model.predict(x, verbose=0)))
    fast, default = results
    np.testing.assert_allclose(fast[0], default[0], rtol=1e-5)
    for a, b in zip(fast[1] + [fast[2]], default[1] + [default[2]]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hidden", [12, engine.SMALL_MODEL_WEIGHTS // 9])
def test_population_programs_follow_their_members_size(hidden):
    from lamina.tuners import Population

    members = [mlp(hidden) for _ in range(2)]
    x, y = np.ones((20, 8), "float32"), np.ones(20, "float32")
    population = Population(members)
    population.fit(x, y, epochs=1, batch_size=10, validation_split=0.5, verbose=0)
    population.predict(x)
    vectorized = {name: p for name, p in members[0]._engine.programs.items() if "population" in str(name)}
    assert len(vectorized) >= 2  # epochs with their validation, and predict (initial slots come from NumPy)
    want = SMALL if hidden == 12 else {}
    want = programs.known_options({**want, **lanes.compiler_options()})  # and the options for the members' lanes
    assert all(p.compiler_options == want for p in vectorized.values())
