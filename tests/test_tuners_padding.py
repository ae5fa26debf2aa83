"""Dense stacks of different widths and depths train in one padded Population, each as it would alone."""

import numpy as np
import pytest

pytest.importorskip("optuna")

import lamina as keras  # noqa: E402
import lamina.tuners as kt  # noqa: E402
from lamina.tuners import Population, padding  # noqa: E402
from lamina.tuners import tuner as tuner_lib  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 6)).astype("float32")
Y = (X[:, :1] + X[:, 1:2] > 0).astype("float32")


def stack(units, optimizer, seed=0, activation="relu", **dense):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((6,))]
                             + [keras.layers.Dense(u, activation=activation, **dense) for u in units]
                             + [keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=optimizer(), metrics=["accuracy"])
    return model


SHAPES = [([4], 1), ([12, 3], 2), ([3, 9, 5], 3), ([7], 4)]
OPTIMIZERS = {"adam": lambda: keras.optimizers.Adam(0.02),
              "sgd-momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
              "rmsprop-l2": lambda: keras.optimizers.RMSprop(0.01)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_padded_twins_train_as_their_models_alone(name):
    optimizer = OPTIMIZERS[name]
    # sigmoid(0) = 0.5: the unit mask, not the zero weights, keeps the padded units silent
    dense = {"kernel_regularizer": keras.regularizers.L2(0.01), "activation": "sigmoid"} if name == "rmsprop-l2" else {}
    fit = dict(epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    alone = []
    for units, seed in SHAPES:
        model = stack(units, optimizer, seed, **dense)
        keras.utils.set_random_seed(7)
        alone.append((model, model.fit(X, Y, **fit).history))
    models = [stack(units, optimizer, seed, **dense) for units, seed in SHAPES]
    twins = padding.embed(models)
    assert len({tuple(v.shape for v in t.weights) for t in twins}) == 1  # one architecture: one program
    keras.utils.set_random_seed(7)
    histories = Population(twins).fit(X, Y, **fit)
    for (reference, logs), model, twin, history in zip(alone, models, twins, histories):
        padding.restore(twin, model)
        assert list(history.history) == list(logs)
        for key in logs:
            np.testing.assert_allclose(history.history[key], logs[key], rtol=1e-5, atol=1e-6)
        for got, want in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        assert len(model.optimizer.variables) == len(reference.optimizer.variables)
        for got, want in zip(model.optimizer.get_weights(), reference.optimizer.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.predict(X, verbose=0), reference.predict(X, verbose=0), rtol=1e-4, atol=1e-6)


def test_the_padding_stays_zero_and_masked_units_change_nothing():
    models = [stack([2], OPTIMIZERS["adam"], 1), stack([5, 5], OPTIMIZERS["adam"], 2)]
    twins = padding.embed(models)
    Population(twins).fit(X, Y, epochs=2, batch_size=8, verbose=0)
    small = twins[0]
    kernel = small.layers[0].kernel.numpy()
    assert np.all(kernel[:, 2:] == 0) and np.all(small.layers[1].kernel.numpy() == 0)
    assert np.all(small.layers[-1].kernel.numpy()[2:] == 0)
    assert small.layers[1].active.numpy() == 0 and list(small.layers[0].units_mask.numpy()) == [1, 1, 0, 0, 0]


def test_what_cannot_be_padded():
    adam = OPTIMIZERS["adam"]
    assert padding.signature(stack([3, 4], adam)) is not None
    assert padding.signature(stack([3], adam)) == padding.signature(stack([8, 2, 5], adam))
    assert padding.signature(stack([3], adam)) == padding.signature(stack([3], OPTIMIZERS["sgd-momentum"]))  # combined
    assert padding.signature(stack([3], adam)) != padding.signature(stack([3], adam, activation="tanh"))
    assert padding.signature(stack([3], adam, kernel_constraint=keras.constraints.MaxNorm(2))) is None
    assert padding.signature(stack([3], adam, activity_regularizer=keras.regularizers.L2(0.1))) is None
    mixed = stack([3, 4], adam)
    mixed.layers[1].activation = keras.activations.get("tanh")
    assert padding.signature(mixed) is None  # hidden layers with different activations
    with_dropout = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3), keras.layers.Dropout(0.5),
                                     keras.layers.Dense(1)])
    with_dropout.compile(loss="mse", optimizer="adam")
    assert padding.signature(with_dropout) is None
    inputs = keras.Input((6,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(3)(inputs)))
    functional.compile(loss="mse", optimizer="adam")
    assert padding.signature(functional) is None
    trained = stack([3], adam)
    trained.fit(X, Y, epochs=1, verbose=0)
    assert padding.signature(trained) is None  # its optimizer holds state of its own shapes
    with pytest.raises(ValueError, match="differ only in widths and depth"):
        padding.embed([stack([3], adam), stack([3], adam, activation="tanh")])


def build_model(hp):
    model = keras.Sequential([keras.Input((6,))])
    for i in range(hp.Int("hidden_layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 2, 10, step=2), activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", metrics=["accuracy"],
                  optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-1, sampling="log")))
    return model


