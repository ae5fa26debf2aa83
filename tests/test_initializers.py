import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import initializers as I
from lamina.backend import random as lrandom
from lamina.backend.scope import StatelessScope

TRUNC = 0.87962566103423978


def test_every_keras_name_resolves(keras):
    from keras.src.initializers import ALL_OBJECTS_DICT as keras_names

    for name, cls in keras_names.items():
        assert I.ALL_OBJECTS_DICT[name].__name__ == cls.__name__, name
    assert isinstance(I.get("normal"), I.RandomNormal)
    assert isinstance(I.get("uniform"), I.RandomUniform)
    assert isinstance(I.get("random_normal"), I.RandomNormal)
    assert isinstance(I.get("GlorotUniform"), I.GlorotUniform)
    assert isinstance(I.get("variance_scaling"), I.VarianceScaling)


CONFIG_CASES = [
    ("RandomUniform", {}), ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": 4}),
    ("RandomNormal", {}), ("RandomNormal", {"mean": 1.0, "stddev": 0.5, "seed": 1}),
    ("TruncatedNormal", {}), ("Zeros", {}), ("Ones", {}), ("Constant", {"value": 3.0}),
    ("Identity", {"gain": 2.0}), ("Orthogonal", {"gain": 0.5, "seed": 2}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "normal", "seed": 5}),
    ("GlorotUniform", {}), ("GlorotNormal", {"seed": 3}), ("HeUniform", {}), ("HeNormal", {}),
    ("LecunUniform", {}), ("LecunNormal", {}), ("STFT", {"side": "imag", "window": "hamming"}),
]


@pytest.mark.parametrize("name, kwargs", CONFIG_CASES)
def test_config_and_serialization_match_keras(keras, name, kwargs):
    ours = getattr(I, name)(**kwargs)
    theirs = getattr(keras.initializers, name)(**kwargs)
    expected = theirs.get_config()
    if name == "Identity":
        expected["gain"] = theirs.gain  # Keras 3.15 drops `gain` from the config; we keep it
    assert ours.get_config() == expected
    assert I.serialize(ours) == {**keras.initializers.serialize(theirs), "config": expected}
    back = I.deserialize(I.serialize(ours))
    assert type(back) is type(ours) and back.get_config() == ours.get_config()
    back = I.deserialize(keras.initializers.serialize(theirs))
    expected = theirs.get_config()
    assert type(back) is type(ours) and expected.items() <= back.get_config().items()
    assert ours.clone().get_config() == ours.get_config()


SHAPE = (200, 300)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("RandomUniform", {}), ("RandomNormal", {}), ("TruncatedNormal", {"mean": 0.3, "stddev": 2.0}),
        ("GlorotUniform", {}), ("GlorotNormal", {}), ("HeUniform", {}), ("HeNormal", {}),
        ("LecunUniform", {}), ("LecunNormal", {}),
        ("VarianceScaling", {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"}),
    ],
)
def test_statistics_match_keras(keras, name, kwargs):
    ours = np.asarray(getattr(I, name)(seed=1, **kwargs)(SHAPE))
    theirs = np.asarray(getattr(keras.initializers, name)(seed=1, **kwargs)(SHAPE))
    assert ours.shape == SHAPE and ours.dtype == np.float32
    scale = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 0.03 * scale + 1e-3 * abs(theirs.mean())
    assert abs(ours.std() - scale) < 0.02 * scale
    if name not in ("RandomNormal", "VarianceScaling"):  # bounded distributions
        assert abs(ours.max() - theirs.max()) < 0.02 * scale
        assert abs(ours.min() - theirs.min()) < 0.02 * scale


