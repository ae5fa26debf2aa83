"""The workloads written once against the Keras API.

Each function takes `keras` (either `lamina` or `keras` itself: `import lamina as keras`), the data
size ("full" or "tiny") and a seed, and returns a dict of measurements. Data loading, model building
and `compile` happen before any timer starts; `fit` runs with verbose=0 and no validation unless the
workload's original script validates.
"""

import time

import numpy as np

from benchmarks import data

clock = time.perf_counter


def pima(keras, size, seed):
    """Whole `fit` time of the classic Pima script (epochs=150, batch_size=10) and its accuracy."""
    x, y = data.pima(size)
    epochs = 150 if size == "full" else 3
    keras.utils.set_random_seed(seed)
    model = _pima_model(keras)
    start = clock()
    history = model.fit(x, y, epochs=epochs, batch_size=10, verbose=0)
    fit_s = clock() - start
    loss, accuracy = model.evaluate(x, y, verbose=0)
    return {"fit_s": fit_s, "accuracy": float(accuracy), "loss": float(loss),
            "history_accuracy": float(history.history["accuracy"][-1]), "epochs": epochs}


def _pima_model(keras, optimizer="adam"):
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(12, input_dim=8, activation="relu"))
    model.add(keras.layers.Dense(8, activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def rebuild(keras, size, seed, models):
    """A loop that rebuilds the Pima model `models` times: build, compile, fit one epoch, timed per model.

    `per_model_s` is the mean over the models after the first (what each further model of a search
    costs); the first, which compiles, is reported apart.
    """
    x, y = data.pima(size)
    models = models if size == "full" else 3
    keras.utils.set_random_seed(seed)
    times = []
    for _ in range(models):
        start = clock()
        model = _pima_model(keras)
        history = model.fit(x, y, epochs=1, batch_size=10, verbose=0)
        times.append(clock() - start)
    return {"per_model_s": float(np.mean(times[1:])), "first_s": times[0], "total_s": float(np.sum(times)),
            "models": models, "accuracy": float(history.history["accuracy"][-1])}


def population_rates(models):
    """The members' Adam learning rates: log-spaced from 3e-4 to 3e-2 (a random search's spread)."""
    return [float(r) for r in np.geomspace(3e-4, 3e-2, models)]


def population(keras, size, seed, models):
    """`models` Pima 8-12-8-1 models (seeds seed..seed+models-1, Adam with `population_rates`), 150 epochs,
    batch 10. lamina: one `lamina.tuners.Population.fit` (`fit_s`), then the same fits one after another
    (`sequential_s`; `vs_sequential` is their ratio); Keras: the sequential fits (`fit_s`)."""
    x, y = data.pima(size)
    epochs = 150 if size == "full" else 3
    models = models if size == "full" else 3
    rates = population_rates(models)

    def build():
        built = []
        for i, rate in enumerate(rates):
            keras.utils.set_random_seed(seed + i)
            built.append(_pima_model(keras, keras.optimizers.Adam(rate)))
        return built

    def sequential(built):
        start = clock()
        histories = []
        for i, model in enumerate(built):
            keras.utils.set_random_seed(seed + i)
            histories.append(model.fit(x, y, epochs=epochs, batch_size=10, verbose=0))
        return clock() - start, histories

    def summary(histories):
        final = [h.history["accuracy"][-1] for h in histories]
        return {"accuracy": float(np.mean(final)), "best_accuracy": float(np.max(final))}

    if keras.__name__ != "lamina":
        fit_s, histories = sequential(build())
        return {"fit_s": fit_s, **summary(histories), "models": models, "epochs": epochs}
    from lamina.tuners import Population

    members = build()
    keras.utils.set_random_seed(seed)
    start = clock()
    histories = Population(members).fit(x, y, epochs=epochs, batch_size=10, verbose=0)
    fit_s = clock() - start
    sequential_s, _ = sequential(build())
    return {"fit_s": fit_s, "sequential_s": sequential_s, "vs_sequential": sequential_s / fit_s, **summary(histories),
            "models": models, "epochs": epochs}


def pima_callbacks(keras, size, seed):
    """The Pima fit with EarlyStopping + ModelCheckpoint (best only) + TensorBoard, and the same fit without
    callbacks, from the same weights, after an untimed warm-up fit. Keras on JAX writes TensorBoard logs only
    with TensorFlow installed; without it Keras runs the other two (less work than lamina's run)."""
    import importlib.util
    import os
    import tempfile

    x, y = data.pima(size)
    epochs = 150 if size == "full" else 3
    keras.utils.set_random_seed(seed)
    model = _pima_model(keras)
    weights = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=10, verbose=0)
    folder = tempfile.mkdtemp()
    # lamina's TensorBoard needs no TensorFlow; Keras's does
    tensorboard = keras.__name__ == "lamina" or importlib.util.find_spec("tensorflow") is not None
    callbacks = [keras.callbacks.EarlyStopping(monitor="loss", patience=epochs, restore_best_weights=True),
                 keras.callbacks.ModelCheckpoint(os.path.join(folder, "best.keras"), monitor="loss",
                                                 save_best_only=True)]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(folder, "logs")))
    model.set_weights(weights)
    start = clock()
    model.fit(x, y, epochs=epochs, batch_size=10, verbose=0)
    plain_s = clock() - start
    model.set_weights(weights)
    start = clock()
    history = model.fit(x, y, epochs=epochs, batch_size=10, verbose=0, callbacks=callbacks)
    fit_s = clock() - start
    return {"fit_s": fit_s, "plain_s": plain_s, "overhead": fit_s / plain_s, "tensorboard": tensorboard,
            "epochs": len(history.history["loss"]), "saved": os.path.exists(os.path.join(folder, "best.keras"))}