def test_a_search_over_widths_and_depths_trains_in_one_padded_population(monkeypatch, tmp_path):
    groups = []

    class Recording(Population):
        def __init__(self, models):
            groups.append(len(models))
            super().__init__(models)

    monkeypatch.setattr(tuner_lib, "Population", Recording)
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=5, seed=4, directory=str(tmp_path))
    tuner.search(X, Y, epochs=4, batch_size=8, validation_split=0.25, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 5 and all(t.status == "COMPLETED" for t in trials)
    assert len({(t.hyperparameters.values["hidden_layers"], t.hyperparameters.values["units_0"]) for t in trials}) > 1
    assert groups == [5]
    x_val, y_val = X[45:], Y[45:]
    for trial, model in zip(tuner.oracle.get_best_trials(5), tuner.get_best_models(5)):
        hidden = [layer for layer in model.layers[:-1]]
        assert len(hidden) == trial.hyperparameters.values["hidden_layers"]  # the trial's own architecture
        # the checkpoint holds the weights of the trial's best epoch: they score what the trial reported
        assert model.evaluate(x_val, y_val, verbose=0)[1] == pytest.approx(trial.score, abs=1e-6)


def test_trials_with_different_optimizers_share_one_program_and_train_as_alone():
    choices = [([4], 1, lambda: keras.optimizers.Adam(0.02)), ([12, 3], 2, lambda: keras.optimizers.SGD(0.05)),
               ([3, 9, 5], 3, lambda: keras.optimizers.Adam(0.01, beta_1=0.8)),
               ([7], 4, lambda: keras.optimizers.RMSprop(0.01))]
    fit = dict(epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    alone = []
    for units, seed, optimizer in choices:
        model = stack(units, optimizer, seed)
        keras.utils.set_random_seed(7)
        alone.append((model, model.fit(X, Y, **fit).history))
    models = [stack(units, optimizer, seed) for units, seed, optimizer in choices]
    assert len({padding.signature(m) for m in models}) == 1
    twins = padding.embed(models)
    assert [t.optimizer.choice for t in twins] == [0, 1, 0, 2]  # adam, sgd, rmsprop: in order of appearance
    keras.utils.set_random_seed(7)
    histories = Population(twins).fit(X, Y, **fit)
    for (reference, logs), model, twin, history in zip(alone, models, twins, histories):
        padding.restore(twin, model)
        for key in logs:
            np.testing.assert_allclose(history.history[key], logs[key], rtol=1e-5, atol=1e-6)
        for got, want in zip(model.get_weights() + model.optimizer.get_weights(),
                             reference.get_weights() + reference.optimizer.get_weights()):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    train = [p for name, p in twins[0]._engine.programs.items() if "train" in str(name)]
    assert len(train) == 1 and len(train[0]._programs) == 1  # one program, one signature, every epoch


def test_optimizers_with_base_options_are_not_combined():
    from lamina.tuners import optimizer_choice

    assert optimizer_choice.plain(keras.optimizers.Adam(0.1))

    class Stepped(keras.optimizers.SGD):
        def apply(self, grads, opt_state=None, params=None):  # an update of its own: not the base one
            return super().apply(grads, opt_state, params)

    assert not optimizer_choice.plain(Stepped(0.1))
    for other in (keras.optimizers.Adam(0.1, clipnorm=1.0), keras.optimizers.AdamW(0.1),
                  keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
                  keras.optimizers.Adam(0.1, use_ema=True)):
        assert not optimizer_choice.plain(other)
        assert padding.signature(stack([3], lambda: other)) != padding.signature(stack([3], OPTIMIZERS["adam"]))
    with pytest.raises(ValueError, match="plain optimizers"):
        optimizer_choice.OptimizerChoice([keras.optimizers.Adam(), keras.optimizers.SGD(clipnorm=1.0)], 0, 0.1)


def test_padding_only_when_it_saves_more_than_it_costs(monkeypatch, tmp_path):
    adam = lambda: keras.optimizers.Adam(0.01)  # noqa: E731
    small = [stack([4], adam), stack([64, 64, 64], adam)]  # a 9k-weight twin: overhead-bound, pad
    assert padding.worth_padding(small)
    wide = [stack([4], adam), stack([200, 200], adam)]  # a 42k-weight twin for both: twice their own work
    assert stack([200, 200], adam).count_params() == 41801 and not padding.worth_padding(wide)
    close = [stack([190, 200], adam), stack([200, 200], adam), stack([200, 180], adam)]  # < 1.5x their own
    assert padding.worth_padding(close)

    # a search whose trials differ too much in size trains them by architecture, not as padded twins
    groups = []

    class Recording(Population):
        def __init__(self, models):
            groups.append([type(m.layers[0]).__name__ for m in models])
            super().__init__(models)

    def build(hp):
        model = keras.Sequential([keras.Input((6,))])
        model.add(keras.layers.Dense(hp.Choice("units", [2, 256]), activation="relu"))
        model.add(keras.layers.Dense(256 if hp.Boolean("deep") else 2, activation="relu"))
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
        return model

    monkeypatch.setattr(tuner_lib, "Population", Recording)
    tuner = kt.GridSearch(build, objective="val_accuracy", directory=str(tmp_path))
    tuner.search(X, Y, epochs=1, batch_size=8, validation_split=0.25, verbose=0)
    assert len(tuner.oracle.trials) == 4
    assert not any("PaddedDense" in names for names in groups)
