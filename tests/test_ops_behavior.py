"""`lamina.ops` beyond the one-call comparison: JAX transformations, Variables, dtype rules with another
floatx, clear errors, and the places where lamina deliberately differs from Keras (each checked
against the mathematics, and against Keras where Keras is right)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import ops
from lamina.backend import Variable

RNG = np.random.default_rng(0)


def test_ops_work_under_jit_grad_and_vmap():
    x = RNG.standard_normal((3, 4)).astype("float32")
    f = jax.jit(lambda v: ops.sum(ops.nn.relu(ops.matmul(v, ops.transpose(v)))))
    np.testing.assert_allclose(f(x), np.maximum(x @ x.T, 0).sum(), rtol=1e-5)
    g = jax.grad(lambda v: ops.mean(ops.square(v)))(x)
    np.testing.assert_allclose(g, 2 * x / x.size, rtol=1e-6)
    rows = jax.vmap(lambda r: ops.softmax(r))(x)
    np.testing.assert_allclose(rows, np.asarray(ops.softmax(x)), rtol=1e-6)
    assert jax.jit(lambda v: ops.shape(v)[1] * v)(x).shape == (3, 4)


def test_variables_are_read_as_their_values():
    v = Variable(np.arange(4, dtype="float32"))
    assert ops.shape(v) == (4,) and ops.dtype(v) == "float32"
    np.testing.assert_allclose(ops.add(v, 1), np.arange(4) + 1)
    np.testing.assert_allclose(ops.convert_to_tensor(v, dtype="int32"), np.arange(4))
    np.testing.assert_allclose(ops.stop_gradient(v), np.arange(4))
    assert ops.convert_to_numpy(v).dtype == np.float32 and not ops.is_tensor(v)


def test_dtype_rules_follow_floatx():
    assert ops.mean(np.arange(4)).dtype == jnp.float32
    assert ops.sum(np.ones(3, bool)).dtype == jnp.int32
    assert ops.arange(5).dtype == jnp.int32 and ops.arange(0.0, 1.0, 0.5).dtype == jnp.float32
    assert ops.convert_to_tensor([1.0]).dtype == jnp.float32
    lamina.config.set_floatx("float16")
    try:
        assert ops.zeros((2,)).dtype == jnp.float16
        assert ops.sin(np.arange(3, dtype="int32")).dtype == jnp.float16  # result_type(int32, float)
        assert ops.add(np.int32(1), 1.5).dtype == jnp.float32  # a strong int32 array with a weak float
        assert lamina.backend.result_type("int32", float) == "float16"
    finally:
        lamina.config.set_floatx("float32")


@pytest.mark.parametrize("call, match", [
    (lambda: ops.reshape(np.ones(6), (-2, 3)), "reshape: .*newshape"),
    (lambda: ops.conv(np.ones((1, 5, 3)), np.ones((3, 2, 4))), "conv: the input channels"),
    (lambda: ops.conv_transpose(np.ones((1, 5, 3)), np.ones((3, 2, 4))), "conv_transpose: the input has 3"),
    (lambda: ops.scatter_update(np.ones(3), [[0]], [1.0], reduction="avg"), "scatter_update: `reduction`"),
    (lambda: ops.slice_update(np.ones(3, "float32"), (0,), np.ones(1, "int32")), "slice_update: `updates`"),
    (lambda: ops.one_hot([1], 3, sparse=True), "one_hot: `sparse=True`"),
    (lambda: ops.segment_sum(np.ones(3), np.array([0, 1, 1])), "segment_sum: `num_segments`"),
    (lambda: ops.cholesky(-np.eye(2, dtype="float32")), "cholesky: .*positive-definite"),
    (lambda: ops.solve(np.ones((2, 3)), np.ones(2)), "solve: expected square"),
    (lambda: ops.image.resize(np.ones((4, 4)), (2, 2)), "resize: `images` must have rank 3 or 4"),
    (lambda: ops.image.crop_images(np.ones((4, 4, 1)), top_cropping=3, target_height=3, left_cropping=0,
                                   target_width=2), "crop_images: a 3x2 crop"),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b -> a c"), "rearrange: both sides"),
    (lambda: ops.convert_to_tensor([1], ragged=True), "ragged"),
    (lambda: ops.max_pool(np.ones((1, 4, 1)), 2, padding="causal"), "max_pool: `padding`"),
    (lambda: ops.image.affine_transform(np.ones((4, 4, 1)), np.ones(6)), "affine_transform: `transform`"),
])
def test_errors_name_the_op_and_argument(call, match):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=match):
        call()


def _sparsemax_reference(z):
    """Projection onto the simplex (Martins & Astudillo 2016), row by row."""
    out = []
    for row in z:
        s = np.sort(row)[::-1]
        k = np.arange(1, len(row) + 1)
        support = 1 + k * s > np.cumsum(s)
        kz = k[support][-1]
        tau = (s[:kz].sum() - 1) / kz
        out.append(np.maximum(row - tau, 0))
    return np.array(out)


def test_sparsemax_is_the_simplex_projection():
    z = RNG.standard_normal((6, 5)).astype("float32")
    got = np.asarray(ops.sparsemax(z))
    np.testing.assert_allclose(got, _sparsemax_reference(z), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ops.sparsemax(z.T, axis=0)), got.T, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ops.sparsemax(z)), np.asarray(lamina.activations.sparsemax(z)), rtol=1e-6)


@pytest.mark.parametrize("window", [None, "hann", "hamming"])
def test_istft_inverts_stft(window):
    x = RNG.standard_normal((2, 64)).astype("float32")
    spec = ops.stft(x, 16, 4, 16, window=window)
    back = np.asarray(ops.istft(spec, 16, 4, 16, window=window, length=64))
    np.testing.assert_allclose(back, x, atol=1e-5)


def test_pooling_strides_default_to_the_pool_size():
    x = RNG.standard_normal((2, 6, 4, 3)).astype("float32")
    for pool in (ops.max_pool, ops.average_pool):
        np.testing.assert_array_equal(pool(x, (2, 2)), pool(x, (2, 2), strides=(2, 2)))


def test_affine_transform_applies_the_projective_terms_like_perspective_transform(keras):
    from lamina.ops.image.geometry import _homography

    images = RNG.uniform(0, 1, (1, 8, 9, 2)).astype("float32")
    start = np.array([[0, 0], [8, 0], [0, 7], [8, 7]], "float32")
    end = np.array([[1, 0.5], [7.5, 1], [0.5, 6], [8, 7]], "float32")
    coefficients = np.asarray(_homography(start[None], end[None]))
    assert np.abs(coefficients[0, 6:]).max() > 1e-3  # a truly projective map
    ours = np.asarray(ops.image.affine_transform(images, coefficients))
    theirs = np.asarray(keras.ops.image.perspective_transform(images, start, end))
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_elastic_transform_is_seeded_and_moves_pixels_both_ways():
    images = RNG.uniform(0, 1, (2, 12, 12, 1)).astype("float32")
    a = np.asarray(ops.image.elastic_transform(images, alpha=5.0, sigma=2.0, seed=1))
    b = np.asarray(ops.image.elastic_transform(images, alpha=5.0, sigma=2.0, seed=1))
    c = np.asarray(ops.image.elastic_transform(images, alpha=5.0, sigma=2.0, seed=2))
    np.testing.assert_array_equal(a, b)
    assert a.shape == images.shape and a.dtype == images.dtype and not np.allclose(a, c)
    # Away from the borders, a ramp along x shows the column displacement and a ramp along y the row
    # one; Keras draws both from one key, which makes the two maps equal (pixels move diagonally).
    n = 24
    ramp = np.broadcast_to(np.arange(n, dtype="float32")[None, None, :, None], (1, n, n, 1))
    ramp_y = np.swapaxes(ramp, 1, 2)
    kwargs = dict(alpha=2.0, sigma=3.0, seed=4, fill_mode="nearest")
    dx = (np.asarray(ops.image.elastic_transform(ramp, **kwargs)) - ramp)[:, 6:-6, 6:-6]
    dy = (np.asarray(ops.image.elastic_transform(ramp_y, **kwargs)) - ramp_y)[:, 6:-6, 6:-6]
    assert np.abs(dx).max() > 0.2 and np.abs(dy).max() > 0.2 and not np.allclose(dx, dy, atol=1e-2)


def test_ctc_beam_search_finds_the_most_likely_labelling():
    """With a beam wide enough to be exact, the best path's score is the log-sum over all alignments."""
    logits = RNG.standard_normal((1, 4, 3)).astype("float32")
    log_probs = np.asarray(jax.nn.log_softmax(logits))[0]
    totals = {}
    for path in np.ndindex(3, 3, 3, 3):
        labels, previous = [], None
        for k in path:
            if k != previous and k != 0:
                labels.append(k)
            previous = k
        score = sum(log_probs[t, k] for t, k in enumerate(path))
        totals[tuple(labels)] = np.logaddexp(totals.get(tuple(labels), -np.inf), score)
    best = sorted(totals.items(), key=lambda kv: -kv[1])[:3]
    paths, scores = ops.ctc_decode(logits, np.array([4]), strategy="beam_search", beam_width=50, top_paths=3)
    for i, (labels, score) in enumerate(best):
        decoded = [int(v) for v in np.asarray(paths)[i, 0] if v >= 0]
        assert decoded == list(labels)
        np.testing.assert_allclose(np.asarray(scores)[0, i], score, rtol=1e-5)
