"""The perceptron: one threshold logic unit (TLU) trained with Rosenblatt's learning rule.

    python examples/perceptron.py

A TLU computes `step(x @ w + b)` with `step(z) = 1 if z >= 0 else 0`. The step has no useful gradient,
so instead of an optimizer the model overrides `train_step` with the perceptron rule

    w <- w + lr * x^T (y - y_hat)        b <- b + lr * sum(y - y_hat)

written as a pure function `train_step(self, state, data) -> state` that lamina compiles into its
training loop like any other step. The script shows the three classic results:

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
        x, y, _ = data
        weights = {"trainable": state["trainable"], "non_trainable": state["non_trainable"]}
        y_hat, _ = self.stateless_call(weights, x, training=True, batch_mask=self.batch_mask)
        y = jnp.reshape(y, y_hat.shape).astype(y_hat.dtype)
        # Padding rows of a ragged last batch (batch_mask 0) must not move the weights.
        error = (y - y_hat) * self.batch_mask[:, None]
        kernel, bias = state["trainable"]
        kernel = kernel + self.learning_rate * x.T @ error
        bias = bias + self.learning_rate * jnp.sum(error, axis=0)
        # Loss and metrics describe the predictions made before this update, as in any Keras step.
        loss, per_output = self.compute_loss(x, y, [y_hat])
        metrics = self.update_metrics(state["metrics"], loss, per_output, y, [y_hat])
        return dict(state, trainable=[kernel, bias], metrics=metrics)


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
