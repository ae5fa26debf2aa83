"""The perceptron: one threshold logic unit (TLU) trained with Rosenblatt's learning rule.

    python examples/perceptron.py

A TLU computes `step(x @ w + b)` with `step(z) = 1 if z >= 0 else 0`. The step has no useful gradient,
so instead of an optimizer the model overrides `train_step` with the perceptron rule

    w <- w + lr * x^T (y - y_hat)        b <- b + lr * sum(y - y_hat)

written as Keras 3's pure JAX step, `train_step(self, state, data) -> (logs, state)`, which lamina
compiles into its training loop like any other step. The script shows the three classic results:

1. the perceptron learns linearly separable data (logical AND, two separated blobs) to 100% accuracy;
2. it cannot learn XOR: no line separates XOR's classes, so at most 3 of its 4 points are right;
3. a small multi-layer network (one hidden layer) trained with Adam solves XOR.
"""

import jax.numpy as jnp
import numpy as np

import lamina as keras


step = keras.activations.step  # Heaviside: 1.0 where z >= 0, else 0.0 (its gradient is zero)


class Perceptron(keras.Sequential):
    """A Sequential model whose `fit` applies the perceptron learning rule (the compiled optimizer is unused)."""

    learning_rate = 1.0

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        y_hat, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
        y = jnp.reshape(y, y_hat.shape).astype(y_hat.dtype)
        error = y - y_hat
        kernel, bias = trainable
        kernel = kernel + self.learning_rate * x.T @ error
        bias = bias + self.learning_rate * jnp.sum(error, axis=0)
        # Loss and metrics describe the predictions made before this update, as in any Keras step.
        loss, (_, non_trainable, metrics_variables) = self.stateless_compute_loss(
            trainable, non_trainable, metrics_variables, x=x, y=y, y_pred=y_hat)
        updated, logs = [], {}
        for metric in self.metrics:
            own = metrics_variables[len(updated):len(updated) + len(metric.variables)]
            own = (metric.stateless_update_state(own, loss, sample_weight=x.shape[0]) if metric.name == "loss"
                   else metric.stateless_update_state(own, y, y_hat))
            logs[metric.name] = metric.stateless_result(own)
            updated += own
        return logs, ([kernel, bias], non_trainable, optimizer_variables, updated)


def make_perceptron(n_features, learning_rate=1.0):
    """A single TLU over `n_features` inputs, weights starting at zero; loss mse (= error rate)."""
    model = Perceptron([
        keras.Input(shape=(n_features,)),
        keras.layers.Dense(1, activation="step", kernel_initializer="zeros", bias_initializer="zeros"),
    ])
    model.learning_rate = learning_rate
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    return model


def logic_gate(name):
    """The four points of a 2-input gate: x [4, 2] in {0, 1}, y [4, 1] for "and", "or" or "xor"."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    ops = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}
    return x, ops[name](x[:, 0], x[:, 1]).astype("float32")[:, None]


def two_blobs(n=60, seed=0):
    """Two well-separated Gaussian clusters (iris-like petal measurements): x [n, 2], y [n, 1] in {0, 1}."""
    rng = np.random.default_rng(seed)
    half = n // 2
    small = rng.normal([1.5, 0.3], 0.15, size=(half, 2))  # petal length / width of a small flower
    large = rng.normal([4.5, 1.4], 0.3, size=(n - half, 2))
    x = np.concatenate([small, large]).astype("float32")
    y = np.concatenate([np.zeros(half), np.ones(n - half)]).astype("float32")[:, None]
    return x, y


def train_perceptron(x, y, epochs=20, seed=0):
    """Online perceptron training (one sample per step, shuffled). Returns (model, history, accuracy)."""
    keras.utils.set_random_seed(seed)
    model = make_perceptron(x.shape[1])
    history = model.fit(x, y, batch_size=1, epochs=epochs, shuffle=True, verbose=0)
    _, accuracy = model.evaluate(x, y, verbose=0)
    return model, history, accuracy


def train_mlp(x, y, epochs=300, seed=0):
    """Dense(8, tanh) -> Dense(1, sigmoid) with Adam and binary cross-entropy. Returns (model, accuracy)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(x.shape[1],)),
        keras.layers.Dense(8, activation="tanh"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(x, y, verbose=0)
    return model, accuracy


def _fmt(values, digits=2):
    return "[" + ", ".join(f"{v:.{digits}f}" for v in np.ravel(values)) + "]"


def main():
    for name, (x, y) in (("AND", logic_gate("and")), ("two blobs", two_blobs())):
        model, history, accuracy = train_perceptron(x, y)
        kernel, bias = model.get_weights()
        errors = history.history["loss"]
        print(f"Perceptron on {name}: accuracy {accuracy:.2f} "
              f"(epoch error rates {errors[0]:.2f} -> {errors[-1]:.2f}); "
              f"w = {_fmt(kernel[:, 0])}, b = {_fmt(bias)}")

    x, y = logic_gate("xor")
    model, _, accuracy = train_perceptron(x, y)
    predictions = model.predict(x, verbose=0)[:, 0].astype(int).tolist()
    print(f"Perceptron on XOR: accuracy {accuracy:.2f}, predictions {predictions} for targets "
          f"{y[:, 0].astype(int).tolist()} (no line separates XOR)")

    model, accuracy = train_mlp(x, y)
    probabilities = model.predict(x, verbose=0)[:, 0]
    print(f"MLP (8 tanh units) on XOR: accuracy {accuracy:.2f}, outputs {_fmt(probabilities, 3)}")


if __name__ == "__main__":
    main()
