"""`stateless_call(trainable_variables, non_trainable_variables, x, ...)` (Keras 3's signature): a pure
function under jit, vmap and grad, with random state threaded through the non-trainable variables.

Outputs, gradients and dropout masks are compared with Keras's own `stateless_call` on the same weights.
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


def _state(model):
    """(trainable values, non-trainable values): what Keras code passes to `stateless_call`."""
    return [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]


# ----- jit / vmap / grad ---------------------------------------------------------------------


def test_jit_matches_eager_and_keras(pair):
    ours, theirs, x = pair
    tv, ntv = _state(ours)
    out, new_ntv = jax.jit(lambda t, n, x: ours.stateless_call(t, n, x))(tv, ntv, x)
    _close(out, ours(x))
    _close(out, theirs(x))
    k_out, _ = theirs.stateless_call(*_state(theirs), x)
    _close(out, k_out)
    assert new_ntv == [] and len(ours.non_trainable_variables) == len(theirs.non_trainable_variables)


def test_stateless_call_does_not_touch_variables(pair):
    ours, _, x = pair
    before = ours.get_weights()
    tv, ntv = _state(ours)
    shifted, _ = ours.stateless_call([v + 1.0 for v in tv], ntv, x)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.asarray(jax.tree_util.tree_leaves(shifted)[0]),
                           np.asarray(jax.tree_util.tree_leaves(ours(x))[0]))


def test_vmap_over_four_parameter_sets(pair):
    ours, _, x = pair
    base, ntv = _state(ours)
    noise = np.random.default_rng(4)
    sets = [[np.asarray(v) + 0.1 * noise.normal(size=v.shape).astype("float32") for v in base] for _ in range(4)]
    stack = [np.stack(vs) for vs in zip(*sets)]
    batched = jax.jit(jax.vmap(lambda tv: ours.stateless_call(tv, ntv, x)[0]))(stack)
    original = ours.get_weights()
    try:
        for i, params in enumerate(sets):
            for variable, value in zip(ours.trainable_variables, params):
                variable.assign(value)
            expected = ours(x)
            _close(jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], batched), expected)
    finally:
        ours.set_weights(original)
    # the slices really differ (the parameter sets were not ignored)
    first = jax.tree_util.tree_leaves(batched)[0]
    assert not np.allclose(np.asarray(first[0]), np.asarray(first[1]))


def test_grad_matches_keras_stateless_call(pair):
    ours, theirs, x = pair
    tv, ntv = _state(ours)
    grads = jax.jit(jax.grad(lambda tv: _scalar(ours.stateless_call(tv, ntv, x)[0])))(tv)
    k_train, k_fixed = _state(theirs)
    k_grads = jax.grad(lambda tv: _scalar(theirs.stateless_call(tv, k_fixed, x)[0]))(k_train)
    assert [g.shape for g in grads] == [tuple(g.shape) for g in k_grads]
    _close(grads, k_grads, atol=1e-5)
    assert any(float(jnp.abs(g).sum()) > 0 for g in grads)


def test_grad_matches_finite_differences():
    model = Sequential([layers.Dense(3, input_shape=(2,), activation="tanh"), layers.Dense(1)])
    trainable, ntv = _state(model)
    x = jnp.asarray(RNG.normal(size=(4, 2)), "float32")

    @jax.jit
    def loss(tv):
        return jnp.sum(model.stateless_call(tv, ntv, x)[0] ** 2)

    grads = jax.grad(loss)(trainable)
    eps = 1e-3
    for w in range(len(trainable)):
        flat = np.asarray(trainable[w]).ravel()
        for j in range(min(flat.size, 3)):
            bumped = [np.asarray(t, "float64").copy() for t in trainable]
            up, down = [b.copy() for b in bumped], [b.copy() for b in bumped]
            up[w].ravel()[j] += eps
            down[w].ravel()[j] -= eps
            numeric = (loss([jnp.asarray(u, "float32") for u in up])
                       - loss([jnp.asarray(d, "float32") for d in down])) / (2 * eps)
            assert float(np.asarray(grads[w]).ravel()[j]) == pytest.approx(float(numeric), rel=2e-2, abs=2e-3)


# ----- randomness --------------------------------------------------------------------------------


def _dropout_model(lib, seed=None):
    return lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(16), lib.layers.Dropout(0.5, seed=seed),
                           lib.layers.Dense(1)])


def test_dropout_masks_come_from_the_seed_state_like_keras(keras):
    """The seed state is a non-trainable variable: the same state gives the same mask, the returned state
    the next one; with the same seed, the masks are Keras's own."""
    ours, theirs = _dropout_model(lamina, seed=3), _dropout_model(keras, seed=3)
    ours.set_weights(theirs.get_weights())
    x = jnp.asarray(RNG.normal(size=(8, 4)), "float32")
    tv, ntv = _state(ours)
    assert len(ntv) == 1 and ntv[0].dtype == jnp.uint32
    call = jax.jit(lambda n: ours.stateless_call(tv, n, x, training=True))
    a, next_ntv = call(ntv)
    again, _ = call(ntv)
    b, _ = call(next_ntv)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(again))
    assert not np.allclose(np.asarray(a), np.asarray(b))
    k_tv, k_ntv = _state(theirs)
    k_a, k_next = theirs.stateless_call(k_tv, k_ntv, x, training=True)
    k_b, _ = theirs.stateless_call(k_tv, k_next, x, training=True)
    _close(a, k_a)
    _close(b, k_b)
    # eager and compiled agree; inference draws nothing and equals a plain call
    eager, _ = ours.stateless_call(tv, ntv, x, training=True)
    np.testing.assert_allclose(np.asarray(eager), np.asarray(a), atol=1e-6)
    inference, same = ours.stateless_call(tv, ntv, x, training=False)
    np.testing.assert_array_equal(np.asarray(same[0]), np.asarray(ntv[0]))
    np.testing.assert_allclose(np.asarray(inference), np.asarray(ours(x)), atol=1e-6)


