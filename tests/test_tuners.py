"""lamina.tuners: Keras Tuner's API on Optuna. The Hands-On ML chapter 10 tuner code runs with only the
import changed (on small synthetic images), the space follows Keras Tuner's grids and direction rules,
Hyperband follows Keras Tuner's schedule, and processes sharing one SQLite study run max_trials trials."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="lamina.tuners runs on Optuna (extra `tune`)")

import lamina as keras  # noqa: E402
import lamina.tuners as kt  # noqa: E402
from lamina.tuners import tuner as tuner_lib  # noqa: E402

tf = keras  # the book's code says `tf.keras.layers...`: lamina stands in for `tf.keras`
tf.keras = keras

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _images(seed, n):
    """Fashion-MNIST-shaped stand-in: 8x8 images of 10 classes, each class a brighter patch."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 0.3, (n, 8, 8)).astype("float32")
    x[np.arange(n), y % 8, (y // 8) * 4] += 1.0
    return x, y


X_train, y_train = _images(0, 96)
X_valid, y_valid = _images(1, 32)


# ---- Hands-On ML, chapter 10, "Fine-Tuning Neural Network Hyperparameters" (import changed only) ----

def build_model(hp):
    n_hidden = hp.Int("n_hidden", min_value=0, max_value=8, default=2)
    n_neurons = hp.Int("n_neurons", min_value=16, max_value=256)
    learning_rate = hp.Float("learning_rate", min_value=1e-4, max_value=1e-2,
                             sampling="log")
    optimizer = hp.Choice("optimizer", values=["sgd", "adam"])
    if optimizer == "sgd":
        optimizer = tf.keras.optimizers.SGD(learning_rate=learning_rate)
    else:
        optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)

    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Flatten())
    for _ in range(n_hidden):
        model.add(tf.keras.layers.Dense(n_neurons, activation="relu"))
    model.add(tf.keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


class MyClassificationHyperModel(kt.HyperModel):
    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, X, y, **kwargs):
        if hp.Boolean("normalize"):
            norm_layer = tf.keras.layers.Normalization()
            X = norm_layer(X)
        return model.fit(X, y, **kwargs)


