"""The NumPy evaluator of jaxprs against XLA running the same functions."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.backend.numpy_eval import NumpyProgram, Unsupported

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4)).astype(np.float32)
B = RNG.normal(size=(4, 5)).astype(np.float32)
C = RNG.normal(size=(2, 3, 4)).astype(np.float32)
D = RNG.normal(size=(2, 4, 6)).astype(np.float32)
I = np.array([[-7, 7, 5], [-5, 3, -1]], np.int32)
J = np.array([[2, -2, 3], [3, 2, -1]], np.int32)
V = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, np.nan, np.inf, -np.inf], np.float32)

CASES = {
    "matmul+bias+relu": (lambda a, b: jax.nn.relu(a @ b + jnp.arange(5.0)), (A, B)),
    "batched dot_general": (lambda c, d: jnp.einsum("bij,bjk->bik", c, d), (C, D)),
    "contract first axes": (lambda a, c: jnp.tensordot(a, c[0], axes=([0], [0])), (A, C)),
    "softmax/log_softmax": (lambda a: (jax.nn.softmax(a), jax.nn.log_softmax(a, axis=0)), (A,)),
    "sigmoid at extremes": (lambda v: jax.nn.sigmoid(v * 1000), (A,)),
    "activations": (lambda a: (jax.nn.elu(a), jax.nn.selu(a), jax.nn.gelu(a, approximate=True), jnp.tanh(a),
                               jax.nn.softplus(a), jax.nn.silu(a), jax.nn.leaky_relu(a)), (A,)),
    "integer division and remainder": (lambda i, j: (i // j, i % j, jax.lax.div(i, j), jax.lax.rem(i, j)), (I, J)),
    "rounding and special values": (lambda v: (jnp.round(v), jnp.floor(v), jnp.ceil(v), jnp.sign(v),
                                               jnp.isfinite(v), jnp.maximum(v, 0.0), jnp.clip(v, -1, 1)), (V,)),
    "reductions": (lambda a: (a.mean(0), a.var(1), a.max(), a.min(1), a.sum(), jnp.argmax(a, 1), jnp.argmin(a, 0),
                              jnp.prod(a, 1), jnp.all(a > 0, 1), jnp.any(a > 1)), (A,)),
    "integer sums keep int32": (lambda i: (i.sum(0), jnp.cumsum(i, axis=1)), (I,)),
    "cumulative, reversed": (lambda a: (jnp.cumsum(a, 1), jnp.cumsum(a[:, ::-1], 1)[:, ::-1],
                                        jax.lax.cumsum(a, axis=0, reverse=True)), (A,)),
    "shape ops": (lambda c: (c.reshape(6, 4), c.transpose(2, 0, 1), c[:, 1:, ::2], jnp.squeeze(c[:, :1], 1),
                             jnp.expand_dims(c, 1), jnp.concatenate([c, c * 2], 2), jnp.pad(c, ((0, 0), (1, 2), (0, 1))),
                             jnp.split(c, [1, 3], axis=2), jnp.arange(12).reshape(3, 4)), (C,)),
    "where and comparisons": (lambda a, b: (jnp.where(a > 0, a, -a), a == a[::-1], a != 0, a <= 0.1,
                                            jnp.logical_and(a > 0, a < 1), ~(a > 0)), (A, B)),
    "powers and roots": (lambda a: (a ** 3, a ** -2, jnp.sqrt(jnp.abs(a)), jax.lax.rsqrt(jnp.abs(a) + 1),
                                    jnp.exp2(a), jnp.log1p(jnp.abs(a)), jnp.expm1(a), jnp.square(a)), (A,)),
    "type conversions": (lambda a, i: (a.astype(jnp.int32), i.astype(jnp.float32), (a > 0).astype(jnp.float32),
                                       a.astype(jnp.bfloat16).astype(jnp.float32)), (A, I)),
    "int8 product accumulated in int32": (
        lambda i: jax.lax.dot_general(i, i.T, (((1,), (0,)), ((), ())), preferred_element_type=jnp.int32),
        (np.full((2, 40), 100, np.int8),)),
    "broadcast of a broadcast": (lambda v, c: jnp.broadcast_to(jnp.broadcast_to(v[:4], (3, 4))[None], (2, 3, 4)) + c,
                                 (V, C)),
    "dynamic slice, clamped like XLA": (lambda c: jax.lax.dynamic_slice(c, (1, 2, 1), (1, 2, 3)), (C,)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_program_matches_xla(name):
    fn, args = CASES[name]
    expected = jax.tree_util.tree_leaves(jax.jit(fn)(*args))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's overflow/invalid warnings must not leak out
        try:
            got = NumpyProgram(jax.make_jaxpr(fn)(*args))(*args)
        except Unsupported:
            pytest.fail(f"{name}: unexpectedly unsupported")
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        e = np.asarray(e)
        assert g.shape == e.shape and g.dtype == e.dtype, name
        np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda a: jax.nn.gelu(a, approximate=False),  # erf
    lambda a: a + jax.random.normal(jax.random.key(0), a.shape),
    lambda a: jnp.sort(a, axis=1),
], ids=["erf", "random", "sort"])
def test_primitives_without_a_numpy_rule_are_refused_when_built(fn):
    with pytest.raises(Unsupported):
        NumpyProgram(jax.make_jaxpr(fn)(A))


def test_inputs_are_cast_to_the_traced_dtype_like_jax_does():
    program = NumpyProgram(jax.make_jaxpr(lambda a: a * 3)(A))
    (out,) = program(A.astype(np.float64))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, A * np.float32(3))


def test_outputs_are_owned_arrays_not_views_of_inputs_or_constants():
    program = NumpyProgram(jax.make_jaxpr(lambda a: (a, jnp.broadcast_to(jnp.arange(4.0), (3, 4))))(A))
    same, broadcast = program(A)
    assert same is not A and not np.shares_memory(same, A)
    assert broadcast.flags.writeable and broadcast.shape == (3, 4)
