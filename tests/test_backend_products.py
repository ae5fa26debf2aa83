"""Small matrix products as multiply-reduce loops in small models' programs (`lamina.backend.products`)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.backend import products, programs

RNG = np.random.default_rng(0)


def _has_product(fn, *args):
    # a new function each time: JAX keeps the trace of a function it has seen with these shapes
    return "dot_general" in str(jax.make_jaxpr(lambda *a: fn(*a))(*args))


def test_small_products_are_loops_inside_the_context_only():
    x, w = RNG.normal(size=(10, 8)).astype("float32"), RNG.normal(size=(8, 12)).astype("float32")
    with products.small_products():
        assert not _has_product(products.matmul, x, w)
        np.testing.assert_allclose(products.matmul(x, w), x @ w, rtol=1e-5, atol=1e-6)
        with products.small_products(False):  # e.g. under a Population's vmap
            assert _has_product(products.matmul, x, w)
        assert not _has_product(products.matmul, x, w)
        big = RNG.normal(size=(64, 8)).astype("float32")  # 64 * 8 * 12 terms > MAX_TERMS
        assert 64 * 8 * 12 > products.MAX_TERMS and _has_product(products.matmul, big, w)
        assert _has_product(products.matmul, x.astype(jnp.bfloat16), w.astype(jnp.bfloat16))  # f32 sums only
        assert _has_product(products.matmul, x[None], w)  # [1, 10, 8] @ [8, 12]: as jnp.matmul
    assert _has_product(products.matmul, x, w)


@pytest.fixture
def no_stored_programs():
    programs.configure(enabled=False)  # compiled here, so their text can be read
    yield
    programs.configure()


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the loops serve XLA:CPU's small models")
def test_a_small_models_training_program_has_no_library_products(no_stored_programs):
    from lamina.tuners import Population

    def mlp():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(12, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    x, y = RNG.normal(size=(40, 8)).astype("float32"), (RNG.random(40) > 0.5).astype("float32")

    def texts(model, batch_size):
        model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        return [compiled.as_text() for p in model._engine.programs.values() for compiled in p._programs.values()]

    small = texts(mlp(), 10)  # 10 * 8 * 12 terms
    assert small and not any(" dot(" in text for text in small)
    assert all(" dot(" in text for text in texts(mlp(), 40))  # 40 * 8 * 12 terms: library products
    members = [mlp(), mlp()]
    Population(members).fit(x, y, epochs=1, batch_size=10, verbose=0)  # vectorized: loops over the members
    vectorized = [c.as_text() for name, p in members[0]._engine.programs.items() if "population" in str(name)
                  for c in p._programs.values()]
    assert vectorized and not any(" dot(" in text for text in vectorized)
