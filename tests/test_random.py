"""`lamina.random`: Keras's seed semantics (int fixed, SeedGenerator advancing, None global and refused
while tracing), Keras's numbers for the same seeds, and seeded initializers drawing Keras's weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import random


def test_int_seed_repeats_and_matches_keras(keras):
    a, b = random.normal((4,), seed=11), random.normal((4,), seed=11)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, keras.random.normal((4,), seed=11))
    assert not np.array_equal(a, random.normal((4,), seed=12))


def test_seed_generator_advances_like_keras(keras):
    ours, theirs = random.SeedGenerator(5), keras.random.SeedGenerator(5)
    draws = [np.asarray(random.uniform((3,), seed=ours)) for _ in range(3)]
    expected = [np.asarray(keras.random.uniform((3,), seed=theirs)) for _ in range(3)]
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(np.stack(draws), np.stack(expected))
    np.testing.assert_array_equal(np.asarray(ours.state.value), np.asarray(theirs.state.value))


def test_unseeded_draws_follow_set_random_seed_like_keras(keras):
    keras.utils.set_random_seed(21)
    theirs = [np.asarray(keras.random.normal((3,))) for _ in range(2)]
    lamina.utils.set_random_seed(21)
    ours = [np.asarray(random.normal((3,))) for _ in range(2)]
    assert not np.array_equal(ours[0], ours[1])
    np.testing.assert_array_equal(np.stack(ours), np.stack(theirs))


def test_unseeded_draw_inside_jit_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="SeedGenerator"):
        jax.jit(lambda x: x + random.normal((2,)))(jnp.zeros(2))
    gen = random.SeedGenerator(1)
    out = jax.jit(lambda x, key: x + random.normal((2,), seed=key))(jnp.zeros(2), gen.next())
    assert out.shape == (2,)


def test_seed_generator_in_a_layer_draws_fresh_masks_in_compiled_code():
    class NoisyDropout(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = random.SeedGenerator(1337)

        def call(self, x, training=False):
            return random.dropout(x, 0.5, seed=self.seed_generator) if training else x

    layer = NoisyDropout()
    x = np.ones((4, 8), "float32")
    first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert set(np.unique(first)) <= {0.0, 2.0} and not np.array_equal(first, second)
    np.testing.assert_array_equal(layer(x), x)
    trainable, non_trainable = layer.trainable_variables, layer.non_trainable_variables
    step = jax.jit(lambda nt, x: layer.stateless_call(trainable, nt, x, training=True))
    out1, nt1 = step([v.value for v in non_trainable], x)
    out2, _ = step(nt1, x)
    assert not np.array_equal(np.asarray(out1), np.asarray(out2))


def test_bad_seeds_and_dtypes_are_named():
    with pytest.raises(ValueError, match=r"\[0, 2\*\*32\)"):
        random.normal((2,), seed=-1)
    with pytest.raises(ValueError, match="seed"):
        random.normal((2,), seed="7")
    with pytest.raises(ValueError, match="uniform.*float"):
        random.uniform((2,), dtype="int32", seed=1)
    with pytest.raises(ValueError, match="randint.*integer"):
        random.randint((2,), 0, 3, dtype="float32", seed=1)
    with pytest.raises(ValueError, match="categorical.*2-D"):
        random.categorical(np.zeros(3), 2, seed=1)
    with pytest.raises(ValueError, match="dropout.*rate"):
        random.dropout(np.ones(3), 1.5, seed=1)


@pytest.mark.parametrize("name", ["RandomNormal", "RandomUniform", "TruncatedNormal", "GlorotUniform",
                                  "HeNormal", "LecunUniform", "VarianceScaling"])
def test_seeded_initializers_draw_kerass_weights(keras, name):
    ours = np.asarray(getattr(lamina.initializers, name)(seed=9)((5, 7)))
    theirs = np.asarray(getattr(keras.initializers, name)(seed=9)((5, 7)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)  # same draws (formulas may differ by an ulp)
