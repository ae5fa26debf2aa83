"""`python -m lamina`: the classic first Keras model, trained on the bundled Pima data (no network)."""

import argparse
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the 8-12-8-1 Pima Indians diabetes model.")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)

    import lamina as keras
    from lamina.datasets import pima_indians_diabetes

    (x, y), _ = pima_indians_diabetes.load_data()
    keras.utils.set_random_seed(args.seed)
    model = keras.Sequential()
    model.add(keras.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.summary()
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x, y, verbose=0)
    print(f"Trained {args.epochs} epochs on {len(x)} rows in {seconds:.2f} s "
          f"(first epoch loss {history.history['loss'][0]:.3f}, last {history.history['loss'][-1]:.3f}).")
    print(f"Training accuracy: {accuracy:.3f}")
    return history


if __name__ == "__main__":
    main()
