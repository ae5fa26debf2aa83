"""Three chapters of public Keras tutorials, step by step, written against `keras` (lamina or Keras itself).

Each chapter is a list of steps; a step is a function `step(keras, ctx)` that does what the chapter's code does
at that point (on small synthetic data, so it runs in seconds) and checks what a reader would look at. `ctx` is
a dict the steps of one chapter share, like the cells of a notebook. The chapters:

* HOML: "Introduction to Artificial Neural Networks with Keras" (Hands-On Machine Learning, 2nd/3rd ed.,
  chapter 10): Sequential classifier and regressor, functional wide & deep with several inputs and an auxiliary
  output, the subclassing API, saving, callbacks, TensorBoard;
* DLWP: "Working with Keras: a deep dive" (Deep Learning with Python, 2nd ed., chapter 7): three ways to build
  models, a multi-input multi-output functional model, reusing layers, subclassing and mixing styles, a custom
  metric, callbacks;
* GUIDE: the keras.io guide "Training & evaluation with the built-in methods": compile with objects and names,
  custom losses and metrics, `add_loss`, validation split, class and sample weights, callbacks, schedules.

`PENDING` names the steps that need a part of lamina still to come, with the reason (the tests expect them to
fail, strictly, so they are noticed the day they start to pass).
"""

import numpy as np

RNG = np.random.default_rng(42)


def _fashion(ctx):
    if "fashion" not in ctx:
        x = RNG.random((96, 28, 28)).astype("float32")
        y = (x[:, :14].mean((1, 2)) * 20 % 10).astype("int64")
        ctx["fashion"] = (x[:64], y[:64], x[64:80], y[64:80], x[80:], y[80:])
    return ctx["fashion"]


def _housing(ctx):
    if "housing" not in ctx:
        x = RNG.normal(size=(160, 8)).astype("float32")
        y = (x @ RNG.normal(size=8) * 0.3 + 2.0).astype("float32")
        ctx["housing"] = (x[:96], y[:96], x[96:128], y[96:128], x[128:], y[128:])
    return ctx["housing"]


# ----- Hands-On Machine Learning, chapter 10 ----------------------------------------------------------------

def homl_classifier(keras, ctx):
    x_train, y_train, x_valid, y_valid, _, _ = _fashion(ctx)
    keras.backend.clear_session()
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    lines = []
    model.summary(print_fn=lines.append)
    assert any("266,610" in line for line in lines)
    hidden1 = model.layers[1]
    assert hidden1.name == "dense" and model.get_layer("dense") is hidden1
    weights, biases = hidden1.get_weights()
    assert weights.shape == (784, 300) and biases.shape == (300,) and not biases.any()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=2, validation_data=(x_valid, y_valid), verbose=0)
    assert history.params["epochs"] == 2 and history.epoch == [0, 1]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    ctx["classifier"] = model


def homl_evaluate_predict(keras, ctx):
    _, _, _, _, x_test, y_test = _fashion(ctx)
    model = ctx["classifier"]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    y_proba = model.predict(x_test[:3], verbose=0).round(2)
    assert y_proba.shape == (3, 10)
    y_pred = y_proba.argmax(axis=-1)
    class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
    assert len(np.array(class_names)[y_pred]) == 3


def homl_regression(keras, ctx):
    x_train, y_train, x_valid, y_valid, x_test, y_test = _housing(ctx)
    keras.utils.set_random_seed(42)
    norm_layer = keras.layers.Normalization(input_shape=x_train.shape[1:])
    model = keras.Sequential([norm_layer, keras.layers.Dense(50, activation="relu"),
                              keras.layers.Dense(50, activation="relu"), keras.layers.Dense(1)])
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    model.compile(loss="mse", optimizer=optimizer, metrics=["RootMeanSquaredError"])
    norm_layer.adapt(x_train)
    history = model.fit(x_train, y_train, epochs=3, validation_data=(x_valid, y_valid), verbose=0)
    mse_test, rmse_test = model.evaluate(x_test, y_test, verbose=0)
    # Keras 3 logs a metric given as a string under that string (tf.keras 2 used the class's snake-case name).
    assert rmse_test == rmse_test and set(history.history) == {"loss", "RootMeanSquaredError", "val_loss",
                                                               "val_RootMeanSquaredError"}
    assert model.predict(x_test[:3], verbose=0).shape == (3, 1)
    legacy = keras.models.Sequential([keras.layers.Dense(30, activation="relu", input_shape=[8]),
                                      keras.layers.Dense(1)])
    legacy.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(lr=0.05))  # the 2nd edition's `lr`
    legacy.fit(x_train, y_train, epochs=1, verbose=0)


