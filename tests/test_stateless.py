"""`Model.stateless_call`: a pure function of (state, inputs, rng) under jit, vmap and grad.

Gradients are compared with Keras's own `stateless_call` on the same weights.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.models import Model, Sequential

RNG = np.random.default_rng(3)
X8 = RNG.normal(size=(5, 8)).astype("float32")
XA = RNG.normal(size=(5, 3)).astype("float32")
XB = RNG.normal(size=(5, 4)).astype("float32")


# ----- the three styles, built the same way in Keras and lamina --------------------------------


def seq_model(lib):
    model = lib.Sequential()
    model.add(lib.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(lib.layers.Dense(8, activation="tanh"))
    model.add(lib.layers.Dense(1, activation="sigmoid"))
    return model


def fn_model(lib):
    a = lib.Input(shape=(3,), name="a")
    b = lib.Input(shape=(4,), name="b")
    shared = lib.layers.Dense(4, activation="tanh", name="shared")
    sa = shared(lib.layers.Dense(4, name="pre_a")(a))
    sb = shared(b)
    return lib.Model([a, b], [lib.layers.Dense(2, name="o1")(sa), lib.layers.Dense(1, name="o2")(sb)])


def sub_model(lib):
    class Twin(lib.Model):
        def __init__(self):
            super().__init__()
            self.da = lib.layers.Dense(4, activation="relu")
            self.db = lib.layers.Dense(4, activation="tanh")
            self.head = lib.layers.Dense(2)

        def call(self, inputs, training=None):
            a, b = inputs
            h = self.da(a) * self.db(b)
            return self.head(h), h

    model = Twin()
    model((XA, XB))
    return model


STYLES = {
    "sequential": (seq_model, X8),
    "functional": (fn_model, [XA, XB]),
    "subclassed": (sub_model, (XA, XB)),
}


def _scalar(outputs):
    """A loss-like scalar touching every output leaf."""
    leaves = jax.tree_util.tree_leaves(outputs)
    return sum(jnp.sum(jnp.sin(leaf) * (i + 1)) for i, leaf in enumerate(leaves))


@pytest.fixture(scope="module", params=list(STYLES))
def pair(request, keras):
    """(lamina model, keras model, inputs) with identical weights."""
    build, x = STYLES[request.param]
    theirs = build(keras)
    ours = build(lamina)
    ours.set_weights(theirs.get_weights())
    return ours, theirs, x


def _close(a, b, atol=1e-5):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol)


# ----- jit / vmap / grad ---------------------------------------------------------------------


def test_jit_matches_eager_and_keras(pair):
    ours, theirs, x = pair
    state = ours.get_state()
    out, new_state = jax.jit(lambda s, x: ours.stateless_call(s, x))(state, x)
    _close(out, ours(x))
    _close(out, theirs(x))
    assert new_state["non_trainable"] == [] and len(new_state["trainable"]) == len(state["trainable"])


def test_stateless_call_does_not_touch_variables(pair):
    ours, _, x = pair
    before = ours.get_weights()
    state = jax.tree_util.tree_map(lambda v: v + 1.0, ours.get_state())
    shifted, _ = ours.stateless_call(state, x)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.asarray(jax.tree_util.tree_leaves(shifted)[0]),
                           np.asarray(jax.tree_util.tree_leaves(ours(x))[0]))


def test_vmap_over_four_parameter_sets(pair):
    ours, _, x = pair
    base = ours.get_state()
    noise = np.random.default_rng(4)
    sets = [jax.tree_util.tree_map(lambda v: np.asarray(v) + 0.1 * noise.normal(size=v.shape).astype("float32"), base)
            for _ in range(4)]
    stack = jax.tree_util.tree_map(lambda *vs: np.stack(vs), *sets)
    batched = jax.jit(jax.vmap(lambda s: ours.stateless_call(s, x)[0]))(stack)
    original = ours.get_weights()
    try:
        for i, params in enumerate(sets):
            ours.set_state(params)
            expected = ours(x)
            _close(jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], batched), expected)
    finally:
        ours.set_weights(original)
    # the slices really differ (the parameter sets were not ignored)
    first = jax.tree_util.tree_leaves(batched)[0]
    assert not np.allclose(np.asarray(first[0]), np.asarray(first[1]))


def test_grad_matches_keras_stateless_call(pair):
    ours, theirs, x = pair
    state = ours.get_state()
    grads = jax.jit(jax.grad(lambda tv: _scalar(ours.stateless_call({**state, "trainable": tv}, x)[0])))(
        state["trainable"]
    )
    k_train = [v.value for v in theirs.trainable_variables]
    k_fixed = [v.value for v in theirs.non_trainable_variables]
    k_grads = jax.grad(lambda tv: _scalar(theirs.stateless_call(tv, k_fixed, x)[0]))(k_train)
    assert [g.shape for g in grads] == [tuple(g.shape) for g in k_grads]
    _close(grads, k_grads, atol=1e-5)
    assert any(float(jnp.abs(g).sum()) > 0 for g in grads)


def test_grad_matches_finite_differences():
    model = Sequential([layers.Dense(3, input_shape=(2,), activation="tanh"), layers.Dense(1)])
    state = model.get_state()
    x = jnp.asarray(RNG.normal(size=(4, 2)), "float32")

    @jax.jit
    def loss(tv):
        return jnp.sum(model.stateless_call({**state, "trainable": tv}, x)[0] ** 2)

    grads = jax.grad(loss)(state["trainable"])
    eps = 1e-3
    for w in range(len(state["trainable"])):
        flat = np.asarray(state["trainable"][w]).ravel()
        for j in range(min(flat.size, 3)):
            bumped = [np.asarray(t, "float64").copy() for t in state["trainable"]]
            up, down = [b.copy() for b in bumped], [b.copy() for b in bumped]
            up[w].ravel()[j] += eps
            down[w].ravel()[j] -= eps
            numeric = (loss([jnp.asarray(u, "float32") for u in up])
                       - loss([jnp.asarray(d, "float32") for d in down])) / (2 * eps)
            assert float(np.asarray(grads[w]).ravel()[j]) == pytest.approx(float(numeric), rel=2e-2, abs=2e-3)


# ----- randomness --------------------------------------------------------------------------------


def _dropout_model():
    return Sequential([layers.Dense(16, input_shape=(4,)), layers.Dropout(0.5), layers.Dense(1)])


def test_dropout_masks_follow_the_rng_key():
    model = _dropout_model()
    state = model.get_state()
    x = jnp.ones((8, 4))
    call = jax.jit(lambda s, k: model.stateless_call(s, x, training=True, rng=k)[0])
    k1, k2 = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
    a, b, c = call(state, k1), call(state, k1), call(state, k2)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(a), np.asarray(c))
    # eager and compiled agree for the same key
    eager, _ = model.stateless_call(state, x, training=True, rng=k1)
    np.testing.assert_allclose(np.asarray(eager), np.asarray(a), atol=1e-6)
    # inference ignores the key and equals a plain call
    inf1, _ = model.stateless_call(state, x, training=False, rng=k1)
    inf2, _ = model.stateless_call(state, x, training=False, rng=k2)
    np.testing.assert_array_equal(np.asarray(inf1), np.asarray(inf2))
    np.testing.assert_allclose(np.asarray(inf1), np.asarray(model(x)), atol=1e-6)
    assert not np.allclose(np.asarray(a), np.asarray(inf1))


def test_dropout_masks_per_example_under_vmap_of_keys():
    model = _dropout_model()
    state = model.get_state()
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    outs = jax.vmap(lambda k: model.stateless_call(state, jnp.ones((8, 4)), training=True, rng=k)[0])(keys)
    assert not np.allclose(np.asarray(outs[0]), np.asarray(outs[1]))
    single, _ = model.stateless_call(state, jnp.ones((8, 4)), training=True, rng=keys[2])
    np.testing.assert_allclose(np.asarray(outs[2]), np.asarray(single), atol=1e-6)


def test_set_random_seed_reproduces_initial_weights():
    def build():
        return Sequential([layers.Dense(5, input_shape=(3,)), layers.Dense(2, kernel_initializer="he_normal")])

    lamina.utils.set_random_seed(11)
    first = build().get_weights()
    lamina.utils.set_random_seed(11)
    second = build().get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    lamina.utils.set_random_seed(12)
    third = build().get_weights()
    assert not np.allclose(first[0], third[0])
    # two layers built after one seed get different kernels
    assert not np.allclose(first[0][:2, :2], first[2][:2, :2])


# ----- non-trainable state, losses, errors ------------------------------------------------------------


class CallCounter(layers.Layer):
    """Identity that counts training calls in a non-trainable weight."""

    def build(self, input_shape):
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, inputs, training=False):
        if training:
            self.count.assign(self.count + 1.0)
        return inputs


def test_non_trainable_updates_come_back_in_new_state():
    model = Sequential([layers.Dense(2, input_shape=(3,)), CallCounter()])
    state = model.get_state()
    assert len(state["non_trainable"]) == 1
    step = jax.jit(lambda s: model.stateless_call(s, jnp.ones((1, 3)), training=True)[1])
    new_state = step(step(state))
    assert float(new_state["non_trainable"][0]) == 2.0
    assert float(model.layers[1].count.value) == 0.0  # the model itself is untouched...
    model.set_state(new_state)
    assert float(model.layers[1].count.value) == 2.0  # ...until the state is written back
    _, inference_state = model.stateless_call(new_state, jnp.ones((1, 3)), training=False)
    assert float(inference_state["non_trainable"][0]) == 2.0


def test_return_losses_includes_regularization():
    model = Sequential([layers.Dense(3, input_shape=(2,), kernel_regularizer=lamina.regularizers.L2(0.1))])
    state = model.get_state()
    _, _, losses = model.stateless_call(state, jnp.ones((1, 2)), return_losses=True)
    kernel = np.asarray(state["trainable"][0])
    assert len(losses) == 1
    assert float(losses[0]) == pytest.approx(0.1 * float((kernel**2).sum()), rel=1e-5)
    doubled = {**state, "trainable": [state["trainable"][0] * 2, state["trainable"][1]]}
    _, _, losses2 = model.stateless_call(doubled, jnp.ones((1, 2)), return_losses=True)
    assert float(losses2[0]) == pytest.approx(4 * float(losses[0]), rel=1e-5)


def test_stateless_call_errors():
    with pytest.raises(ValueError, match="not built"):
        Sequential([layers.Dense(2)]).stateless_call({"trainable": [], "non_trainable": []}, jnp.ones((1, 2)))
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="state\\['trainable'\\] has 1 arrays.*2 trainable"):
        model.set_state({"trainable": [jnp.zeros((3, 2))], "non_trainable": []})


def test_subclassed_model_with_symbolic_build_then_jit():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x) * 2.0

    model = Net()
    model.build((None, 3))
    state = model.get_state()
    out, _ = jax.jit(lambda s, x: model.stateless_call(s, x))(state, jnp.ones((4, 3)))
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(np.asarray(out), 2 * (np.ones((4, 3)) @ kernel + bias), atol=1e-5)
