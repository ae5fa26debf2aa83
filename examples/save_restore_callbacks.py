"""Saving, loading and callbacks: `.keras` and `.h5` files, ModelCheckpoint, EarlyStopping, your own callback, TensorBoard.

    python examples/save_restore_callbacks.py [--quick] [--out FOLDER]

On the Pima data (bundled, offline):

1. train, save as `.keras` (Keras 3's zip) and `.h5` (legacy HDF5), load both back and check they
   predict exactly what the trained model does; save and load the weights alone;
2. train with `ModelCheckpoint(save_best_only=True)` on the validation loss, `EarlyStopping`
   (patience, `restore_best_weights=True`), a custom callback that prints the validation/training
   loss ratio (a rising ratio means overfitting), and `TensorBoard` (event files for
   `tensorboard --logdir ...`; needs `pip install "lamina[tensorboard]"`);
3. load the best checkpoint and compare it with the restored model.

The picture shows the learning curves with the epoch EarlyStopping kept.
"""

import os

import numpy as np

import _common

import lamina as keras
from lamina.datasets import pima_indians_diabetes


def build():
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Normalization(),
                              keras.layers.Dense(12, activation="relu"), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")], name="pima")
    return model


class OverfitWatch(keras.callbacks.Callback):
    """Prints validation loss / training loss at the end of each epoch (every `every` epochs)."""

    def __init__(self, every=10):
        super().__init__()
        self.every = every
        self.ratios = []

    def on_epoch_end(self, epoch, logs=None):
        ratio = logs["val_loss"] / logs["loss"]
        self.ratios.append(ratio)
        if epoch % self.every == 0:
            print(f"   epoch {epoch + 1:3d}: val_loss / loss = {ratio:.2f}")


def main(argv=None):
    args = _common.arguments(__doc__.splitlines()[0], argv)
    (x, y), (x_test, y_test) = pima_indians_diabetes.load_data(test_split=0.2)
    epochs = 4 if args.quick else 300

    _common.section("1. Save and load: .keras, .h5, weights")
    keras.utils.set_random_seed(1)
    model = build()
    model.layers[0].adapt(x)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=2 if args.quick else 20, batch_size=16, verbose=0)
    expected = model.predict(x_test, verbose=0)
    for name in ("pima.keras", "pima.h5"):
        path = os.path.join(args.out, name)
        model.save(path)
        restored = keras.models.load_model(path)
        same = np.array_equal(restored.predict(x_test, verbose=0), expected)
        print(f"   {path}: {os.path.getsize(path):,} bytes, reloaded predictions identical: {same}")
    weights = os.path.join(args.out, "pima.weights.h5")
    model.save_weights(weights)
    fresh = build()
    fresh.load_weights(weights)
    print(f"   {weights}: weights into a fresh model, identical predictions: "
          f"{np.array_equal(fresh.predict(x_test, verbose=0), expected)}")

    _common.section("2. Callbacks: ModelCheckpoint, EarlyStopping, a custom one, TensorBoard")
    keras.utils.set_random_seed(1)
    model = build()
    model.layers[0].adapt(x)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    best_path = os.path.join(args.out, "pima_best.keras")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2 if args.quick else 20,
                                         restore_best_weights=True)
    watch = OverfitWatch(every=1 if args.quick else 10)
    callbacks = [keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True), stop, watch]
    try:
        import tensorboard  # noqa: F401

        logdir = os.path.join(args.out, "pima_logs")
        callbacks.append(keras.callbacks.TensorBoard(log_dir=logdir))
        print(f"   TensorBoard logs in {logdir} (view with: tensorboard --logdir {logdir})")
    except ImportError:
        print('   TensorBoard skipped: it needs the tensorboard package (pip install "lamina[tensorboard]")')
    history = model.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.2, callbacks=callbacks, verbose=0)
    ran = len(history.history["loss"])
    best_epoch = int(np.argmin(history.history["val_loss"])) + 1
    print(f"   ran {ran} of {epochs} epochs" + (f", stopped early at epoch {stop.stopped_epoch + 1}" if stop.stopped_epoch
                                                 else "") + f"; best validation loss at epoch {best_epoch}")

    _common.section("3. The best checkpoint")
    best = keras.models.load_model(best_path)
    best_loss = best.evaluate(x_test, y_test, verbose=0, return_dict=True)
    restored_loss = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"   {best_path}: test loss {best_loss['loss']:.4f}, accuracy {best_loss['accuracy']:.3f}; the model "
          f"EarlyStopping restored: loss {restored_loss['loss']:.4f}")
    picture = keras.utils.plot_history(history, to_file=_common.picture(args, "save_restore_history.png"),
                                       title="Pima with EarlyStopping (star: the restored epoch)")
    _common.wrote(picture, "learning curves with the best epoch marked")
    return {"epochs_run": ran, "best_epoch": best_epoch, "ratios": watch.ratios, "pictures": [picture]}


if __name__ == "__main__":
    main()