@pytest.fixture(scope="module")
def random_search_tuner(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tuners") / "my_fashion_mnist"
    random_search_tuner = kt.RandomSearch(
        build_model, objective="val_accuracy", max_trials=3, overwrite=True,
        directory=str(directory), project_name="my_rnd_search", seed=42)
    random_search_tuner.search(X_train, y_train, epochs=2,
                               validation_data=(X_valid, y_valid), verbose=0)
    return random_search_tuner


def test_book_random_search(random_search_tuner, capsys):
    top3_models = random_search_tuner.get_best_models(num_models=3)
    best_model = top3_models[0]
    top3_params = random_search_tuner.get_best_hyperparameters(num_trials=3)
    values = top3_params[0].values  # best hyperparameter values
    best_trial = random_search_tuner.oracle.get_best_trials(num_trials=1)[0]
    best_trial.summary()
    assert "Trial" in capsys.readouterr().out
    assert len(top3_models) == len(top3_params) == 3
    assert set(values) == {"n_hidden", "n_neurons", "learning_rate", "optimizer"}
    assert 0 <= values["n_hidden"] <= 8 and 16 <= values["n_neurons"] <= 256
    assert 1e-4 <= values["learning_rate"] <= 1e-2 and values["optimizer"] in ("sgd", "adam")
    # The reloaded model holds the weights of the best epoch: its validation accuracy is the trial's score.
    score = best_trial.metrics.get_last_value("val_accuracy")
    assert score == best_trial.score
    _, accuracy = best_model.evaluate(X_valid, y_valid, verbose=0)
    assert accuracy == pytest.approx(score, abs=1e-6)
    scores = [t.score for t in random_search_tuner.oracle.get_best_trials(3)]
    assert scores == sorted(scores, reverse=True)
    # The best model trains on (the book goes on with best_model.fit(X_train_full, ...)).
    best_model.fit(X_train, y_train, epochs=1, verbose=0)


def test_files_and_summaries(random_search_tuner, capsys):
    project = pathlib.Path(random_search_tuner.project_dir)
    trials = sorted(p.name for p in project.glob("trial_*"))
    assert trials == ["trial_00", "trial_01", "trial_02"]
    record = json.loads((project / "trial_00" / "trial.json").read_text())
    assert record["status"] == "COMPLETED" and set(record["hp_values"]) >= {"n_hidden", "optimizer"}
    assert (project / "trial_00" / "checkpoint.weights.h5").is_file()
    random_search_tuner.results_summary(num_trials=2)
    random_search_tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "Results summary" in out and "Showing 2 best trials" in out and out.count("summary\nHyperparameters") == 2
    assert "Default search space size: 4" in out and "learning_rate (Float)" in out and "'sampling': 'log'" in out


def test_resume_runs_only_what_is_left(tmp_path):
    def small(hp):
        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                  keras.layers.Dense(hp.Int("units", 2, 4), activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model

    args = dict(objective="val_accuracy", directory=str(tmp_path), project_name="p", seed=1)
    first = kt.RandomSearch(small, max_trials=2, **args)
    first.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    again = kt.RandomSearch(small, max_trials=3, **args)  # overwrite=False: resume
    assert len(again.oracle.trials) == 2
    again.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    assert sorted(again.oracle.trials) == ["00", "01", "02"]
    fresh = kt.RandomSearch(small, max_trials=1, overwrite=True, **args)
    assert fresh.oracle.trials == {}


def test_hypermodel_fit_tunes_preprocessing_and_bayesian_optimization(tmp_path):
    bayesian_opt_tuner = kt.BayesianOptimization(
        MyClassificationHyperModel(), objective="val_accuracy", seed=42,
        max_trials=2, alpha=1e-4, beta=2.6,
        overwrite=True, directory=str(tmp_path / "my_fashion_mnist"), project_name="bayesian_opt")
    bayesian_opt_tuner.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    trials = bayesian_opt_tuner.oracle.get_best_trials(3)
    assert len(trials) == 2
    assert all("normalize" in t.hyperparameters.values for t in trials)  # declared in fit, drawn per trial
    assert isinstance(bayesian_opt_tuner.oracle.study.sampler, optuna.samplers.TPESampler)
    with pytest.raises(ValueError, match="alpha"):
        kt.BayesianOptimization(build_model, objective="val_accuracy", alpha=0.1, directory=str(tmp_path))


def test_book_hyperband_with_callbacks(tmp_path):
    hyperband_tuner = kt.Hyperband(
        MyClassificationHyperModel(), objective="val_accuracy", seed=42,
        max_epochs=3, factor=3, hyperband_iterations=1,
        overwrite=True, directory=str(tmp_path / "my_fashion_mnist"), project_name="hyperband")
    root_logdir = pathlib.Path(hyperband_tuner.project_dir) / "tensorboard"
    tensorboard_cb = tf.keras.callbacks.TensorBoard(root_logdir)
    early_stopping_cb = tf.keras.callbacks.EarlyStopping(patience=2)
    hyperband_tuner.search(X_train, y_train, epochs=10,
                           validation_data=(X_valid, y_valid),
                           callbacks=[early_stopping_cb, tensorboard_cb], verbose=0)
    trials = sorted(hyperband_tuner.oracle.trials.values(), key=lambda t: t.number)
    # Keras Tuner's schedule for max_epochs=3, factor=3: bracket 1 runs 3 trials for 1 epoch, then the best
    # one continues to epoch 3; bracket 0 runs 2 trials for 3 epochs.
    shape = [(t.hyperparameters.values["tuner/bracket"], t.hyperparameters.values["tuner/round"],
              t.hyperparameters.values["tuner/initial_epoch"], t.hyperparameters.values["tuner/epochs"])
             for t in trials]
    assert shape == [(1, 0, 0, 1)] * 3 + [(1, 1, 1, 3)] + [(0, 0, 0, 3)] * 2
    continued = trials[3]
    round0 = trials[:3]
    best0 = max(round0, key=lambda t: t.score)
    assert continued.hyperparameters.values["tuner/trial_id"] == best0.trial_id
    assert {k: v for k, v in continued.hyperparameters.values.items() if not k.startswith("tuner/")} == \
        {k: v for k, v in best0.hyperparameters.values.items() if not k.startswith("tuner/")}
    assert continued.best_step in (1, 2)  # epochs 1 and 2 ran: it started from epoch 1's weights
    logs = sorted(p.name for p in root_logdir.iterdir())
    assert logs == [t.trial_id for t in trials]  # one TensorBoard folder per trial


def test_hyperband_schedule_matches_keras_tuner():
    kt_hyperband = pytest.importorskip("keras_tuner.src.tuners.hyperband", reason="keras-tuner (dev)")
    for max_epochs, factor in [(3, 3), (10, 3), (27, 3), (100, 3), (20, 2), (81, 4)]:
        ours = kt.HyperbandOracle("val_loss", max_epochs=max_epochs, factor=factor)
        theirs = kt_hyperband.HyperbandOracle(objective="val_loss", max_epochs=max_epochs, factor=factor)
        assert ours.brackets() == theirs._get_num_brackets()
        for b in range(ours.brackets()):
            for r in range(b + 1):
                assert (ours.size(b, r), ours.epochs(b, r)) == (theirs._get_size(b, r), theirs._get_epochs(b, r))


def test_grid_search_enumerates_each_active_combination_once(tmp_path):
    def build(hp):
        activation = hp.Choice("activation", ["relu", "tanh"])  # same weights: compiled programs are shared
        kind = hp.Choice("kind", ["a", "b"])
        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                  keras.layers.Dense(2, activation=activation)])
        with hp.conditional_scope("kind", ["b"]):
            if kind == "b":
                model.add(keras.layers.Dense(hp.Int("extra", 2, 4, step=2)))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        return model

    tuner = kt.GridSearch(build, objective="val_loss", directory=str(tmp_path), project_name="grid")
    tuner.search(X_train[:16], y_train[:16], epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    seen = sorted(tuple(sorted(t.hyperparameters.values.items())) for t in tuner.oracle.trials.values())
    expected = sorted(tuple(sorted(({"activation": u, "kind": "a"} if e is None else
                                    {"activation": u, "kind": "b", "extra": e}).items()))
                      for u in ("relu", "tanh") for e in (None, 2, 4))
    assert seen == expected


# ---- HyperParameters and Objective against Keras Tuner ----

def test_hyperparameter_values_follow_keras_tuner():
    kt_hp = pytest.importorskip("keras_tuner").HyperParameters
    cases = [("Int", dict(min_value=2, max_value=32, step=2, sampling="log")),
             ("Int", dict(min_value=0, max_value=10, step=5)),
             ("Float", dict(min_value=0.1, max_value=0.9, step=0.2)),
             ("Float", dict(min_value=1e-4, max_value=1.0, step=10, sampling="log"))]
    for kind, kwargs in cases:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        theirs = getattr(kt_hp(), kind)("x", **kwargs)  # the default value
        reference = kt_hp()
        getattr(reference, kind)("x", **kwargs)
        grid = [float(v) for v in reference.space[0].values]
        ours = kt.HyperParameters()
        assert getattr(ours, kind)("x", **kwargs) == theirs
        assert [float(v) for v in ours.space[0].grid()] == pytest.approx(grid)
        for _ in range(10):
            hp = kt.HyperParameters()
            hp._trial = study.ask()
            assert float(getattr(hp, kind)("x", **kwargs)) == pytest.approx(min(grid, key=lambda g: abs(
                g - float(hp.values["x"]))))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for sampling in ("log", "reverse_log"):
        for _ in range(20):
            hp = kt.HyperParameters()
            hp._trial = study.ask()
            assert 1e-3 <= hp.Float(f"f_{sampling}", 1e-3, 1.0, sampling=sampling) <= 1.0


def test_conditional_scope_values_and_errors():
    hp = kt.HyperParameters()
    assert hp.Choice("model", ["cnn", "mlp"]) == "cnn"
    with hp.conditional_scope("model", ["mlp"]):
        assert hp.Int("layers", 1, 3) is None  # inactive: None, and no value
    with hp.conditional_scope("model", "cnn"):
        assert hp.Int("filters", 8, 64, step=8) == 8
    assert hp.Fixed("batch", 32) == 32 and hp.Boolean("flag") is False
    assert hp.values == {"model": "cnn", "filters": 8, "batch": 32, "flag": False}
    assert hp.get("filters") == 8 and "layers" not in hp
    with pytest.raises(ValueError, match="inactive"):
        hp.get("layers")
    with pytest.raises(KeyError, match="Unknown hyperparameter"):
        hp.get("nope")
    with pytest.raises(ValueError, match="declare the parent first"):
        with hp.conditional_scope("missing", [1]):
            pass
    with pytest.raises(ValueError, match="step"):
        hp.Float("bad", 1e-3, 1.0, step=0.5, sampling="log")


def test_objective_direction_matches_keras_tuner():
    infer = pytest.importorskip("keras_tuner.src.engine.metrics_tracking").infer_metric_direction
    for name in ["val_accuracy", "accuracy", "acc", "val_loss", "loss", "mae", "val_mse", "auc", "val_auc",
                 "precision", "recall", "mean_squared_error", "binary_accuracy", "weighted_accuracy"]:
        assert kt.objective.to_objective(name).direction == infer(name), name
    with pytest.raises(ValueError, match="direction"):
        kt.objective.to_objective("my_custom_score")


def test_missing_objective_is_a_clear_error(tmp_path):
    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=2, directory=str(tmp_path))
    with pytest.raises(ValueError, match="validation_data"):
        tuner.search(X_train, y_train, epochs=1, verbose=0)  # no validation data: no val_accuracy


