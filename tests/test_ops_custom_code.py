"""Custom layers, losses and metrics written with `keras.ops` train in lamina as in Keras, and ops work
on a functional model's symbolic tensors."""

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(5)
X = RNG.standard_normal((40, 6)).astype("float32")
Y = (np.sin(X[:, :2].sum(1, keepdims=True)) + 0.1 * X[:, 2:3]).astype("float32")


def _custom_classes(lib):
    ops = lib.ops

    class GatedDense(lib.layers.Layer):
        """matmul + bias, leaky gate by a sigmoid of the row mean; uses ops only."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, x):
            h = ops.add(ops.matmul(x, self.w), self.b)
            gate = ops.sigmoid(ops.mean(h, axis=-1, keepdims=True))
            return ops.where(ops.greater(h, 0.0), h, 0.1 * h) * gate

    def huberish(y_true, y_pred):
        err = ops.abs(ops.subtract(y_true, ops.cast(y_pred, "float32")))
        return ops.mean(ops.where(err < 0.5, 0.5 * ops.square(err), 0.5 * err), axis=-1)

    class LogCoshPlus(lib.losses.Loss):
        def call(self, y_true, y_pred):
            d = y_pred - y_true
            return ops.mean(ops.log(ops.cosh(d)) + 0.01 * ops.square(y_pred), axis=-1)

    return GatedDense, huberish, LogCoshPlus


def _model(lib, loss_kind):
    gated, huberish, log_cosh = _custom_classes(lib)
    model = lib.Sequential([lib.Input((6,)), gated(8), lib.layers.Dense(1)])
    loss = huberish if loss_kind == "function" else log_cosh()
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss)
    return model


@pytest.mark.parametrize("loss_kind", ["function", "class"])
def test_custom_layer_and_loss_with_ops_train_like_keras(keras, loss_kind):
    theirs, ours = _model(keras, loss_kind), _model(lamina, loss_kind)
    ours.set_weights(theirs.get_weights())
    h_theirs = theirs.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X[:5], verbose=0), theirs.predict(X[:5], verbose=0), rtol=1e-4, atol=1e-6)


def _functional(lib):
    ops = lib.ops
    inputs = lib.Input((6,))
    scaled = ops.expand_dims(inputs, -1) * 0.5 + 1.0  # (batch, 6, 1)
    pooled = ops.concatenate([ops.max(scaled, axis=1), ops.mean(scaled, axis=1)], axis=-1)
    hidden = lib.layers.Dense(4, activation="relu")(pooled + ops.sum(inputs[:, :3], axis=-1, keepdims=True))
    outputs = lib.layers.Dense(1)(ops.nn.softmax(hidden) * hidden)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    return model


def test_ops_on_symbolic_tensors_build_a_functional_model_like_keras(keras):
    theirs, ours = _functional(keras), _functional(lamina)
    assert ours.output_shape == theirs.output_shape == (None, 1)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    h_theirs = theirs.fit(X, Y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    rebuilt = lamina.Model.from_config(ours.get_config())
    rebuilt.set_weights(ours.get_weights())
    np.testing.assert_allclose(rebuilt.predict(X, verbose=0), ours.predict(X, verbose=0), rtol=1e-6)


def test_symbolic_tensor_operators_and_shapes():
    x = lamina.Input((3, 4))
    y = (-(x[:, 0] ** 2) / 2 + abs(x[:, 1])) @ lamina.ops.ones((4, 2))
    assert y.shape == (None, 2) and y.dtype == "float32"
    flag = (x > 0) & (x < 1)
    assert flag.dtype == "bool" and flag.shape == (None, 3, 4)
    assert lamina.ops.shape(x) == (None, 3, 4)
    with pytest.raises(ValueError, match="symbolic"):
        lamina.ops.convert_to_numpy(x)


def test_custom_metric_with_ops_matches_keras(keras):
    def build(lib):
        ops = lib.ops

        class MeanAbsLog(lib.metrics.Metric):
            def __init__(self, name="mean_abs_log", **kwargs):
                super().__init__(name=name, **kwargs)
                self.total = self.add_variable(shape=(), initializer="zeros", name="total")
                self.count = self.add_variable(shape=(), initializer="zeros", name="count")

            def update_state(self, y_true, y_pred, sample_weight=None):
                values = ops.log1p(ops.abs(y_true - y_pred))
                self.total.assign(self.total + ops.sum(values))
                self.count.assign(self.count + ops.cast(ops.size(values), "float32"))

            def result(self):
                return ops.divide_no_nan(self.total, self.count)

        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(1)])
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=[MeanAbsLog()])
        return model

    theirs, ours = build(keras), build(lamina)
    ours.set_weights(theirs.get_weights())
    h_theirs = theirs.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["mean_abs_log"], h_theirs.history["mean_abs_log"], rtol=1e-4)


def test_vae_sampling_layer_from_the_keras_guide_trains():
    """keras.io's VAE `Sampling` layer: ops.shape under tracing, keras.random with a SeedGenerator."""
    ops = lamina.ops

    class Sampling(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lamina.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = lamina.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    inputs = lamina.Input((6,))
    hidden = lamina.layers.Dense(8, activation="relu")(inputs)
    z = Sampling()([lamina.layers.Dense(2)(hidden), lamina.layers.Dense(2)(hidden)])
    model = lamina.Model(inputs, lamina.layers.Dense(6)(z))
    model.compile("adam", "mse")
    history = model.fit(X, X, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    first, second = model.predict(X[:4], verbose=0), model.predict(X[:4], verbose=0)
    assert not np.allclose(first, second)  # a fresh draw per call, as in Keras


def test_ops_in_a_graph_run_on_the_arrays_as_they_are(keras):
    """A graph run calls each op node on its arguments unchanged: integer tensors stay integers (no cast to the
    layer dtype) and index keys reach the op."""
    results = []
    for lib in (keras, lamina):
        ids = lib.Input((4,), dtype="int32")
        model = lib.Model(ids, [lib.ops.sum(ids[:, 1:] * 3, axis=-1), lib.ops.argmax(ids, axis=-1)])
        results.append(model.predict(np.array([[1, 2, 3, 2**24 + 1], [7, 0, 5, 1]], "int32"), verbose=0))
    for theirs, ours in zip(*results):
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(ours, theirs)
