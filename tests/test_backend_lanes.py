"""`backend.lanes.vmap_lanes` equals `jax.vmap` on every path of its interpreter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from lamina.backend import lanes

M = 3


def _rand(*shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed + sum(shape)).normal(size=shape).astype(np.float32))


def _same(fn, *args, rtol=1e-5, atol=1e-6):
    want = jax.vmap(fn)(*args)
    got = jax.jit(lanes.vmap_lanes(fn))(*args)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)
    return got


def _hlo(fn, *args):
    return jax.jit(lanes.vmap_lanes(fn)).lower(*args).as_text()


X = _rand(10, 8, seed=1)  # unmapped data, closed over


@pytest.mark.parametrize("name, fn, shapes", [
    ("x @ w", lambda a, b: a @ b, [(M, 10, 8), (M, 8, 12)]),
    ("x.T @ g", lambda a, b: a.T @ b, [(M, 10, 8), (M, 10, 12)]),
    ("g @ w.T", lambda a, b: a @ b.T, [(M, 10, 12), (M, 8, 12)]),
    ("batched", lambda a, b: jnp.einsum("bij,bjk->bik", a, b), [(M, 2, 3, 4), (M, 2, 4, 5)]),
    ("two contracted", lambda a, b: jnp.einsum("ijk,jkl->il", a, b), [(M, 2, 3, 4), (M, 3, 4, 5)]),
    ("vector", lambda a, b: a @ b, [(M, 8), (M, 8, 4)]),
    ("unmapped lhs", lambda b: X @ b, [(M, 8, 12)]),
    ("unmapped rhs", lambda a: a @ X.T, [(M, 4, 8)]),
])
def test_small_products_are_multiply_reduce_loops(name, fn, shapes):
    args = [_rand(*s, seed=i) for i, s in enumerate(shapes)]
    _same(fn, *args)
    assert "dot_general" not in _hlo(fn, *args), name


def test_large_products_run_under_vmap_as_batched_products():
    a, b = _rand(M, 10, 64), _rand(M, 64, 64)
    _same(lambda a, b: jnp.tanh(a @ b), a, b, rtol=1e-4, atol=1e-5)
    assert "dot_general" in _hlo(lambda a, b: jnp.tanh(a @ b), a, b)


def test_integer_products_keep_the_library_product():
    a, b = jnp.arange(M * 6).reshape(M, 2, 3), jnp.arange(M * 12).reshape(M, 3, 4)
    _same(lambda a, b: a @ b, a, b)


def test_elementwise_with_unmapped_scalar_and_size_one_operands():
    bias = _rand(1, 8, seed=3)
    mapped_scalar = _rand(M, seed=4)

    def fn(h, s):
        out = h + bias  # unmapped, broadcast along the size-1 axis
        out = out * s  # a mapped scalar among arrays
        out = out * 2.0 + X  # an unmapped literal and an unmapped array
        out = lax.add(out, lax.broadcast_in_dim(s, (1, 8), ()))  # a mapped array of size-1 axis
        return jnp.where(out > 0, out, 0.5 * out), s * 3.0  # select_n; scalars only

    _same(fn, _rand(M, 10, 8), mapped_scalar)


def test_shapes_reductions_and_indexing():
    def fn(h):
        t = jnp.transpose(h.reshape(2, 5, 8), (2, 0, 1))  # reshape, transpose
        r = jnp.sum(t, axis=2) + jnp.max(t, axis=2) + jnp.min(t, axis=(1, 2))[:, None]
        e = jnp.expand_dims(jnp.squeeze(h[:1], 0), 1)  # slice, squeeze, broadcast
        return r, jnp.argmax(h, axis=1), jnp.cumsum(h, axis=0), jnp.concatenate([h, X], axis=1), e * h[0]

    _same(fn, _rand(M, 10, 8))


def test_scan_whose_unmapped_carry_becomes_mapped_and_unmapped_values_stay_unmapped():
    def fn(w, lr):
        def step(carry, x):
            total, count = carry
            loss = jnp.mean((x @ w - 1.0) ** 2) * lr  # mapped from the first step
            return (total + loss, count + 1), (loss, count * 2)  # count stays unmapped

        (total, count), (losses, counts) = lax.scan(step, (0.0, 0), X.reshape(5, 2, 8))
        return total, count, losses, counts

    total, count, losses, counts = _same(fn, _rand(M, 8, 1), _rand(M, seed=5))
    assert count.shape == (M,) and counts.shape == (M, 5)


def _scan_carries(fn, *args):
    """The carry counts of the scans in the program `vmap_lanes(fn)` makes, outermost first."""
    counts = []

    def visit(jaxpr):
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "scan":
                counts.append(eqn.params["num_carry"])
            for param in eqn.params.values():
                for sub in param if isinstance(param, (tuple, list)) else (param,):
                    sub = getattr(sub, "jaxpr", sub)
                    if hasattr(sub, "eqns"):
                        visit(sub)

    visit(jax.make_jaxpr(lanes.vmap_lanes(fn))(*args).jaxpr)
    return counts


def test_a_loop_of_steps_carries_same_shaped_values_stacked_and_an_outer_loop_does_not():
    """Adam-like steps: each weight with its two slots (and the float counters) stacked in the inner loop's
    carry; the integer counter, an unmapped carry and the outer loop's carries stay as they are."""
    def steps(carry, x):
        w, m, v, b, bm, bv, loss_sum, square_sum, t, scale = carry
        loss, (gw, gb) = jax.value_and_grad(lambda w, b: jnp.mean((x @ w + b) ** 2), argnums=(0, 1))(w, b)
        m, bm = 0.9 * m + 0.1 * gw, 0.9 * bm + 0.1 * gb
        v, bv = 0.99 * v + 0.01 * gw * gw, 0.99 * bv + 0.01 * gb * gb
        w, b = w - 0.1 * m / (jnp.sqrt(v) + 1e-7), b - 0.1 * bm / (jnp.sqrt(bv) + 1e-7)
        return (w, m, v, b, bm, bv, loss_sum + loss, square_sum + loss * loss, t + 1, scale * 2.0), loss

    def fit(w, b):
        zw, zb = jnp.zeros_like(w), jnp.zeros_like(b)
        carry = (w, zw, zw, b, zb, zb, 0.0, 0.0, 0, 1.0)
        return lax.scan(steps, carry, X.reshape(5, 2, 8))

    def epochs(w, b):
        def epoch(carry, _):
            w, b, last = carry
            (new, _, _, b, *_), losses = fit(w, b)
            return (new, b, w), losses
        return lax.scan(epoch, (w, b, w), None, length=3)

    w, b = _rand(M, 8, 3), _rand(M, 3, seed=4)
    _same(fit, w, b)
    _same(epochs, w, b)
    # inner: w+m+v, b+bm+bv, the two float sums stacked; the int counter and the unmapped `scale` alone
    assert _scan_carries(fit, w, b) == [5]
    assert _scan_carries(epochs, w, b) == [3, 5]


