"""compile's arguments do what Keras documents; orders, random draws and logs as in Keras 3."""

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(8)
X = RNG.random((24, 4)).astype("float32")
Y = X.sum(1, keepdims=True)


def _mlp(lib, **compile_kwargs):
    m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="tanh"), lib.layers.Dense(1)])
    m.compile(lib.optimizers.SGD(0.05), "mse", **compile_kwargs)
    return m


def test_jit_compile_false_runs_op_by_op_with_the_same_numbers():
    compiled, eager = _mlp(lamina), _mlp(lamina, jit_compile=False)
    eager.set_weights(compiled.get_weights())
    assert compiled.jit_compile is True and eager.jit_compile is False
    h1 = compiled.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h2 = eager.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    train_programs = [p for name, p in eager._engine.programs.items() if "train" in name]
    assert train_programs and all(p._programs == {} for p in train_programs)  # nothing compiled: op by op


def test_compile_arguments_are_checked():
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    with pytest.raises(ValueError, match="jit_compile"):
        m.compile("sgd", "mse", jit_compile="yes")
    with pytest.raises(ValueError, match="auto_scale_loss"):
        m.compile("sgd", "mse", auto_scale_loss="auto")
    m.compile("sgd", "mse", auto_scale_loss=False, jit_compile=True, run_eagerly=True)
    assert m.jit_compile is False  # run_eagerly wins, as in Keras


def test_fit_without_a_loss_is_refused():
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    m.compile("sgd")
    with pytest.raises(ValueError, match="without a loss"):
        m.fit(X, Y, verbose=0)


def test_monte_carlo_dropout_through_predict_draws_fresh_masks_reproducibly():
    class MCDropout(lamina.layers.Dropout):
        def call(self, inputs, training=False):
            return super().call(inputs, training=True)

    def build():
        lamina.utils.set_random_seed(3)
        return lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(16), MCDropout(0.5),
                                  lamina.layers.Dense(1)])

    model = build()
    draws = [model.predict(X, verbose=0) for _ in range(3)] + [model.predict(X[:2], verbose=0) for _ in range(2)]
    assert not np.allclose(draws[0], draws[1]) and not np.allclose(draws[1], draws[2])
    assert not np.allclose(draws[3], draws[4])
    again = build()
    repeat = [again.predict(X, verbose=0) for _ in range(3)] + [again.predict(X[:2], verbose=0) for _ in range(2)]
    for a, b in zip(draws, repeat):
        np.testing.assert_array_equal(a, b)


def _two_outputs(lib):
    inp = lib.Input((4,))
    hidden = lib.layers.Dense(3)(inp)
    a = lib.layers.Dense(1, name="a")(hidden)
    b = lib.layers.Dense(2, activation="softmax", name="b")(hidden)
    m = lib.Model(inp, [a, b])
    m.compile("sgd", loss={"a": "mse", "b": "sparse_categorical_crossentropy"},
              metrics={"a": ["mae"], "b": ["accuracy"]})
    return m


def test_multi_output_logs_and_evaluate_order_like_keras(keras):
    theirs, ours = _two_outputs(keras), _two_outputs(lamina)
    ours.set_weights(theirs.get_weights())
    y = [Y, (X[:, 0] > 0.5).astype("int32")]
    h_ours = ours.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert list(h_ours.history) == list(h_theirs.history)
    mine, reference = ours.evaluate(X, y, verbose=0), theirs.evaluate(X, y, verbose=0)
    np.testing.assert_allclose(mine, reference, rtol=1e-5)
    assert ours.metrics_names == theirs.metrics_names


def test_user_losses_and_metrics_never_see_padding_rows(keras):
    """A user loss that reduces over the batch itself and a Keras-style metric counting rows: on a ragged last
    batch (40 rows in batches of 16) lamina runs them on Keras's exact batches, so the numbers are Keras's."""

    def build(lib):
        import jax.numpy as jnp

        class RootMeanSquare(lib.metrics.Metric):
            def __init__(self, name="rms", **kwargs):
                super().__init__(name=name, **kwargs)
                self.total = self.add_weight(name="total", initializer="zeros")
                self.count = self.add_weight(name="count", initializer="zeros")

            def update_state(self, y_true, y_pred, sample_weight=None):
                err = jnp.reshape(jnp.asarray(y_true, "float32"), (-1,)) - jnp.reshape(y_pred, (-1,))
                self.total.assign_add(jnp.sum(jnp.square(err)))
                self.count.assign_add(float(err.shape[0]))

            def result(self):
                return jnp.sqrt(self.total.value / self.count.value)

        def batch_mse(y_true, y_pred):  # returns one number for the whole batch
            return jnp.mean(jnp.square(jnp.asarray(y_true) - y_pred[:, 0]))

        m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
        m.compile(lib.optimizers.SGD(0.01), batch_mse, metrics=[RootMeanSquare()])
        return m

    x = RNG.random((40, 4)).astype("float32")
    y = x.sum(1)
    theirs, ours = build(keras), build(lamina)
    ours.set_weights(theirs.get_weights())
    h_theirs = theirs.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-5, err_msg=key)