def homl_wide_and_deep(keras, ctx):
    x_train, y_train, x_valid, y_valid, x_test, y_test = _housing(ctx)
    normalization_layer = keras.layers.Normalization()
    hidden_layer1 = keras.layers.Dense(30, activation="relu")
    hidden_layer2 = keras.layers.Dense(30, activation="relu")
    concat_layer = keras.layers.Concatenate()
    output_layer = keras.layers.Dense(1)
    input_ = keras.layers.Input(shape=x_train.shape[1:])
    normalized = normalization_layer(input_)
    hidden1 = hidden_layer1(normalized)
    hidden2 = hidden_layer2(hidden1)
    concat = concat_layer([normalized, hidden2])
    output = output_layer(concat)
    model = keras.Model(inputs=[input_], outputs=[output])
    model.summary(print_fn=lambda *a, **k: None)
    normalization_layer.adapt(x_train)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x_train, y_train, epochs=2, validation_data=(x_valid, y_valid), verbose=0)
    assert np.isfinite(model.evaluate(x_test, y_test, verbose=0))


def homl_two_inputs(keras, ctx):
    x_train, y_train, x_valid, y_valid, x_test, y_test = _housing(ctx)
    input_wide = keras.layers.Input(shape=[5])
    input_deep = keras.layers.Input(shape=[6])
    norm_layer_wide = keras.layers.Normalization()
    norm_layer_deep = keras.layers.Normalization()
    norm_wide = norm_layer_wide(input_wide)
    norm_deep = norm_layer_deep(input_deep)
    hidden1 = keras.layers.Dense(30, activation="relu")(norm_deep)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([norm_wide, hidden2])
    output = keras.layers.Dense(1)(concat)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[output])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-3), metrics=["RootMeanSquaredError"])
    x_train_wide, x_train_deep = x_train[:, :5], x_train[:, 2:]
    x_valid_wide, x_valid_deep = x_valid[:, :5], x_valid[:, 2:]
    x_test_wide, x_test_deep = x_test[:, :5], x_test[:, 2:]
    norm_layer_wide.adapt(x_train_wide)
    norm_layer_deep.adapt(x_train_deep)
    model.fit((x_train_wide, x_train_deep), y_train, epochs=2,
              validation_data=((x_valid_wide, x_valid_deep), y_valid), verbose=0)
    mse_test = model.evaluate((x_test_wide, x_test_deep), y_test, verbose=0)
    assert len(mse_test) == 2
    assert model.predict((x_test_wide[:3], x_test_deep[:3]), verbose=0).shape == (3, 1)
    ctx["wide_deep_data"] = (x_train_wide, x_train_deep, x_test_wide, x_test_deep)


def homl_auxiliary_output(keras, ctx):
    x_train, y_train, _, _, x_test, y_test = _housing(ctx)
    x_train_wide, x_train_deep, x_test_wide, x_test_deep = ctx["wide_deep_data"]
    input_wide = keras.layers.Input(shape=[5])
    input_deep = keras.layers.Input(shape=[6])
    hidden1 = keras.layers.Dense(30, activation="relu")(input_deep)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([input_wide, hidden2])
    output = keras.layers.Dense(1)(concat)
    aux_output = keras.layers.Dense(1)(hidden2)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[output, aux_output])
    model.compile(loss=("mse", "mse"), loss_weights=(0.9, 0.1), optimizer="adam", metrics=["RootMeanSquaredError"])
    model.fit((x_train_wide, x_train_deep), (y_train, y_train), epochs=2, verbose=0)
    eval_results = model.evaluate((x_test_wide, x_test_deep), (y_test, y_test), verbose=0)
    weighted_sum_of_losses, main_loss, aux_loss, main_rmse, aux_rmse = eval_results
    assert abs(weighted_sum_of_losses - (0.9 * main_loss + 0.1 * aux_loss)) < 1e-3 * max(1.0, weighted_sum_of_losses)
    y_pred_main, y_pred_aux = model.predict((x_test_wide[:3], x_test_deep[:3]), verbose=0)
    y_pred = dict(zip(model.output_names, model.predict((x_test_wide[:3], x_test_deep[:3]), verbose=0)))
    assert y_pred_main.shape == y_pred_aux.shape == (3, 1) and len(y_pred) == 2


