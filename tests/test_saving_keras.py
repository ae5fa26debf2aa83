"""Model files moving both ways between lamina and real Keras 3 (`.keras`, legacy `.h5`, `.weights.h5`),
and the files tf.keras 2 wrote (../shared/keras-files, checked against tf.keras's own predictions)."""

import json

import h5py
import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(0)
X8 = RNG.normal(size=(64, 8)).astype("float32")
Y8 = (X8[:, :1] + X8[:, 1:2] > 0).astype("float32")
WIDE = RNG.normal(size=(64, 5)).astype("float32")
DEEP = RNG.normal(size=(64, 6)).astype("float32")
Y_MAIN = RNG.normal(size=(64, 1)).astype("float32")
Y_AUX = RNG.normal(size=(64, 1)).astype("float32")


def sequential(lib):
    """The Pima-style Sequential with BatchNormalization and (seeded) Dropout inside."""
    model = lib.Sequential([lib.Input((8,)), lib.layers.Dense(12, activation="relu"),
                            lib.layers.BatchNormalization(), lib.layers.Dropout(0.2, seed=7),
                            lib.layers.Dense(8, activation="relu"), lib.layers.Dense(1, activation="sigmoid")])
    model.compile(lib.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    return model, X8, Y8


def functional(lib):
    """Two inputs, two outputs, BatchNormalization and Dropout; losses "mse" (which Keras's .h5 loader fails on)."""
    wide, deep = lib.Input((5,), name="wide_input"), lib.Input((6,), name="deep_input")
    h = lib.layers.Dense(16, activation="relu")(deep)
    h = lib.layers.BatchNormalization()(h)
    h = lib.layers.Dropout(0.2, seed=3)(h)
    h = lib.layers.Dense(16, activation="relu")(h)
    main = lib.layers.Dense(1, name="main_output")(lib.layers.Concatenate()([wide, h]))
    aux = lib.layers.Dense(1, name="aux_output")(h)
    model = lib.Model([wide, deep], [main, aux])
    model.compile(lib.optimizers.SGD(0.01, momentum=0.9), ["mse", "mse"], loss_weights=[0.9, 0.1],
                  metrics=[["mae"], ["mae"]])
    return model, [WIDE, DEEP], [Y_MAIN, Y_AUX]


BUILDS = [sequential, functional]


def fit(model, x, y, epochs=2):
    return model.fit(x, y, epochs=epochs, batch_size=16, shuffle=False, verbose=0).history


def outputs(model, x):
    out = model.predict(x, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def assert_same_outputs(a, b, x, atol=1e-5):
    for pa, pb in zip(outputs(a, x), outputs(b, x)):
        np.testing.assert_allclose(pa, pb, atol=atol)


def assert_same_training(keras_model, lamina_model, x, y):
    """Both continue from the same state: equal loss curves and equal weights afterwards."""
    kh, lh = fit(keras_model, x, y), fit(lamina_model, x, y)
    np.testing.assert_allclose(lh["loss"], kh["loss"], rtol=1e-5)
    for kw, lw in zip(keras_model.get_weights(), lamina_model.get_weights()):
        np.testing.assert_allclose(lw, kw, atol=1e-5)
    assert int(lamina_model.optimizer.iterations) == int(keras_model.optimizer.iterations)


# ----- lamina -> Keras -------------------------------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS)
def test_lamina_keras_file_loads_in_keras_which_continues_training(keras, build, tmp_path):
    model, x, y = build(lamina)
    fit(model, x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    theirs = keras.models.load_model(path)
    assert_same_outputs(theirs, model, x)
    assert int(theirs.optimizer.iterations) == int(model.optimizer.iterations) == 8
    for ours, saved in zip(model.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_allclose(np.asarray(saved), np.asarray(ours), atol=1e-7)
    # Keras continues from the saved optimizer state exactly as lamina does from its own file.
    assert_same_training(theirs, lamina.models.load_model(path), x, y)


@pytest.mark.parametrize("build", BUILDS)
def test_lamina_h5_file_loads_in_keras_which_continues_training(keras, build, tmp_path):
    model, x, y = build(lamina)
    fit(model, x, y)
    path = tmp_path / "model.h5"
    model.save(path)
    with h5py.File(path) as f:
        assert {"model_config", "training_config", "keras_version", "backend"} <= set(f.attrs)
        assert {"model_weights", "optimizer_weights"} <= set(f)
        assert "mse" not in f.attrs["training_config"]  # written as "mean_squared_error", which Keras reads
    compiled = keras.models.load_model(path)  # Keras's own .h5 files with "mse" fail right here
    assert_same_outputs(compiled, model, x)
    # Keras 3's legacy loader builds the optimizer on no variables whenever a file holds optimizer
    # weights (its own files too), so `fit` after it fails; Keras continues training after a recompile.
    theirs = keras.models.load_model(path, compile=False)
    theirs.compile(type(compiled.optimizer).from_config(compiled.optimizer.get_config()), compiled.loss,
                   loss_weights=model.get_compile_config()["loss_weights"])
    before = theirs.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    history = fit(theirs, x, y, epochs=3)
    assert np.all(np.isfinite(history["loss"])) and history["loss"][-1] < before


def test_lamina_weights_file_loads_in_keras(keras, tmp_path):
    model, x, y = sequential(lamina)
    fit(model, x, y)
    model.save_weights(tmp_path / "model.weights.h5")
    theirs, _, _ = sequential(keras)
    fit(theirs, x[:16], y[:16], epochs=1)  # built, optimizer built
    theirs.load_weights(tmp_path / "model.weights.h5")
    assert_same_outputs(theirs, model, x)
    assert int(theirs.optimizer.iterations) == int(model.optimizer.iterations)


# ----- Keras -> lamina -------------------------------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_keras_file_loads_in_lamina_which_continues_with_the_saved_optimizer_state(keras, build, ext, tmp_path):
    model, x, y = build(keras)
    fit(model, x, y)
    reference = tmp_path / "reference.keras"
    model.save(reference)  # before the .h5: Keras's .h5 writer drops the optimizer from its compile config
    path = tmp_path / f"model.{ext}"
    if ext == "h5":
        model.save(path)
    ours = lamina.models.load_model(reference if ext == "keras" else path)
    assert ours.compiled
    assert_same_outputs(ours, model, x)
    assert int(ours.optimizer.iterations) == int(model.optimizer.iterations) == 8
    assert len(ours.optimizer.variables) == len(model.optimizer.variables)
    for theirs, mine in zip(model.optimizer.variables, ours.optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=1e-7)
    # Keras continuing from its own .keras file is the reference for continuing from the saved state.
    assert_same_training(keras.models.load_model(reference), ours, x, y)


def test_keras_weights_file_loads_in_lamina(keras, tmp_path):
    theirs, x, y = functional(keras)
    fit(theirs, x, y)
    theirs.save_weights(tmp_path / "model.weights.h5")
    ours, _, _ = functional(lamina)
    ours.load_weights(tmp_path / "model.weights.h5")  # builds the optimizer to take the saved state
    assert_same_outputs(ours, theirs, x)
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations)


def test_keras_subclassed_model_loads_into_the_registered_lamina_class(keras, tmp_path):
    def define(lib):
        class Blocks(lib.Model):
            def __init__(self, units=3, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.dense1 = lib.layers.Dense(units)
                self.blocks = [lib.layers.Dense(2), [lib.layers.Dense(2)]]
                self.head = lib.layers.Dense(1)

            def call(self, x):
                x = self.dense1(x)
                return self.head(self.blocks[1][0](self.blocks[0](x)))

            def get_config(self):
                return {**super().get_config(), "units": self.units}

        return Blocks

    theirs = define(keras)(units=5)
    theirs.compile("adam", "mse")
    fit(theirs, X8, Y8)
    theirs.save(tmp_path / "sub.keras")
    ours = lamina.models.load_model(tmp_path / "sub.keras", custom_objects={"Blocks": define(lamina)})
    assert ours.units == 5
    assert_same_outputs(ours, theirs, X8)
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations)


# ----- tf.keras 2 -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(keras_files_dir):
    return json.loads((keras_files_dir / "reference.json").read_text())


def pima_rows(datasets_dir):
    data = np.loadtxt(datasets_dir / "pima" / "pima-indians-diabetes.data.csv", delimiter=",")
    x = data[:, :8]
    return ((x - x.mean(0)) / x.std(0)).astype("float32"), data[:, 8].astype("float32")


def test_tf_keras2_sequential_loads_with_its_adam_state(keras_files_dir, datasets_dir, reference):
    path = keras_files_dir / "tfkeras2_pima_sequential.h5"
    model = lamina.models.load_model(path)
    x, y = pima_rows(datasets_dir)
    expected = reference["tfkeras2_pima_sequential.h5"]
    np.testing.assert_allclose(model.predict(x[:5], verbose=0).ravel(), expected["predict_first_rows"], atol=1e-5)
    assert type(model.optimizer).__name__ == "Adam"
    assert int(model.optimizer.iterations) == expected["optimizer_iterations"] == 385
    with h5py.File(path) as f:  # Adam's slots, matched by name ("Adam/m/dense/kernel:0" -> dense_kernel_momentum)
        saved = f["optimizer_weights/Adam"]
        for v in model.optimizer.variables[2:]:  # e.g. "dense_1_kernel_momentum"
            param, slot = v.name.rsplit("_", 1)
            layer, weight = param.rsplit("_", 1)
            expected_slot = saved[{"momentum": "m", "velocity": "v"}[slot]][layer][f"{weight}:0"][()]
            np.testing.assert_array_equal(np.asarray(v), expected_slot)
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert int(model.optimizer.iterations) == 385 + 2 * 24
    assert history.history["loss"][-1] < 0.6 and "accuracy" in history.history


def test_tf_keras2_functional_two_outputs_with_mse_losses(keras_files_dir, reference):
    model = lamina.models.load_model(keras_files_dir / "tfkeras2_wide_deep_functional.h5")
    inputs = np.load(keras_files_dir / "tfkeras2_wide_deep_inputs.npz")
    main, aux = model.predict([inputs["wide"], inputs["deep"]], verbose=0)
    expected = reference["tfkeras2_wide_deep_functional.h5"]
    np.testing.assert_allclose(main.ravel(), expected["predict_main_first_rows"], atol=1e-5)
    np.testing.assert_allclose(aux.ravel(), expected["predict_aux_first_rows"], atol=1e-5)
    assert model.get_compile_config()["loss"] == ["mse", "mse"]
    assert int(model.optimizer.iterations) == expected["optimizer_iterations"]
    momentum = model.optimizer.variables[2]
    assert momentum.name == "dense_3_kernel_momentum" and np.abs(np.asarray(momentum)).sum() > 0
    history = model.fit([WIDE, DEEP], [Y_MAIN, Y_AUX], epochs=1, batch_size=16, verbose=0).history
    assert set(history) == {"loss", "main_output_loss", "aux_output_loss", "main_output_mae", "aux_output_mae"}


def test_tf_keras2_weights_file(keras_files_dir, datasets_dir, reference):
    source = lamina.models.load_model(keras_files_dir / "tfkeras2_pima_sequential.h5", compile=False)
    model = lamina.Sequential.from_config(source.get_config())
    model.compile("adam", "binary_crossentropy")
    model.load_weights(keras_files_dir / "tfkeras2_pima_sequential.weights.h5")
    x, _ = pima_rows(datasets_dir)
    expected = reference["tfkeras2_pima_sequential.h5"]
    np.testing.assert_allclose(model.predict(x[:5], verbose=0).ravel(), expected["predict_first_rows"], atol=1e-5)
    assert int(model.optimizer.iterations) == 385  # tf.keras 2 keeps no learning-rate variable: matched anyway


def test_tf_keras2_lambda_is_refused_unless_safe_mode_is_off(keras_files_dir, datasets_dir, reference):
    path = keras_files_dir / "tfkeras2_with_lambda.h5"
    with pytest.raises(ValueError, match="safe_mode=False") as info:
        lamina.models.load_model(path)
    assert str(path) in str(info.value)
    model = lamina.models.load_model(path, safe_mode=False)
    x, _ = pima_rows(datasets_dir)
    np.testing.assert_allclose(model.predict(x[:5], verbose=0).ravel(),
                               reference["tfkeras2_with_lambda.h5"]["predict_first_rows"], atol=1e-5)