def _fashion_model(keras):
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(784, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fashion(keras, size, seed, batch_size):
    """Samples/s of one training epoch after an untimed warm-up epoch on the same data."""
    (x_train, y_train), (x_test, y_test) = data.fashion(size)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    keras.utils.set_random_seed(seed)
    model = _fashion_model(keras)
    return _second_epoch(model, x_train, y_train, x_test, y_test, batch_size,
                         flops_per_sample=6.0 * model.count_params())


def _second_epoch(model, x_train, y_train, x_test, y_test, batch_size, flops_per_sample):
    """Time a warm-up epoch (compile included) and a second epoch, then evaluate: the measurements the
    throughput workloads report (`flops_per_sample` gives the training FLOP rate)."""
    start = clock()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
    warmup_s = clock() - start
    start = clock()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
    epoch_s = clock() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    rate = len(x_train) / epoch_s
    return {"samples_per_s": rate, "epoch_s": epoch_s, "warmup_s": warmup_s, "test_accuracy": float(accuracy),
            "test_loss": float(loss), "params": int(model.count_params()), "train_flops_per_s": flops_per_sample * rate,
            "samples": len(x_train), "batch_size": batch_size}


def _cnn_model(keras):
    """The Keras tutorials' Fashion-MNIST CNN."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


#: Multiply-adds of one forward pass of `_cnn_model` on one image: conv 26x26x32 outputs of a 3x3x1 window,
#: conv 11x11x64 outputs of a 3x3x32 window, dense 1600x128 and 128x10. A training step costs about three
#: forward passes (forward, gradient of the inputs, gradient of the weights), so 3 x 2 FLOPs per multiply-add.
CNN_MACS = 26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 10


def fashion_cnn(keras, size, seed, batch_size):
    """Samples/s of one training epoch of the CNN after an untimed warm-up epoch (timed as `warmup_s`)."""
    (x_train, y_train), (x_test, y_test) = data.fashion(size)
    x_train, x_test = x_train[..., None], x_test[..., None]
    keras.utils.set_random_seed(seed)
    model = _cnn_model(keras)
    return _second_epoch(model, x_train, y_train, x_test, y_test, batch_size, flops_per_sample=6.0 * CNN_MACS)


def hands_on(keras, size, seed):
    """Epoch time of the Hands-On ML Fashion-MNIST MLP (SGD, validation on 5,000 held-out images)."""
    (x_full, y_full), _ = data.fashion(size)
    n_valid = 5000 if size == "full" else 64
    x_valid, x_train = x_full[:n_valid], x_full[n_valid:]
    y_valid, y_train = y_full[:n_valid], y_full[n_valid:]
    keras.utils.set_random_seed(seed)
    model = keras.models.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    start = clock()
    model.fit(x_train, y_train, epochs=1, validation_data=(x_valid, y_valid), verbose=0)
    warmup_s = clock() - start
    start = clock()
    history = model.fit(x_train, y_train, epochs=1, validation_data=(x_valid, y_valid), verbose=0)
    epoch_s = clock() - start
    return {"epoch_s": epoch_s, "warmup_s": warmup_s, "val_accuracy": float(history.history["val_accuracy"][-1]),
            "samples": len(x_train)}


def lstm_text(keras, size, seed, batch_size=64):
    """Samples/s of one epoch of an Embedding-LSTM(64)-sigmoid text classifier after a warm-up epoch."""
    (x_train, y_train), (x_test, y_test) = data.sequences(size)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(x_train.shape[1],), dtype="int32"),
        keras.layers.Embedding(10_000, 32),
        keras.layers.LSTM(64),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    start = clock()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
    warmup_s = clock() - start
    start = clock()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=1, verbose=0)
    epoch_s = clock() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    return {"samples_per_s": len(x_train) / epoch_s, "epoch_s": epoch_s, "warmup_s": warmup_s,
            "test_accuracy": float(accuracy), "test_loss": float(loss), "samples": len(x_train),
            "batch_size": batch_size}


def predict(keras, size, seed):
    """`predict` latency on one sample (median of 200 calls) and throughput on 10,000 samples."""
    _, (x_test, _) = data.fashion(size)
    x_test = x_test.reshape(len(x_test), -1)
    keras.utils.set_random_seed(seed)
    model = _fashion_model(keras)
    calls = 200 if size == "full" else 20
    for i in range(5):
        model.predict(x_test[i:i + 1], verbose=0)
    times = []
    for i in range(calls):
        row = x_test[i % len(x_test): i % len(x_test) + 1]
        start = clock()
        model.predict(row, verbose=0)
        times.append(clock() - start)
    model.predict(x_test, verbose=0)
    bulk = []
    for _ in range(3):
        start = clock()
        out = model.predict(x_test, verbose=0)
        bulk.append(clock() - start)
    if np.shape(out) != (len(x_test), 10):
        raise RuntimeError(f"predict returned shape {np.shape(out)}, expected {(len(x_test), 10)}")
    return {"latency_ms": 1e3 * float(np.median(times)), "latency_p90_ms": 1e3 * float(np.percentile(times, 90)),
            "throughput": len(x_test) / float(np.median(bulk)), "calls": calls, "bulk_samples": len(x_test)}


def tuner_random(keras, size, seed, trials):
    """Random search over Pima MLPs with `lamina.tuners` (for lamina) or Keras Tuner (for Keras): the same
    space, `trials` trials of 20 epochs (2 trials of 2 epochs on tiny data), timed from the tuner's
    construction to the end of `search` (each tuner builds one model when constructed)."""
    import tempfile

    if keras.__name__.startswith("lamina"):
        import lamina.tuners as kt
    else:
        import keras_tuner as kt
    x, y = data.pima(size)
    epochs = 20 if size == "full" else 2
    trials = trials if size == "full" else 2
    keras.utils.set_random_seed(seed)

    def build_model(hp):
        model = keras.Sequential([keras.Input((8,))])
        for i in range(hp.Int("hidden_layers", 1, 3)):
            model.add(keras.layers.Dense(hp.Int(f"units_{i}", 8, 64, step=8), activation="relu"))
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        if hp.Choice("optimizer", ["sgd", "adam"]) == "sgd":
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        else:
            optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        return model

    directory = tempfile.mkdtemp(prefix="tuner-bench-")
    start = clock()
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=trials, seed=seed,
                            directory=directory, project_name="pima", overwrite=True)
    tuner.search(x, y, epochs=epochs, batch_size=10, validation_split=0.2, verbose=0)
    search_s = clock() - start
    best = tuner.oracle.get_best_trials(1)[0]
    return {"search_s": search_s, "best_val_accuracy": float(best.score), "trials": trials, "epochs": epochs}
