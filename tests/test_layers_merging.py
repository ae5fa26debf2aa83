"""Merging layers and their function forms against real Keras."""

import numpy as np
import pytest
from layer_compare import ATOL, compare_layer

import lamina
from lamina import layers as L

RNG = np.random.default_rng(2)
A = RNG.normal(size=(3, 4)).astype("float32")
B = RNG.normal(size=(3, 4)).astype("float32")
C = RNG.normal(size=(3, 4)).astype("float32")
A3 = RNG.normal(size=(3, 2, 4)).astype("float32")
B3 = RNG.normal(size=(3, 2, 5)).astype("float32")
ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_merges_match_keras(keras, name):
    inputs = [A, B] if name == "Subtract" else [A, B, C]
    compare_layer(keras, name, inputs, training=(False,))


@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum"])
def test_broadcasting_and_rank_alignment_match_keras(keras, name):
    ones_axis = RNG.normal(size=(3, 1, 4)).astype("float32")
    compare_layer(keras, name, [A3, ones_axis], training=(False,))
    # a rank-2 input gets a size-1 axis after the batch axis, like Keras
    compare_layer(keras, name, [A3, A], training=(False,))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_function_forms_match_keras(keras, name):
    inputs = [A, B]
    fn = name.lower()
    np.testing.assert_allclose(getattr(L, fn)(inputs), np.asarray(getattr(keras.layers, fn)(inputs)), atol=ATOL)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_incompatible_shapes_error_at_build(name):
    a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(5,))
    with pytest.raises(ValueError, match=rf"'{name.lower()}\w*' \({name}\).*\(None, 4\), \(None, 5\)"):
        getattr(L, name)()([a, b])


def test_merge_input_count_errors():
    with pytest.raises(ValueError, match="exactly 2 inputs, got 3"):
        L.Subtract()([A, B, C])
    with pytest.raises(ValueError, match=r"list of tensors.*shape \(3, 4\)"):
        L.Add()(A)
    with pytest.raises(ValueError, match="different batch sizes"):
        L.Add()([A, A[:2]])


@pytest.mark.parametrize("axis,inputs", [(-1, [A3, B3]), (1, [A3, A3]), (2, [A3, B3]), (-2, [A3, A3[:, :1]])])
def test_concatenate_matches_keras(keras, axis, inputs):
    compare_layer(keras, "Concatenate", inputs, kwargs={"axis": axis}, training=(False,))


def test_concatenate_function_form_and_symbolic(keras):
    np.testing.assert_allclose(L.concatenate([A3, B3]), np.asarray(keras.layers.concatenate([A3, B3])))
    a, b = lamina.Input(shape=(2, 4)), lamina.Input(shape=(2, 5))
    out = L.concatenate([a, b])
    assert out.shape == (None, 2, 9)
    model = lamina.Model([a, b], L.Dense(1)(out))
    assert model([A3, B3]).shape == (3, 2, 1)


def test_concatenate_errors_name_layer_and_shapes():
    a, b = lamina.Input(shape=(2, 4)), lamina.Input(shape=(3, 5))
    with pytest.raises(ValueError, match=r"'concat_me' \(Concatenate\).*\(None, 2, 4\), \(None, 3, 5\).*axis 1"):
        L.Concatenate(name="concat_me")([a, b])
    with pytest.raises(ValueError, match="same rank"):
        L.Concatenate()([lamina.Input(shape=(4,)), a])
    with pytest.raises(ValueError, match="batch axis"):
        L.Concatenate(axis=0)([A, B])
    with pytest.raises(TypeError, match="axis"):
        L.Concatenate(axis="last")


@pytest.mark.parametrize("axes,normalize,inputs", [
    (1, False, [A, B]),
    (-1, True, [A, B]),
    ((2, 2), False, [A3, RNG.normal(size=(3, 5, 4)).astype("float32")]),
    ((1, 1), True, [A3, B3]),
    ((2, 1), False, [A3, RNG.normal(size=(3, 4, 6)).astype("float32")]),
])
def test_dot_matches_keras(keras, axes, normalize, inputs):
    compare_layer(keras, "Dot", inputs, kwargs={"axes": axes, "normalize": normalize}, training=(False,))


def test_dot_function_form_and_errors(keras):
    np.testing.assert_allclose(L.dot([A, B], axes=1), np.asarray(keras.layers.dot([A, B], axes=1)), atol=ATOL)
    with pytest.raises(ValueError, match=r"\(Dot\).*different sizes: 4 .* != 5"):
        L.Dot(axes=-1)([lamina.Input(shape=(4,)), lamina.Input(shape=(5,))])
    with pytest.raises(ValueError, match="pair of ints"):
        L.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        L.Dot(axes=1)([A, B, C])