def test_dropout_masks_per_example_under_vmap_of_seed_states():
    model = _dropout_model(lamina)
    tv, ntv = _state(model)
    seeds = jnp.asarray([[1, 0], [2, 0], [3, 0]], jnp.uint32)
    outs = jax.vmap(lambda s: model.stateless_call(tv, [s], jnp.ones((8, 4)), training=True)[0])(seeds)
    assert not np.allclose(np.asarray(outs[0]), np.asarray(outs[1]))
    single, _ = model.stateless_call(tv, [seeds[2]], jnp.ones((8, 4)), training=True)
    np.testing.assert_allclose(np.asarray(outs[2]), np.asarray(single), atol=1e-6)


def test_eager_training_calls_draw_fresh_masks():
    model = _dropout_model(lamina)
    x = jnp.ones((8, 4))
    first, second = np.asarray(model(x, training=True)), np.asarray(model(x, training=True))
    assert not np.allclose(first, second)


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
    tv, ntv = _state(model)
    assert len(ntv) == 1
    step = jax.jit(lambda n: model.stateless_call(tv, n, jnp.ones((1, 3)), training=True)[1])
    new_ntv = step(step(ntv))
    assert float(new_ntv[0]) == 2.0
    assert float(model.layers[1].count.value) == 0.0  # the model itself is untouched...
    for variable, value in zip(model.non_trainable_variables, new_ntv):
        variable.assign(value)
    assert float(model.layers[1].count.value) == 2.0  # ...until the state is written back
    _, inference_ntv = model.stateless_call(tv, new_ntv, jnp.ones((1, 3)), training=False)
    assert float(inference_ntv[0]) == 2.0


def test_return_losses_includes_regularization():
    model = Sequential([layers.Dense(3, input_shape=(2,), kernel_regularizer=lamina.regularizers.L2(0.1))])
    tv, ntv = _state(model)
    _, _, losses = model.stateless_call(tv, ntv, jnp.ones((1, 2)), return_losses=True)
    kernel = np.asarray(tv[0])
    assert len(losses) == 1
    assert float(losses[0]) == pytest.approx(0.1 * float((kernel**2).sum()), rel=1e-5)
    _, _, losses2 = model.stateless_call([tv[0] * 2, tv[1]], ntv, jnp.ones((1, 2)), return_losses=True)
    assert float(losses2[0]) == pytest.approx(4 * float(losses[0]), rel=1e-5)


def test_stateless_call_errors():
    with pytest.raises(ValueError, match="not built"):
        Sequential([layers.Dense(2)]).stateless_call([], [], jnp.ones((1, 2)))
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="trainable_variables.*\\(2\\).*received 1"):
        model.stateless_call([jnp.zeros((3, 2))], [], jnp.ones((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        model.stateless_call([jnp.zeros((3, 3)), jnp.zeros(2)], [], jnp.ones((1, 3)))


def test_subclassed_model_with_symbolic_build_then_jit():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x) * 2.0

    model = Net()
    model.build((None, 3))
    tv, ntv = _state(model)
    out, _ = jax.jit(lambda t, x: model.stateless_call(t, ntv, x))(tv, jnp.ones((4, 3)))
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(np.asarray(out), 2 * (np.ones((4, 3)) @ kernel + bias), atol=1e-5)