def test_retries_then_consecutive_failures(tmp_path):
    calls = []

    def flaky(hp):
        hp.Int("units", 2, 4)
        calls.append(1)
        if len(calls) in (2, 3):  # the first trial's first two runs fail (the initial build is call 1)
            raise RuntimeError("transient")
        return build_model(hp)

    tuner = kt.RandomSearch(flaky, objective="val_accuracy", max_trials=1, max_retries_per_trial=2,
                            directory=str(tmp_path), project_name="flaky")
    tuner.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"]

    def broken(hp):
        hp.Int("units", 2, 4)
        if hp._trial is not None:
            raise RuntimeError("always broken")
        return build_model(hp)

    tuner = kt.RandomSearch(broken, objective="val_accuracy", max_trials=5, directory=str(tmp_path),
                            project_name="broken")
    with pytest.raises(RuntimeError, match="3 consecutive trials failed.*always broken"):
        tuner.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)


def test_missing_optuna_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"lamina\[tune\]"):
        kt.RandomSearch(build_model, objective="val_accuracy", directory=str(tmp_path))


# ---- the seam for vectorized trials ----

def test_trials_sharing_an_architecture_go_to_population_together(monkeypatch, tmp_path):
    groups = []

    class RecordingPopulation:
        """Stands in for lamina.tuners.population.Population: records its groups, trains one by one."""

        def __init__(self, models):
            self.models = models
            groups.append([m.optimizer.learning_rate for m in models])

        def fit(self, *args, member_callbacks, **kwargs):
            return [m.fit(*args, callbacks=own, **kwargs) for m, own in zip(self.models, member_callbacks)]

    monkeypatch.setattr(tuner_lib, "Population", RecordingPopulation)

    def build(hp):
        units = hp.Choice("units", [3, 5])
        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                  keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")))
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=6, seed=3, directory=str(tmp_path))
    tuner.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    trials = tuner.oracle.trials.values()
    assert len(trials) == 6 and all(t.status == "COMPLETED" for t in trials)
    by_units = {}
    for t in trials:
        by_units.setdefault(t.hyperparameters.values["units"], []).append(t)
    assert sorted(len(g) for g in groups) == sorted(len(g) for g in by_units.values() if len(g) > 1)
    assert len(tuner.get_best_models(6)) == 6
    off = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, directory=str(tmp_path),
                          project_name="off", vectorize=False)
    groups.clear()
    off.search(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
    assert groups == []


def test_trials_sharing_an_architecture_train_in_one_real_population(tmp_path):
    def build(hp):
        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")))
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=3, seed=5, directory=str(tmp_path))
    tuner.search(X_train, y_train, epochs=2, validation_data=(X_valid, y_valid), verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    scores = sorted(t.score for t in trials)
    best = tuner.get_best_models(1)[0]
    assert best.evaluate(X_valid, y_valid, verbose=0)[1] == pytest.approx(scores[-1], abs=1e-6)


# ---- several processes, one study ----

_WORKER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import numpy as np
    import lamina as keras
    import lamina.tuners as kt

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Choice("units", [1, 2])),
                                  keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")))
        return model

    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    tuner = kt.RandomSearch(build, objective="loss", max_trials=4, directory={directory!r},
                            project_name="shared", storage={storage!r}, study_name="shared-study")
    tuner.search(x, x[:, :1], epochs=1, verbose=0)