def test_exact_scales_by_hand():
    kernel = (3, 3, 16, 32)  # conv kernel: receptive field 9
    fan_in, fan_out = 9 * 16, 9 * 32
    assert I.compute_fans(kernel) == (fan_in, fan_out)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((2, 3, 4), input_axes=[0, 1], output_axes=[2]) == (6, 4)

    w = np.asarray(I.GlorotUniform(seed=0)(kernel))
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.std() - limit / math.sqrt(3)) < 0.03 * limit

    w = np.asarray(I.HeNormal(seed=0)(kernel))
    raw = math.sqrt(2.0 / fan_in) / TRUNC
    assert np.abs(w).max() <= 2 * raw * (1 + 1e-6)
    assert abs(w.std() - math.sqrt(2.0 / fan_in)) < 0.03 * math.sqrt(2.0 / fan_in)

    w = np.asarray(I.LecunUniform(seed=0)((400, 10)))
    assert np.abs(w).max() <= math.sqrt(3.0 / 400)

    w = np.asarray(I.VarianceScaling(scale=0.5, mode="fan_avg", distribution="uniform", seed=0)((100, 300)))
    assert np.abs(w).max() <= math.sqrt(3 * 0.5 / 200) and np.abs(w).max() > 0.99 * math.sqrt(3 * 0.5 / 200)

    w = np.asarray(I.RandomUniform(seed=0)((1000,)))
    assert w.min() >= -0.05 and w.max() < 0.05 and w.max() > 0.049

    w = np.asarray(I.TruncatedNormal(mean=1.0, stddev=0.1, seed=0)((5000,)))
    assert w.min() >= 0.8 and w.max() <= 1.2


def test_orthogonal():
    for shape in [(30, 20), (20, 30), (3, 3, 4, 8)]:
        w = np.asarray(I.Orthogonal(gain=2.0, seed=3)(shape))
        assert w.shape == shape
        flat = w.reshape(-1, shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-4)
    with pytest.raises(ValueError, match="rank >= 2"):
        I.Orthogonal()((5,))