def test_cond_with_unmapped_and_mapped_index():
    def fn(h, k):
        a = lax.cond(X[0, 0] > 0, lambda h: (h * 2, X[0]), lambda h: (h - 1, h[0]), h)
        b = lax.switch(jnp.int32(1), [lambda h: h, lambda h: h @ jnp.ones((8, 8))], h)
        c = lax.cond(k > 0, lambda h: h + 1, lambda h: h * 3, h)  # mapped predicate: vmap's select
        return a, b, c

    _same(fn, _rand(M, 10, 8), jnp.asarray([-1.0, 2.0, 0.5]))


def test_calls_custom_derivatives_and_gradients():
    @jax.jit
    def inner(h, w):
        return jax.nn.relu(h @ w) + jax.nn.sigmoid(h @ w)

    def loss(w, b):
        return jnp.mean(inner(X, w) + b) + jnp.sum(jax.nn.softplus(w))

    def fn(w, b):
        value, grads = jax.value_and_grad(loss, argnums=(0, 1))(w, b)
        return value, grads

    _same(fn, _rand(M, 8, 4), _rand(M, 4, seed=6))


def test_random_keys_and_while_loops_fall_back_to_vmap():
    def fn(key, h):
        noise = jax.random.uniform(key, h.shape)
        steps = lax.fori_loop(0, 3, lambda i, v: v * 0.5 + noise, h)
        n = lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] + jnp.sum(h)), (0, 0.0))
        return steps, n

    keys = jax.random.split(jax.random.PRNGKey(0), M)
    _same(fn, keys, _rand(M, 4, 3))


def test_pytrees_in_and_out_and_results_that_depend_on_no_input():
    def fn(tree):
        return {"sum": tree["a"] + tree["b"][0], "constant": X * 2, "pair": (tree["b"][1], jnp.ones(2))}

    out = _same(fn, {"a": _rand(M, 2), "b": (_rand(M, 2, seed=7), _rand(M, 3, seed=8))})
    assert out["constant"].shape == (M, 10, 8)