def homl_subclassing(keras, ctx):
    x_train, y_train, _, _, x_test, y_test = _housing(ctx)
    x_train_wide, x_train_deep, x_test_wide, x_test_deep = ctx["wide_deep_data"]

    class WideAndDeepModel(keras.Model):
        def __init__(self, units=30, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.norm_layer_wide = keras.layers.Normalization()
            self.norm_layer_deep = keras.layers.Normalization()
            self.hidden1 = keras.layers.Dense(units, activation=activation)
            self.hidden2 = keras.layers.Dense(units, activation=activation)
            self.main_output = keras.layers.Dense(1)
            self.aux_output = keras.layers.Dense(1)

        def call(self, inputs):
            input_wide, input_deep = inputs
            norm_wide = self.norm_layer_wide(input_wide)
            norm_deep = self.norm_layer_deep(input_deep)
            hidden1 = self.hidden1(norm_deep)
            hidden2 = self.hidden2(hidden1)
            concat = keras.layers.concatenate([norm_wide, hidden2])
            return self.main_output(concat), self.aux_output(hidden2)

    model = WideAndDeepModel(30, activation="relu", name="my_cool_model")
    model.compile(loss="mse", loss_weights=[0.9, 0.1], optimizer="adam", metrics=["RootMeanSquaredError"])
    model.norm_layer_wide.adapt(x_train_wide)
    model.norm_layer_deep.adapt(x_train_deep)
    model.fit((x_train_wide, x_train_deep), (y_train, y_train), epochs=2, verbose=0)
    eval_results = model.evaluate((x_test_wide, x_test_deep), (y_test, y_test), verbose=0)
    assert len(eval_results) == 5 and model.name == "my_cool_model"
    main, aux = model.predict((x_test_wide[:3], x_test_deep[:3]), verbose=0)
    assert main.shape == (3, 1)


def homl_custom_callback(keras, ctx):
    x_train, y_train, x_valid, y_valid, _, _ = _housing(ctx)
    ratios = []

    class PrintValTrainRatioCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs):
            ratios.append(logs["val_loss"] / logs["loss"])

    model = keras.Sequential([keras.layers.Dense(30, activation="relu", input_shape=[8]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x_train, y_train, epochs=2, validation_data=(x_valid, y_valid), verbose=0,
              callbacks=[PrintValTrainRatioCallback()])
    assert len(ratios) == 2


def homl_save_and_restore(keras, ctx, tmp_path):
    x_train, y_train, _, _, x_test, _ = _housing(ctx)
    model = keras.Sequential([keras.layers.Dense(30, activation="relu", input_shape=[8]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x_train, y_train, epochs=1, verbose=0)
    model.save(str(tmp_path / "my_keras_model.keras"))
    restored = keras.models.load_model(str(tmp_path / "my_keras_model.keras"))
    np.testing.assert_allclose(restored.predict(x_test[:3], verbose=0), model.predict(x_test[:3], verbose=0),
                               rtol=1e-5)
    model.save_weights(str(tmp_path / "my_weights.weights.h5"))
    model.load_weights(str(tmp_path / "my_weights.weights.h5"))


def homl_checkpoint_and_early_stopping(keras, ctx, tmp_path):
    x_train, y_train, x_valid, y_valid, _, _ = _housing(ctx)
    model = keras.Sequential([keras.layers.Dense(30, activation="relu", input_shape=[8]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    checkpoint_cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "my_checkpoints.weights.h5"),
                                                    save_weights_only=True)
    early_stopping_cb = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model.fit(x_train, y_train, epochs=3, validation_data=(x_valid, y_valid), verbose=0,
              callbacks=[checkpoint_cb, early_stopping_cb])


def homl_tensorboard(keras, ctx, tmp_path):
    x_train, y_train, x_valid, y_valid, _, _ = _housing(ctx)
    model = keras.Sequential([keras.layers.Dense(30, activation="relu", input_shape=[8]), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    tensorboard_cb = keras.callbacks.TensorBoard(str(tmp_path / "my_logs"), profile_batch=(2, 4))
    model.fit(x_train, y_train, epochs=2, validation_data=(x_valid, y_valid), verbose=0, callbacks=[tensorboard_cb])


HOML = [homl_classifier, homl_evaluate_predict, homl_regression, homl_wide_and_deep, homl_two_inputs,
        homl_auxiliary_output, homl_subclassing, homl_custom_callback, homl_save_and_restore,
        homl_checkpoint_and_early_stopping, homl_tensorboard]


# ----- Deep Learning with Python, chapter 7 ------------------------------------------------------------------

def _tickets(ctx):
    if "tickets" not in ctx:
        n, vocabulary_size, num_tags, num_departments = 40, 100, 10, 4
        ctx["tickets"] = dict(
            title_data=RNG.integers(0, 2, size=(n, vocabulary_size)).astype("float32"),
            text_body_data=RNG.integers(0, 2, size=(n, vocabulary_size)).astype("float32"),
            tags_data=RNG.integers(0, 2, size=(n, num_tags)).astype("float32"),
            priority_data=RNG.random(size=(n, 1)).astype("float32"),
            department_data=np.eye(num_departments, dtype="float32")[RNG.integers(0, num_departments, size=n)],
            sizes=(vocabulary_size, num_tags, num_departments))
    return ctx["tickets"]


def dlwp_sequential(keras, ctx):
    model = keras.Sequential(name="my_example_model")
    model.add(keras.layers.Dense(64, activation="relu", name="my_first_layer"))
    model.add(keras.layers.Dense(10, activation="softmax", name="my_last_layer"))
    model.build((None, 3))
    assert [w.shape for w in model.weights] == [(3, 64), (64,), (64, 10), (10,)]
    lines = []
    model.summary(print_fn=lines.append)
    assert 'Model: "my_example_model"' in lines[0]
    model = keras.Sequential()
    model.add(keras.Input(shape=(3,)))
    model.add(keras.layers.Dense(64, activation="relu"))
    assert model.layers[0].output_shape == (None, 64) or tuple(model.layers[0].output.shape) == (None, 64)


def dlwp_functional_tickets(keras, ctx):
    data = _tickets(ctx)
    vocabulary_size, num_tags, num_departments = data["sizes"]
    title = keras.Input(shape=(vocabulary_size,), name="title")
    text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
    tags = keras.Input(shape=(num_tags,), name="tags")
    features = keras.layers.Concatenate()([title, text_body, tags])
    features = keras.layers.Dense(64, activation="relu")(features)
    priority = keras.layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = keras.layers.Dense(num_departments, activation="softmax", name="department")(features)
    model = keras.Model(inputs=[title, text_body, tags], outputs=[priority, department])
    model.compile(optimizer="rmsprop", loss=["mean_squared_error", "categorical_crossentropy"],
                  metrics=[["mean_absolute_error"], ["accuracy"]])
    inputs = [data["title_data"], data["text_body_data"], data["tags_data"]]
    model.fit(inputs, [data["priority_data"], data["department_data"]], epochs=1, verbose=0)
    model.evaluate(inputs, [data["priority_data"], data["department_data"]], verbose=0)
    priority_preds, department_preds = model.predict(inputs, verbose=0)
    assert priority_preds.shape == (40, 1) and department_preds.shape == (40, num_departments)
    model.compile(optimizer="rmsprop",
                  loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"},
                  metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]})
    named = {"title": data["title_data"], "text_body": data["text_body_data"], "tags": data["tags_data"]}
    model.fit(named, {"priority": data["priority_data"], "department": data["department_data"]}, epochs=1,
              verbose=0)
    ctx["tickets_model"] = model


def dlwp_reuse_layers(keras, ctx):
    data = _tickets(ctx)
    model = ctx["tickets_model"]
    assert len(model.layers) == 7
    assert tuple(model.layers[3].input[0].shape) == (None, data["sizes"][0])
    features = model.layers[4].output
    difficulty = keras.layers.Dense(3, activation="softmax", name="difficulty")(features)
    new_model = keras.Model(inputs=model.inputs, outputs=[*model.outputs, difficulty])
    outputs = new_model.predict([data["title_data"], data["text_body_data"], data["tags_data"]], verbose=0)
    assert [o.shape[1] for o in outputs] == [1, data["sizes"][2], 3]


def dlwp_subclassed_tickets(keras, ctx):
    data = _tickets(ctx)

    class CustomerTicketModel(keras.Model):
        def __init__(self, num_departments):
            super().__init__()
            self.concat_layer = keras.layers.Concatenate()
            self.mixing_layer = keras.layers.Dense(64, activation="relu")
            self.priority_scorer = keras.layers.Dense(1, activation="sigmoid")
            self.department_classifier = keras.layers.Dense(num_departments, activation="softmax")

        def call(self, inputs):
            features = self.concat_layer([inputs["title"], inputs["text_body"], inputs["tags"]])
            features = self.mixing_layer(features)
            return self.priority_scorer(features), self.department_classifier(features)

    model = CustomerTicketModel(num_departments=data["sizes"][2])
    named = {"title": data["title_data"], "text_body": data["text_body_data"], "tags": data["tags_data"]}
    priority, department = model(named)
    model.compile(optimizer="rmsprop", loss=["mean_squared_error", "categorical_crossentropy"],
                  metrics=[["mean_absolute_error"], ["accuracy"]])
    model.fit(named, [data["priority_data"], data["department_data"]], epochs=1, verbose=0)
    model.evaluate(named, [data["priority_data"], data["department_data"]], verbose=0)
    priority_preds, department_preds = model.predict(named, verbose=0)
    assert priority_preds.shape == (40, 1)


def dlwp_mixing_styles(keras, ctx):
    class Classifier(keras.Model):
        def __init__(self, num_classes=2):
            super().__init__()
            if num_classes == 2:
                num_units, activation = 1, "sigmoid"
            else:
                num_units, activation = num_classes, "softmax"
            self.dense = keras.layers.Dense(num_units, activation=activation)

        def call(self, inputs):
            return self.dense(inputs)

    inputs = keras.Input(shape=(3,))
    features = keras.layers.Dense(64, activation="relu")(inputs)
    outputs = Classifier(num_classes=10)(features)
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 10)

    inputs = keras.Input(shape=(64,))
    binary_classifier = keras.Model(inputs=inputs, outputs=keras.layers.Dense(1, activation="sigmoid")(inputs))

    class MyModel(keras.Model):
        def __init__(self, num_classes=2):
            super().__init__()
            self.dense = keras.layers.Dense(64, activation="relu")
            self.classifier = binary_classifier

        def call(self, inputs):
            return self.classifier(self.dense(inputs))

    model = MyModel()
    assert model(np.ones((2, 5), "float32")).shape == (2, 1)


def dlwp_custom_metric(keras, ctx):
    import jax.numpy as jnp

    class RootMeanSquaredError(keras.metrics.Metric):
        def __init__(self, name="rmse", **kwargs):
            super().__init__(name=name, **kwargs)
            self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
            self.total_samples = self.add_weight(name="total_samples", initializer="zeros", dtype="int32")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = jnp.eye(y_pred.shape[1])[jnp.asarray(y_true).astype("int32")]
            mse = jnp.sum(jnp.square(y_true - y_pred))
            self.mse_sum.assign_add(mse)
            self.total_samples.assign_add(y_pred.shape[0])

        def result(self):
            return jnp.sqrt(self.mse_sum / self.total_samples.value.astype("float32"))

        def reset_state(self):
            self.mse_sum.assign(0.0)
            self.total_samples.assign(0)

    x_train, y_train, x_valid, y_valid, _, _ = _fashion(ctx)
    model = keras.Sequential([keras.Input((28 * 28,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", RootMeanSquaredError()])
    model.fit(x_train.reshape(-1, 784), y_train, epochs=2, verbose=0,
              validation_data=(x_valid.reshape(-1, 784), y_valid))
    logs = model.evaluate(x_valid.reshape(-1, 784), y_valid, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "rmse"} and 0 < logs["rmse"] < 2


def dlwp_loss_history_callback(keras, ctx):
    x_train, y_train, _, _, _, _ = _fashion(ctx)

    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

        def on_epoch_end(self, epoch, logs):
            self.epochs_seen = epoch + 1

    history = LossHistory()
    model = keras.Sequential([keras.Input((28 * 28,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.reshape(-1, 784), y_train, epochs=2, batch_size=16, verbose=0, callbacks=[history])
    assert len(history.per_batch_losses) == 8 and history.epochs_seen == 2


def dlwp_builtin_callbacks(keras, ctx, tmp_path):
    x_train, y_train, x_valid, y_valid, _, _ = _fashion(ctx)
    callbacks_list = [keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2),
                      keras.callbacks.ModelCheckpoint(filepath=str(tmp_path / "checkpoint_path.keras"),
                                                      monitor="val_loss", save_best_only=True)]
    model = keras.Sequential([keras.Input((28 * 28,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.reshape(-1, 784), y_train, epochs=3, verbose=0, callbacks=callbacks_list,
              validation_data=(x_valid.reshape(-1, 784), y_valid))
    keras.models.load_model(str(tmp_path / "checkpoint_path.keras"))


DLWP = [dlwp_sequential, dlwp_functional_tickets, dlwp_reuse_layers, dlwp_subclassed_tickets, dlwp_mixing_styles,
        dlwp_custom_metric, dlwp_loss_history_callback, dlwp_builtin_callbacks]


# ----- keras.io: Training & evaluation with the built-in methods -------------------------------------------------

def _digits(ctx):
    if "digits" not in ctx:
        x = RNG.random((120, 784)).astype("float32")
        y = (x[:, :392].sum(1) * 7 % 10).astype("int64")
        ctx["digits"] = (x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:])
    return ctx["digits"]


def _uncompiled(keras):
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def guide_compile_fit_evaluate(keras, ctx):
    x_train, y_train, x_val, y_val, x_test, y_test = _digits(ctx)
    model = _uncompiled(keras)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_data=(x_val, y_val), verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "val_loss",
                                    "val_sparse_categorical_accuracy"}
    results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    assert len(results) == 2
    assert model.predict(x_test[:3], verbose=0).shape == (3, 10)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)


def guide_custom_losses(keras, ctx):
    x_train, y_train, _, _, _, _ = _digits(ctx)
    y_train_one_hot = keras.utils.to_categorical(y_train, num_classes=10)

    def custom_mean_squared_error(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    model = _uncompiled(keras)
    model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
    model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0)

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
            reg = keras.ops.mean(keras.ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    model = _uncompiled(keras)
    model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
    model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0)


def guide_custom_metric(keras, ctx):
    x_train, y_train, _, _, _, _ = _digits(ctx)
    ops = keras.ops

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
            values = ops.cast(values, "float32")
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, "float32")
                values = ops.multiply(values, sample_weight)
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives.value

        def reset_state(self):
            self.true_positives.assign(0)

    model = _uncompiled(keras)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=0)
    assert "categorical_true_positives" in history.history


def guide_add_loss(keras, ctx):
    x_train, y_train, _, _, _, _ = _digits(ctx)

    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(keras.ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)


def guide_validation_split_and_weights(keras, ctx):
    x_train, y_train, _, _, _, _ = _digits(ctx)
    model = _uncompiled(keras)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0)
    class_weight = {i: 1.0 for i in range(10)}
    class_weight[5] = 2.0
    model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1, verbose=0)
    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0
    model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)


def guide_lr_schedule(keras, ctx):
    x_train, y_train, _, _, _, _ = _digits(ctx)
    initial_learning_rate = 0.1
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate, decay_steps=100000,
                                                              decay_rate=0.96, staircase=True)
    optimizer = keras.optimizers.SGD(learning_rate=lr_schedule)
    model = _uncompiled(keras)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)


def guide_callbacks(keras, ctx, tmp_path):
    x_train, y_train, _, _, _, _ = _digits(ctx)
    model = _uncompiled(keras)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1),
                 keras.callbacks.ModelCheckpoint(filepath=str(tmp_path / "mymodel_{epoch}.keras"),
                                                 save_best_only=True, monitor="val_loss", verbose=1)]
    model.fit(x_train, y_train, epochs=2, batch_size=64, callbacks=callbacks, validation_split=0.2, verbose=0)


GUIDE = [guide_compile_fit_evaluate, guide_custom_losses, guide_custom_metric, guide_add_loss,
         guide_validation_split_and_weights, guide_lr_schedule, guide_callbacks]

#: Steps that need a part of lamina still to come: {step name: reason}.
PENDING = {}

CHAPTERS = {"homl": HOML, "dlwp": DLWP, "guide": GUIDE}
