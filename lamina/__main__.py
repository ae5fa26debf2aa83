"""`python -m lamina` (or `lamina-quickstart`): the classic first Keras model, start to finish, offline.

Trains 8-12-8-1 on the Pima Indians diabetes data that ships inside lamina, with a live progress bar,
then prints the summary and the evaluation, saves the model (`.keras`), loads it back, checks the
reloaded model predicts the same, predicts a few patients, and draws the learning curves
(training and validation loss and accuracy per epoch) when matplotlib is installed.
"""

import argparse
import os
import time


def main(argv=None):
    """The console script's entry point: runs `quickstart` and returns None (exit status 0)."""
    quickstart(argv)


def quickstart(argv=None):
    """Parse `argv`, run the whole job, return the `History` of the fit."""
    parser = argparse.ArgumentParser(prog="python -m lamina", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", type=int, default=1, help="1: a live progress bar (default), 2: a line per epoch, 0: quiet")
    parser.add_argument("--out", default="lamina_quickstart", help="folder for the saved model and the picture")
    args = parser.parse_args(argv)

    import numpy as np

    import lamina as keras
    from lamina.datasets import pima_indians_diabetes

    (x, y), _ = pima_indians_diabetes.load_data()
    print(f"Pima Indians diabetes (bundled with lamina): {len(x)} patients, {x.shape[1]} measurements each.")
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential(name="pima")
    model.add(keras.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.summary()
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, validation_split=0.2,
                        verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x, y, verbose=0)
    print(f"Trained {args.epochs} epochs on {len(x)} rows (80% training, 20% validation) in {seconds:.2f} s "
          f"(first epoch loss {history.history['loss'][0]:.3f}, last {history.history['loss'][-1]:.3f}).")
    print(f"Evaluation on all rows: loss {loss:.3f}, accuracy {accuracy:.3f}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "pima.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    probabilities = reloaded.predict(x[:5], verbose=0)[:, 0]
    same = np.allclose(probabilities, model.predict(x[:5], verbose=0)[:, 0], atol=1e-6)
    print(f"Saved {path} and loaded it back ({'same predictions' if same else 'DIFFERENT predictions'}).")
    for features, p, label in zip(x[:5], probabilities, y[:5]):
        print(f"  glucose {features[1]:5.0f}, BMI {features[5]:4.1f}, age {features[7]:3.0f}: "
              f"P(diabetes) = {p:.2f}, actual {'yes' if label else 'no'}")

    try:
        picture = keras.utils.plot_history(history, to_file=os.path.join(args.out, "pima_learning_curves.png"),
                                           title="8-12-8-1 on Pima: learning curves")
        print(f"Learning curves: {picture}")
    except ImportError:
        print('Learning curves: skipped, they need matplotlib: pip install "lamina[plot]"')
    return history


if __name__ == "__main__":
    main()