def test_identity_constant_zeros_ones():
    np.testing.assert_array_equal(I.Identity(gain=3.0)((2, 3)), 3.0 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))
    np.testing.assert_array_equal(I.Constant(1.5)((2, 2)), np.full((2, 2), 1.5))
    row = I.Constant([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(row((2, 3)), [[1, 2, 3], [1, 2, 3]])
    assert I.Constant.from_config(row.get_config())((1, 3)).tolist() == [[1.0, 2.0, 3.0]]
    with pytest.raises(ValueError, match="cannot fill"):
        row((2, 2))
    zeros = I.get("zeros")((3,), dtype="int32")
    assert zeros.dtype == jnp.int32 and zeros.tolist() == [0, 0, 0]
    assert I.get("ones")((2,)).dtype == jnp.float32
    assert I.get("ones")((2,), dtype="bfloat16").dtype == jnp.bfloat16


def test_stft_matches_keras(keras):
    for kwargs in [{}, {"side": "imag", "scaling": "spectrum"}, {"window": None}, {"periodic": True}]:
        ours = np.asarray(I.STFT(**kwargs)((16, 1, 9)))
        theirs = np.asarray(keras.initializers.STFT(**kwargs)((16, 1, 9)))
        np.testing.assert_allclose(ours, theirs, atol=1e-5)  # Keras computes in float32


def test_int_seed_repeats_and_none_advances():
    seeded = I.GlorotUniform(seed=7)
    a, b = seeded((4, 5)), seeded((4, 5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, I.GlorotUniform(seed=7)((4, 5)))
    assert not np.array_equal(a, I.GlorotUniform(seed=8)((4, 5)))

    unseeded = I.RandomNormal()
    assert not np.array_equal(unseeded((10,)), unseeded((10,)))

    lrandom.set_random_seed(123)
    first = [np.asarray(I.HeNormal()((3, 3))), np.asarray(I.RandomUniform()((3,)))]
    lrandom.set_random_seed(123)
    second = [np.asarray(I.HeNormal()((3, 3))), np.asarray(I.RandomUniform()((3,)))]
    for u, v in zip(first, second):
        np.testing.assert_array_equal(u, v)


def test_seed_generator_and_bad_seed():
    init = I.RandomUniform(seed=lrandom.SeedGenerator(5))
    a, b = np.asarray(init((6,))), np.asarray(init((6,)))
    assert not np.array_equal(a, b)
    again = I.RandomUniform(seed=lrandom.SeedGenerator(5))
    np.testing.assert_array_equal(again((6,)), a)
    config = init.get_config()["seed"]
    assert config["class_name"] == "SeedGenerator" and config["config"]["seed"] == 5
    assert isinstance(I.RandomUniform.from_config(init.get_config()).seed, lrandom.SeedGenerator)
    with pytest.raises(ValueError, match="seed"):
        I.RandomNormal(seed="abc")


def test_concrete_inside_traces():
    found = {}

    @jax.jit
    def f(x, key):
        with StatelessScope():
            found["glorot"] = I.GlorotUniform()((3, 2))
            found["seeded"] = I.Orthogonal(seed=1)((3, 3))
            found["zeros"] = I.Zeros()((2,))
        return x

    f(jnp.ones(2), jax.random.PRNGKey(0))
    for value in found.values():
        assert not isinstance(value, jax.core.Tracer)
        np.asarray(value)


def test_argument_validation():
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="poisson")
    with pytest.raises(TypeError, match="float dtype"):
        I.RandomNormal()((2,), dtype="int32")
    with pytest.raises(ValueError, match="fully defined"):
        I.GlorotUniform()((None, 3))


def test_get_forms():
    assert I.get(None) is None
    inst = I.HeUniform(seed=1)
    assert I.get(inst) is inst
    assert isinstance(I.get(I.Ones), I.Ones)
    fn = lambda shape, dtype=None: jnp.full(shape, 2.0)  # noqa: E731
    assert I.get(fn) is fn
    from_dict = I.get({"class_name": "RandomUniform", "config": {"minval": 0.0, "maxval": 1.0, "seed": 3}})
    assert from_dict.minval == 0.0 and from_dict.seed == 3
    arr = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(I.get(arr)((2, 3)), arr)
    with pytest.raises(ValueError, match="shape"):
        I.get(arr)((3, 2))
    with pytest.raises(ValueError, match="Did you mean 'glorot_uniform'"):
        I.get("glorot_unifrom")
    with pytest.raises(ValueError, match="Did you mean 'he_normal'"):
        I.get("he_nromal")
    with pytest.raises(TypeError, match="initializer"):
        I.get(3.5)


def test_dtypes_and_large_weight_path(monkeypatch):
    assert I.RandomNormal(seed=1)((3,), dtype="bfloat16").dtype == jnp.bfloat16
    assert I.Orthogonal(seed=1)((4, 4), dtype="float16").dtype == jnp.float16
    monkeypatch.setattr(I, "_MAX_BUCKET", 100)  # exercise the exact-shape path cheaply
    w = np.asarray(I.HeUniform(seed=2)((20, 10)))
    assert w.shape == (20, 10) and np.abs(w).max() <= math.sqrt(6 / 20)
    np.testing.assert_array_equal(w, I.HeUniform(seed=2)((20, 10)))


@pytest.mark.parametrize(
    "name,kwargs",
    [("RandomUniform", {"minval": -0.5, "maxval": 2.0}), ("RandomNormal", {"mean": 1.0, "stddev": 0.5}),
     ("TruncatedNormal", {"mean": 0.3, "stddev": 2.0}), ("GlorotUniform", {}), ("HeNormal", {})],
)
def test_unseeded_draws_on_the_host_with_keras_statistics(keras, name, kwargs):
    """Unseeded initializers draw with NumPy (seeded from lamina's stream), no compiled sampler: Keras's
    distribution all the same."""
    def compiled_draw(*args):
        raise AssertionError("an unseeded draw reached a compiled sampler")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(I, "_sampler", compiled_draw)
        patch.setattr(I, "_sample", compiled_draw)
        ours = np.asarray(getattr(I, name)(**kwargs)(SHAPE))
        half = getattr(I, name)(**kwargs)((3, 5), dtype="bfloat16")
    theirs = np.asarray(getattr(keras.initializers, name)(seed=1, **kwargs)(SHAPE))
    assert ours.shape == SHAPE and ours.dtype == np.float32 and (half.shape, half.dtype) == ((3, 5), jnp.bfloat16)
    scale = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 0.03 * scale + 1e-3 * abs(theirs.mean())
    assert abs(ours.std() - scale) < 0.02 * scale
    bounds = {"RandomUniform": (-0.5, 2.0), "TruncatedNormal": (0.3 - 4.0, 0.3 + 4.0),
              "GlorotUniform": (-math.sqrt(6 / 500),) * 2, "HeNormal": (-2 * math.sqrt(2 / 200) / TRUNC,) * 2}
    if name in bounds:  # bounded distributions: within the bounds, and reaching them as Keras's do
        low, high = bounds[name][0], abs(bounds[name][1])
        assert low - 1e-6 <= ours.min() < low + 0.02 * scale and high - 0.02 * scale < ours.max() <= high + 1e-6
