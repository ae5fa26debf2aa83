"""The perceptron learning rule, its failure on XOR, and the MLP that solves it, with decision boundaries.

    python examples/perceptron_xor.py [--quick] [--out FOLDER]

Uses the perceptron of `perceptron.py` (one threshold logic unit trained by Rosenblatt's rule,
written as a compiled `train_step`). It learns two separable clusters (one straight line splits
them); on XOR no line can, so it gets at most 3 of the 4 points right however long it trains. A
hidden layer of 8 tanh units bends the boundary and solves XOR. The picture shows the three
decision boundaries side by side.
"""

import _common
import perceptron

import lamina as keras
from lamina.utils import plotting


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    _common.section("The perceptron learning rule")
    x_blobs, y_blobs = perceptron.two_blobs()
    blob_model, history, blob_accuracy = perceptron.train_perceptron(x_blobs, y_blobs, epochs=10 if args.quick else 20)
    print(f"Two separable clusters: accuracy {blob_accuracy:.2f} "
          f"(error rate per epoch {history.history['loss'][0]:.2f} -> {history.history['loss'][-1]:.2f})")
    x_xor, y_xor = perceptron.logic_gate("xor")
    xor_model, _, xor_accuracy = perceptron.train_perceptron(x_xor, y_xor, epochs=10 if args.quick else 20)
    print(f"XOR: accuracy {xor_accuracy:.2f}: no straight line separates XOR's classes")
    _common.section("A multi-layer perceptron on XOR")
    mlp, mlp_accuracy = perceptron.train_mlp(x_xor, y_xor)
    print(f"Dense(8, tanh) -> Dense(1, sigmoid): accuracy {mlp_accuracy:.2f}, outputs "
          f"{perceptron._fmt(mlp.predict(x_xor, verbose=0)[:, 0], 3)} for targets {y_xor[:, 0].astype(int).tolist()}")

    fig, axes = plotting.figure(1, 3, width=13, height=4.3, title="Decision boundaries")
    keras.utils.plot_decision_boundary(blob_model, x_blobs, y_blobs, ax=axes[0], margin=0.15,
                                       title=f"perceptron, separable data ({blob_accuracy:.0%})")
    keras.utils.plot_decision_boundary(xor_model, x_xor, y_xor, ax=axes[1], margin=0.4,
                                       title=f"perceptron, XOR ({xor_accuracy:.0%})")
    keras.utils.plot_decision_boundary(mlp, x_xor, y_xor, ax=axes[2], margin=0.4,
                                       title=f"MLP with 8 hidden units, XOR ({mlp_accuracy:.0%})")
    for ax in axes[1:]:
        for collection in ax.collections[-2:]:
            collection.set_sizes([80])  # four points: draw them large
    path = _common.wrote(plotting.save(fig, _common.picture(args, "perceptron_xor.png")),
                         "decision boundaries of the perceptron and the MLP")
    return {"accuracy": {"blobs": blob_accuracy, "xor": xor_accuracy, "mlp_xor": mlp_accuracy}, "pictures": [path]}


if __name__ == "__main__":
    main()
