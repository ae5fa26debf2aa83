"""lamina.utils data helpers: to_categorical, normalize, pad_sequences, split_dataset, set_random_seed."""

import numpy as np
import pytest

from lamina import utils
from lamina.utils import normalize, pad_sequences, split_dataset, to_categorical

# ---------------------------------------------------------------- to_categorical


@pytest.mark.parametrize(
    "labels, num_classes",
    [
        ([0, 1, 2, 3], None),
        ([0, 1, 2, 3], 6),
        ([[1], [0], [2]], None),  # trailing 1 is dropped
        ([[1, 0], [2, 2]], 3),  # 2-D labels -> 3-D output
        (np.array([[[1]], [[2]]]), None),  # (2, 1, 1) -> (2, 1, 3)
        (np.array([2.0, 0.0, 1.0]), None),  # integer-valued floats are fine
        (np.array([True, False]), None),
        (np.array(3), 5),  # a scalar -> (5,)
        (np.array([1, 0], dtype=np.uint8), 2),
    ],
)
def test_to_categorical_matches_keras(keras, labels, num_classes):
    ours = to_categorical(labels, num_classes)
    ref = keras.utils.to_categorical(labels, num_classes)
    assert ours.dtype == np.float32
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_to_categorical_values_by_hand():
    out = to_categorical([1, 2, 0], 4)
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    assert to_categorical([1, 0], 2, dtype="int32").dtype == np.int32


def test_to_categorical_rejects_negative_label_that_keras_accepts(keras):
    # Keras silently turns -1 into the last class:
    assert keras.utils.to_categorical([1, 2, 0, 4, -1])[-1].argmax() == 4
    with pytest.raises(ValueError, match=r"found -1 at index 4"):
        to_categorical([1, 2, 0, 4, -1])


def test_to_categorical_label_too_large_names_value_and_fix():
    with pytest.raises(ValueError, match=r"found label 4 at index 3, but num_classes=4.*num_classes=5"):
        to_categorical([0, 1, 2, 4], num_classes=4)


def test_to_categorical_non_integer_and_nan():
    with pytest.raises(ValueError, match=r"non-integer value 1\.5 at index 1"):
        to_categorical([0.0, 1.5, 2.0])
    with pytest.raises(ValueError, match=r"NaN at index \(1, 0\)"):
        to_categorical(np.array([[0.0], [np.nan]]))


def test_to_categorical_bad_types_and_arguments():
    with pytest.raises(TypeError, match="np.unique"):
        to_categorical(["cat", "dog"])
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0, 1], num_classes=0)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0, 1], num_classes=2.5)
    with pytest.raises(ValueError, match="empty"):
        to_categorical([])
    assert to_categorical([], num_classes=3).shape == (0, 3)


# ---------------------------------------------------------------- normalize


@pytest.mark.parametrize("order", [1, 2, 3, np.inf])
def test_normalize_matches_keras_numpy_path(keras, order):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[2] = 0.0  # a zero row stays zero
    ours, ref = normalize(x, axis=-1, order=order), keras.utils.normalize(x, axis=-1, order=order)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    np.testing.assert_array_equal(ours[2], 0.0)
    np.testing.assert_allclose(normalize(x, axis=1, order=order), keras.utils.normalize(x, axis=1, order=order))


def test_normalize_keeps_shape_and_supports_axis_0():
    np.testing.assert_allclose(normalize(np.array([3.0, 4.0])), [0.6, 0.8])
    x = np.array([[3.0, 1.0], [4.0, 0.0]])
    np.testing.assert_allclose(normalize(x, axis=0), [[0.6, 1.0], [0.8, 0.0]])
    x3 = np.random.default_rng(1).normal(size=(2, 3, 4))
    out = normalize(x3, axis=1)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)


# ---------------------------------------------------------------- pad_sequences

_SEQS = [[1], [2, 3], [4, 5, 6, 7], [], [8, 9, 10]]