""")


def test_two_processes_share_one_sqlite_study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    script = tmp_path / "worker.py"
    script.write_text(_WORKER.format(root=str(ROOT), directory=str(tmp_path / "runs"), storage=storage))
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    workers = [subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    study = optuna.load_study(study_name="shared-study", storage=storage)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    others = [t for t in study.trials if t.state.name != "COMPLETE"]
    assert len(complete) == 4  # exactly max_trials
    assert all(t.user_attrs.get("lamina_excess") for t in others)  # the rest were refused, never run
    numbers = [t.number for t in complete]
    assert len(set(numbers)) == len(numbers)
    folders = sorted(p.name for p in (tmp_path / "runs" / "shared").glob("trial_*"))
    assert folders == sorted(f"trial_{n:02d}" for n in numbers)  # each trial ran (and saved) once


def test_executions_per_trial_and_a_predefined_space(tmp_path):
    def build(hp):
        model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                  keras.layers.Dense(hp.Int("units", 2, 6, step=2), activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")))
        return model

    given = kt.HyperParameters()
    given.Fixed("units", 4)
    given.Choice("lr", [0.01, 0.05])
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=2, executions_per_trial=2, seed=0,
                            hyperparameters=given, tune_new_entries=False, directory=str(tmp_path))
    tuner.search(X_train, y_train, epochs=2, validation_data=(X_valid, y_valid), verbose=0)
    for trial in tuner.oracle.trials.values():
        assert trial.hyperparameters.values["units"] == 4 and trial.hyperparameters.values["lr"] in (0.01, 0.05)
    best = tuner.oracle.get_best_trials(1)[0]
    # The score averages the two executions' best epochs; the saved weights are the better execution's best
    # epoch, so the reloaded model scores at least as well as the average.
    loss, _ = tuner.get_best_models(1)[0].evaluate(X_valid, y_valid, verbose=0)
    assert loss <= best.score + 1e-6
    strict = kt.RandomSearch(build, objective="val_loss", max_trials=1, hyperparameters=given,
                             allow_new_entries=False, directory=str(tmp_path), project_name="strict")
    assert strict.oracle.space  # the given space is known; nothing new was declared
    given_units_only = kt.HyperParameters()
    given_units_only.Fixed("units", 4)
    with pytest.raises(ValueError, match="allow_new_entries"):
        kt.RandomSearch(build, objective="val_loss", hyperparameters=given_units_only, allow_new_entries=False,
                        directory=str(tmp_path), project_name="refused")
