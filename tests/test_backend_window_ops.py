"""lamina.backend.window_ops: the same values and gradients as lax's convolution and window reductions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lamina.backend import window_ops as W

RNG = np.random.default_rng(3)
NHWC, NCHW = ("NHWC", "HWIO", "NHWC"), ("NCHW", "HWIO", "NCHW")


def _grads(fn, *args):
    out = fn(*args)
    cotangent = np.random.default_rng(0).normal(size=out.shape).astype("float32")  # the same for both sides
    return out, jax.jit(lambda *a: jax.vjp(fn, *a)[1](cotangent))(*args)


@pytest.mark.parametrize("dn,x_shape,k_shape,strides,pads,lhs_dil,rhs_dil,groups", [
    (NHWC, (2, 9, 8, 4), (3, 2, 4, 6), (1, 1), [(0, 0), (0, 0)], (1, 1), (1, 1), 1),
    (NHWC, (2, 9, 8, 4), (3, 3, 4, 5), (2, 3), [(1, 1), (0, 2)], (1, 1), (1, 1), 1),
    (NCHW, (2, 4, 9, 8), (3, 2, 4, 6), (1, 1), [(2, 2), (1, 1)], (1, 1), (2, 3), 1),
    (NHWC, (2, 5, 4, 3), (3, 3, 3, 2), (1, 1), [(2, 3), (2, 2)], (2, 2), (1, 1), 1),  # transposed convolution
    (NHWC, (2, 9, 8, 4), (3, 3, 2, 6), (1, 1), [(1, 1), (1, 1)], (1, 1), (1, 1), 2),  # groups
    (NCHW, (2, 4, 9, 8), (3, 3, 1, 8), (2, 1), [(1, 1), (0, 0)], (1, 1), (1, 1), 4),  # depthwise
    (("NWC", "WIO", "NWC"), (2, 11, 3), (4, 3, 2), (1,), [(3, 0)], (1,), (2,), 1),  # causal, dilated
    (("NDHWC", "DHWIO", "NDHWC"), (1, 5, 6, 4, 2), (2, 3, 2, 2, 3), (2, 1, 1), [(0, 1), (1, 1), (0, 0)],
     (1, 1, 1), (1, 1, 1), 1),
])
def test_conv_values_and_both_gradients_equal_lax(dn, x_shape, k_shape, strides, pads, lhs_dil, rhs_dil, groups):
    x = RNG.normal(size=x_shape).astype("float32")
    kernel = RNG.normal(size=k_shape).astype("float32")

    def reference(a, b):
        return lax.conv_general_dilated(a, b, strides, pads, lhs_dil, rhs_dil, dn, feature_group_count=groups)

    def ours(a, b):
        return W.conv(a, b, strides, pads, lhs_dil, rhs_dil, dn, groups)

    want, want_grads = _grads(reference, x, kernel)
    got, got_grads = _grads(ours, x, kernel)
    np.testing.assert_allclose(got, want, atol=1e-5)
    for a, b in zip(got_grads, want_grads):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("shape,window", [((2, 8, 8, 3), (1, 2, 2, 1)), ((2, 9, 7, 3), (1, 2, 3, 1)),
                                          ((2, 3, 9, 8), (1, 1, 3, 2)), ((1, 4, 4, 4, 2), (1, 2, 2, 2, 1))])
def test_tiled_pooling_equals_reduce_window_with_its_tie_rule(shape, window):
    x = np.round(RNG.normal(size=shape), 1).astype("float32")  # many ties within windows
    x[0, :2] = 0.0  # whole windows of equal values
    none = [(0, 0)] * len(shape)

    def reference_max(a):
        return lax.reduce_window(a, -np.inf, lax.max, window, window, "VALID")

    def reference_avg(a):
        return lax.reduce_window(a, 0.0, lax.add, window, window, "VALID") / np.prod(window)

    for ours, reference in ((lambda a: W.max_pool(a, window, window, none), reference_max),
                            (lambda a: W.avg_pool(a, window, window, none), reference_avg)):
        want, (want_grad,) = _grads(reference, x)
        got, (got_grad,) = _grads(ours, x)
        np.testing.assert_allclose(got, want, atol=1e-6)
        np.testing.assert_allclose(got_grad, want_grad, atol=1e-6)  # the first maximum takes the gradient


def test_overlapping_and_padded_windows_use_reduce_window():
    x = RNG.normal(size=(2, 7, 7, 3)).astype("float32")
    window, strides, pads = (1, 3, 3, 1), (1, 2, 2, 1), [(0, 0), (1, 1), (1, 1), (0, 0)]
    want = lax.reduce_window(x, -np.inf, lax.max, window, strides, pads)
    np.testing.assert_array_equal(W.max_pool(x, window, strides, pads), want)
    ones = lax.reduce_window(np.ones_like(x), 0.0, lax.add, window, strides, pads)
    want = lax.reduce_window(x, 0.0, lax.add, window, strides, pads) / ones
    np.testing.assert_allclose(W.avg_pool(x, window, strides, pads), want, atol=1e-6)


def test_gradients_inside_a_scan_equal_the_plain_ones():
    xs = RNG.normal(size=(3, 2, 8, 8, 2)).astype("float32")
    kernel = RNG.normal(size=(3, 3, 2, 4)).astype("float32")
    none = [(0, 0)] * 4

    def loss(k, x, conv, pool):
        return jnp.sum(pool(jax.nn.relu(conv(x, k))) ** 2)

    def ours_conv(x, k):
        return W.conv(x, k, (1, 1), [(0, 0), (0, 0)], (1, 1), (1, 1), NHWC)

    def plain_conv(x, k):
        return lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=NHWC)

    def ours_pool(x):
        return W.max_pool(x, (1, 2, 2, 1), (1, 2, 2, 1), none)

    def plain_pool(x):
        return lax.reduce_window(x, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def run(conv, pool):
        step = jax.grad(lambda k, x: loss(k, x, conv, pool))
        return jax.jit(lambda k: lax.scan(lambda c, x: (c + step(k, x), None), jnp.zeros_like(k), xs)[0])(kernel)

    np.testing.assert_allclose(run(ours_conv, ours_pool), run(plain_conv, plain_pool), rtol=1e-5, atol=1e-4)