@pytest.mark.parametrize("maxlen", [None, 2, 3, 6])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_matches_keras(keras, maxlen, padding, truncating):
    ours = pad_sequences(_SEQS, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    ref = keras.utils.pad_sequences(_SEQS, maxlen=maxlen, padding=padding, truncating=truncating, value=-1)
    assert ours.dtype == ref.dtype == np.int32
    np.testing.assert_array_equal(ours, ref)


def test_pad_sequences_dtypes_items_and_strings_match_keras(keras):
    floats = [[0.5, 1.5], [2.5]]
    for kwargs in ({"dtype": "float32", "value": 0.25}, {"dtype": "float64"}):
        np.testing.assert_array_equal(pad_sequences(floats, **kwargs), keras.utils.pad_sequences(floats, **kwargs))
    vectors = [np.ones((2, 3)), np.zeros((1, 3)) + 2]
    ours = pad_sequences(vectors, maxlen=3, dtype="float32")
    ref = keras.utils.pad_sequences(vectors, maxlen=3, dtype="float32")
    assert ours.shape == ref.shape == (2, 3, 3)
    np.testing.assert_array_equal(ours, ref)
    words = [["a", "b"], ["c"]]
    ours = pad_sequences(words, dtype=object, value="<pad>")
    ref = keras.utils.pad_sequences(words, dtype=object, value="<pad>")
    assert ours.tolist() == ref.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="item 1"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="sequence 1"):
        pad_sequences([np.ones((1, 2)), np.ones((1, 3))])
    assert pad_sequences([]).shape == (0, 0)


# ---------------------------------------------------------------- split_dataset


def test_split_dataset_sizes_follow_keras_rules(keras):
    from keras.src.utils.dataset_utils import _rescale_dataset_split_sizes

    x = np.arange(10)
    for left, right in [(0.8, None), (None, 0.3), (3, None), (None, 4), (0.25, 0.5), (2, 3), (0.55, None)]:
        lhs, rhs = split_dataset(x, left_size=left, right_size=right)
        assert (len(lhs), len(rhs)) == _rescale_dataset_split_sizes(left, right, 10), (left, right)
    lhs, rhs = split_dataset(x, left_size=2, right_size=3)
    np.testing.assert_array_equal(lhs, [0, 1])
    np.testing.assert_array_equal(rhs, [7, 8, 9])  # the right part is taken from the end


def test_split_dataset_structures_and_shuffle():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    (x_l, y_l), (x_r, y_r) = split_dataset((x, y), left_size=0.7, shuffle=True, seed=3)
    assert x_l.shape == (7, 2) and y_r.shape == (3,)
    np.testing.assert_array_equal(x_l[:, 0] * 5, y_l)  # rows stay paired
    np.testing.assert_array_equal(np.sort(np.concatenate([y_l, y_r])), y)
    assert not np.array_equal(y_l, y[:7])  # seed 3 does reorder
    again = split_dataset((x, y), left_size=0.7, shuffle=True, seed=3)
    np.testing.assert_array_equal(again[0][1], y_l)
    left, right = split_dataset({"a": x, "b": y}, right_size=2)
    assert set(left) == {"a", "b"} and right["b"].tolist() == [80, 90]


def test_split_dataset_errors():
    x = np.arange(10)
    with pytest.raises(ValueError, match="left_size"):
        split_dataset(x)
    with pytest.raises(ValueError, match="left_size"):
        split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match=r"\[1, 9\]"):
        split_dataset(x, left_size=10)
    with pytest.raises(ValueError, match="more than 1"):
        split_dataset(x, left_size=0.6, right_size=0.6)
    with pytest.raises(ValueError, match="empty"):
        split_dataset(np.arange(3), left_size=0.1)
    with pytest.raises(ValueError, match="array 1 has 4"):
        split_dataset((np.arange(5), np.arange(4)), left_size=2)
    with pytest.raises(TypeError, match="left_size"):
        split_dataset(x, left_size="half")
    with pytest.raises(TypeError, match="dataset"):
        split_dataset(5, left_size=1)


def test_set_random_seed_is_the_backend_one():
    from lamina.backend.random import set_random_seed

    assert utils.set_random_seed is set_random_seed
    utils.set_random_seed(7)
    a = np.random.rand()
    utils.set_random_seed(7)
    assert np.random.rand() == a


def test_normalize_jax_array_in_jax_array_out():
    import jax
    import jax.numpy as jnp

    out = normalize(jnp.array([[3.0, 4.0]]))
    assert isinstance(out, jax.Array)
    np.testing.assert_allclose(np.asarray(out), [[0.6, 0.8]], rtol=1e-6)
