"""`lamina.tuners.Population`: each member trains exactly as it would alone, in one vectorized program.

The reference is a lone `model.fit` of an identically built member after the same
`set_random_seed` (lone fits are tested against Keras 3 in the training tests).
"""

import numpy as np
import pytest

import lamina as keras
from lamina.tuners import Population

RNG = np.random.default_rng(0)
X = RNG.normal(size=(37, 5)).astype("float32")  # 37 rows: a ragged last batch of 5 with batch_size 8
Y = (RNG.random((37, 1)) > 0.5).astype("float32")
XV = RNG.normal(size=(11, 5)).astype("float32")
YV = (RNG.random((11, 1)) > 0.5).astype("float32")
FIT_SEED = 123


def _model(seed, optimizer, rate=0.2, l2=0.01, units=6, loss="binary_crossentropy", regularizer=None):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer or keras.regularizers.L2(l2)),
        keras.layers.Dropout(rate),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model


TRIALS = {
    "adam": [dict(seed=1, optimizer=lambda: keras.optimizers.Adam(0.01), rate=0.1, l2=0.01),
             dict(seed=2, optimizer=lambda: keras.optimizers.Adam(0.003, beta_1=0.8), rate=0.3, l2=0.001),
             dict(seed=3, optimizer=lambda: keras.optimizers.Adam(0.02, beta_2=0.99), rate=0.5, l2=0.05)],
    "sgd": [dict(seed=4, optimizer=lambda: keras.optimizers.SGD(0.05, momentum=0.9), rate=0.25, l2=0.02),
            dict(seed=5, optimizer=lambda: keras.optimizers.SGD(0.1, momentum=0.5), rate=0.4, l2=0.003)],
}


def _build(trials):
    return [_model(t["seed"], t["optimizer"](), t["rate"], t["l2"]) for t in trials]


def _fit(fit, epochs=3, **kwargs):
    keras.utils.set_random_seed(FIT_SEED)  # the shuffle is drawn from the global stream, as in Model.fit
    return fit(X, Y, batch_size=8, epochs=epochs, verbose=0, **kwargs)


def _assert_same_training(alone, together, histories):
    for i, (lone, model, history) in enumerate(zip(alone, together, histories)):
        assert model.history is history
        assert list(history.history) == list(lone.history.history), i
        assert history.epoch == lone.history.epoch
        for key, values in lone.history.history.items():
            np.testing.assert_allclose(history.history[key], values, rtol=1e-4, err_msg=f"models[{i}] {key}")
        for a, b in zip(lone.get_weights(), model.get_weights()):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6, err_msg=f"models[{i}] weights")
        for a, b in zip(lone.optimizer.get_weights(), model.optimizer.get_weights()):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6, err_msg=f"models[{i}] optimizer")


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_each_member_trains_exactly_as_alone(kind):
    trials = TRIALS[kind]
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, validation_data=(XV, YV))
    together = _build(trials)
    population = Population(together)
    varying = {v.path for v in population.varying}
    assert {"layers[1].kernel_regularizer.l2", "layers[2].rate"} <= varying  # learning rates live in the state
    assert not any("learning_rate" in path for path in varying)
    histories = _fit(population.fit, validation_data=(XV, YV))
    assert set(histories[0].history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    _assert_same_training(alone, together, histories)
    # every epoch ran the programs of the first: the varying floats keep their signature
    programs = [p for name, p in together[0]._engine.programs.items() if "population" in str(name)]
    assert programs and all(len(p._programs) == 1 for p in programs)
    # the trained members differ from each other (each holds its own weights)
    assert not np.allclose(together[0].get_weights()[0], together[1].get_weights()[0])

    # evaluate / predict: one result per member, as each model gives it
    results = population.evaluate(XV, YV, batch_size=4)
    for model, result in zip(together, results):
        np.testing.assert_allclose(result, model.evaluate(XV, YV, batch_size=4, verbose=0), rtol=1e-5)
    outputs = population.predict(XV, batch_size=4)
    for model, out in zip(together, outputs):
        assert out.shape == (11, 1)
        np.testing.assert_allclose(out, model.predict(XV, batch_size=4, verbose=0), rtol=1e-5, atol=1e-7)


def test_validation_split_class_weight_and_no_shuffle():
    trials = TRIALS["adam"][:2]
    kwargs = dict(validation_split=0.25, class_weight={0: 1.0, 1: 2.0}, shuffle=False)
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, **kwargs)
    together = _build(trials)
    histories = _fit(Population(together).fit, **kwargs)
    _assert_same_training(alone, together, histories)


def test_epochs_without_callbacks_run_in_blocks_and_train_as_alone(monkeypatch):
    """With nothing to do between epochs, `EPOCH_BLOCK` epochs run in one program call: 2 + 2 + a shorter last
    block of 1 here (from initial_epoch 1), with dropout's random state carried across the blocks, and with
    validation data each due epoch evaluated inside the block."""
    import lamina.tuners.population as population_module

    monkeypatch.setattr(population_module, "EPOCH_BLOCK", 2)
    trials = TRIALS["adam"]
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, epochs=6, initial_epoch=1)
    together = _build(trials)
    histories = _fit(Population(together).fit, epochs=6, initial_epoch=1)
    assert histories[0].epoch == [1, 2, 3, 4, 5]
    _assert_same_training(alone, together, histories)
    names = [name for name in together[0]._engine.programs if "population" in str(name)]
    assert [name[-5:] for name in names] == [("epochs", 2, 5, 8, False)], names  # one program, no per-epoch one

    # validation runs inside the blocks, after the epochs validation_freq names
    kwargs = dict(epochs=6, initial_epoch=1, validation_data=(XV, YV), validation_freq=2, validation_batch_size=4)
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, **kwargs)
    assert len(alone[0].history.history["val_loss"]) == 3
    together = _build(trials)
    _assert_same_training(alone, together, _fit(Population(together).fit, **kwargs))
    names = [name for name in together[0]._engine.programs if "population" in str(name)]
    assert [name[-8:] for name in names] == [("epochs", 2, 5, 8, False, "validation", 3, 4)], names

    # chunks smaller than an epoch (steps_per_execution) keep one call per chunk
    alone = _build(trials[:2])
    for model in alone:
        _fit(model.fit, epochs=6, initial_epoch=1)
    split = _build(trials[:2])
    for model in split:
        model.steps_per_execution = 2
    _assert_same_training(alone[:2], split, _fit(Population(split).fit, epochs=6, initial_epoch=1))
    assert not any("epochs" in name for name in split[0]._engine.programs if "population" in str(name))


def test_identical_members_share_no_varying_floats_and_train_identically():
    models = [_model(7, keras.optimizers.Adam(0.01)) for _ in range(2)]
    population = Population(models)
    assert population.varying == []
    histories = _fit(population.fit)
    assert histories[0].history == histories[1].history
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change, where", [
    (dict(units=4), r"layers\[1\]\.units \(layer 'dense(_\d+)?' of models\[0\]\): 4 vs 6"),
    (dict(loss="mse"), r"compile\.loss: 'mse' vs 'binary_crossentropy'"),
    (dict(optimizer="sgd"), r"optimizer\.class_name: 'SGD' vs 'Adam'"),
])
def test_different_architectures_are_refused_naming_the_first_difference(change, where):
    base = dict(seed=1, optimizer=keras.optimizers.Adam(0.01))
    other = dict(base, seed=2, optimizer=keras.optimizers.Adam(0.02))
    other.update(change)
    with pytest.raises(ValueError, match=r"models\[2\] differs from models\[0\] at " + where):
        Population([_model(**base), _model(**dict(base, seed=3, optimizer=keras.optimizers.Adam(0.1))),
                    _model(**other)])


def test_hyperparameters_that_change_the_program_are_refused():
    # L1L2 skips a factor of 0 (`if self.l2:`): the members would take different branches of the program
    l1l2 = keras.regularizers.L1L2
    with pytest.raises(ValueError, match=r"layers\[1\]\.kernel_regularizer\.l2 \(\[0\.01, 0\.0\]\) make the program "
                                         r"take different branches \(it tests `!= 0`\)"):
        _fit(Population([_model(1, "adam", regularizer=l1l2(l2=0.01)), _model(2, "adam", regularizer=l1l2(l2=0.0))]).fit)
    # SGD momentum 0 has no momentum slots (SGD tests `momentum == 0`)
    with pytest.raises(ValueError, match=r"optimizer\.momentum \(\[0\.9, 0\.0\]\) make the program take different "
                                         r"branches \(it tests `== 0`\)"):
        _fit(Population([_model(1, keras.optimizers.SGD(0.1, momentum=0.9)),
                         _model(2, keras.optimizers.SGD(0.1))]).fit)
    # a dropout rate of 0 makes no seed generator: the members' states differ
    with pytest.raises(ValueError, match=r"models\[1\]'s non trainable variables differ from models\[0\]'s "
                                         r"\(0 vs 1 arrays\).*a dropout rate 0 vs above 0"):
        _fit(Population([_model(1, "adam", rate=0.3), _model(2, "adam", rate=0.0)]).fit)


def test_bad_populations_and_arguments_are_refused_before_compute():
    model = _model(1, "adam")
    with pytest.raises(ValueError, match=r"models\[1\] shares its model object with models\[0\]"):
        Population([model, model])
    with pytest.raises(ValueError, match="non-empty list"):
        Population([])
    uncompiled = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"models\[1\] is not compiled"):
        Population([model, uncompiled])
    population = Population([model, _model(2, "adam")])
    with pytest.raises(ValueError, match="LambdaCallback needs batch hooks; .* only epoch-level callbacks"):
        population.fit(X, Y, callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)])
    with pytest.raises(ValueError, match="BackupAndRestore needs"):
        population.fit(X, Y, callbacks=[keras.callbacks.BackupAndRestore("/nonexistent/backup")])
    with pytest.raises(ValueError, match="generators and datasets are not supported"):
        population.fit(iter([(X, Y)]))

    class Custom(keras.Sequential):
        def train_step(self, state, data):
            return super().train_step(state, data)

    custom = Custom([keras.Input((5,)), keras.layers.Dense(1)])
    custom.compile(optimizer="adam", loss="mse")
    other = Custom([keras.Input((5,)), keras.layers.Dense(1)])
    other.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"models\[0\] runs Keras-form steps"):
        Population([custom, other])


def test_verbose_prints_one_line_per_epoch(capsys):
    population = Population([_model(1, "adam"), _model(2, keras.optimizers.Adam(0.05))])
    keras.utils.set_random_seed(FIT_SEED)
    population.fit(X, Y, batch_size=8, epochs=2, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 (2 models; min / median / max) - accuracy: ")


def test_functional_members_with_a_schedule_and_rmsprop_train_as_alone():
    """A functional graph (compared by layer positions, not names), a schedule's rate and RMSprop's epsilon."""
    y = np.concatenate([Y, 1 - Y], axis=1)

    def make(seed, rate, epsilon):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((5,))
        hidden = keras.layers.Dropout(0.1)(keras.layers.Dense(4, activation="tanh")(inputs))
        outputs = keras.layers.Dense(2)(keras.layers.Concatenate()([hidden, inputs]))
        model = keras.Model(inputs, outputs)
        schedule = keras.optimizers.schedules.ExponentialDecay(rate, decay_steps=3, decay_rate=0.9)
        model.compile(optimizer=keras.optimizers.RMSprop(schedule, epsilon=epsilon), loss="mse", metrics=["mae"])
        return model

    trials = [(1, 0.01, 1e-7), (2, 0.02, 1e-6)]
    alone = [make(*t) for t in trials]
    for model in alone:
        keras.utils.set_random_seed(FIT_SEED)
        model.fit(X, y, batch_size=8, epochs=2, verbose=0)
    together = [make(*t) for t in trials]
    population = Population(together)
    assert [v.path for v in population.varying] == ["optimizer.learning_rate.initial_learning_rate",
                                                    "optimizer.epsilon"]
    keras.utils.set_random_seed(FIT_SEED)
    histories = population.fit(X, y, batch_size=8, epochs=2, verbose=0)
    _assert_same_training(alone, together, histories)
    results = population.evaluate(X, y, return_dict=True)
    assert results[1] == pytest.approx(together[1].evaluate(X, y, verbose=0, return_dict=True), rel=1e-5)


def test_callbacks_act_per_member_as_in_lone_fits():
    """Each member gets its own copies of the callbacks: EarlyStopping stops (and restores) members one by
    one, ReduceLROnPlateau changes one member's learning rate; the others train on."""
    def callbacks():
        return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.001,
                                              restore_best_weights=True),
                keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=0.05)]

    trials = [(1, 0.003), (2, 0.05), (3, 0.3)]
    kwargs = dict(epochs=12, validation_data=(XV, YV))
    alone = [_model(seed, keras.optimizers.Adam(rate)) for seed, rate in trials]
    for model in alone:
        _fit(model.fit, callbacks=callbacks(), **kwargs)
    together = [_model(seed, keras.optimizers.Adam(rate)) for seed, rate in trials]
    histories = _fit(Population(together).fit, callbacks=callbacks(), **kwargs)
    _assert_same_training(alone, together, histories)
    lengths = [len(h.history["loss"]) for h in histories]
    assert len(set(lengths)) > 1 and max(lengths) < 12, lengths  # members stopped at different epochs
    assert any(h.history["learning_rate"][-1] < h.history["learning_rate"][0] for h in histories)


def test_member_callbacks_reach_their_own_member_uncopied():
    """A tuner gives each member its trial's own tracker: it must see that member's model, logs and weights."""

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((self.model, logs["loss"], self.model.get_weights()[0].copy()))

    models = _build(TRIALS["adam"][:2])
    recorders = [Recorder(), Recorder()]
    histories = _fit(Population(models).fit, epochs=2, member_callbacks=[[r] for r in recorders])
    for model, recorder, history in zip(models, recorders, histories):
        assert [m for m, _, _ in recorder.seen] == [model, model]
        np.testing.assert_allclose([loss for _, loss, _ in recorder.seen], history.history["loss"])
        np.testing.assert_array_equal(recorder.seen[-1][2], model.get_weights()[0])
    assert not np.array_equal(recorders[0].seen[-1][2], recorders[1].seen[-1][2])
    with pytest.raises(ValueError, match="one per member"):
        Population(models).fit(X, Y, member_callbacks=[[Recorder()]])



class _Peek(keras.callbacks.Callback):
    """Says it reads its model only at the epochs in `looks`; records the first kernel at every epoch end."""

    def __init__(self, looks=()):
        super().__init__()
        self.looks, self.epochs, self.kernels = set(looks), 0, []

    def _reads_model(self, logs):
        return self.epochs in self.looks

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        self.kernels.append(self.model.get_weights()[0].copy())


def test_weights_are_written_back_when_a_members_callbacks_may_look():
    """After each epoch a member's weights reach its Variables only when one of its callbacks may look
    (`Callback._reads_model`; History never does); they are brought up to date before the members are read
    back (another member's scheduler assigned a learning rate) and at the end, so every member trains as alone."""
    class Halve(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.optimizer.learning_rate.assign(self.model.optimizer.learning_rate * 0.5)

    trials = TRIALS["adam"]
    alone = _build(trials)
    for i, model in enumerate(alone):
        _fit(model.fit, epochs=4, callbacks=[Halve()] if i == 2 else [])
    together = _build(trials)
    peeks = [_Peek(looks={1}), _Peek()]
    histories = _fit(Population(together).fit, epochs=4, member_callbacks=[[peeks[0]], [peeks[1]], [Halve()]])
    _assert_same_training(alone, together, histories)
    initial = _build(trials[1:2])[0].get_weights()[0]
    # member 1 never looks: its Variables were written when member 2's assignment made the population
    # read every member back (after epoch 1, before epoch 2), and at the end
    np.testing.assert_array_equal(peeks[1].kernels[0], initial)
    np.testing.assert_array_equal(peeks[1].kernels[1], initial)
    assert not np.array_equal(peeks[1].kernels[2], initial)
    np.testing.assert_array_equal(peeks[1].kernels[2], peeks[1].kernels[3])
    # member 0 looks after its second epoch only: it sees that epoch's weights then
    assert not np.array_equal(peeks[0].kernels[1], peeks[0].kernels[0])
    np.testing.assert_array_equal(peeks[0].kernels[2], peeks[0].kernels[1])


def test_an_error_in_a_callback_leaves_every_member_with_its_last_state():
    class Fail(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("stop here")

    trials = TRIALS["adam"][:2]
    alone = _build(trials)
    for model in alone:
        _fit(model.fit, epochs=2)
    together = _build(trials)
    with pytest.raises(RuntimeError, match="stop here"):
        _fit(Population(together).fit, epochs=4, member_callbacks=[[Fail()], [_Peek()]])
    for lone, model in zip(alone, together):
        for a, b in zip(lone.get_weights(), model.get_weights()):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_members_split_over_the_cpu_cores_train_as_alone(tmp_path):
    """With two CPU devices (lamina asks for one per core; this process keeps one, so a child runs it) each trains
    half of the members in a loop of its own: every member still trains as alone, evaluate and predict agree, a
    second population of the same architecture finds the programs in memory, and odd counts or a distribution
    keep the members on one device (`tests/population_child.py`)."""
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_NUM_CPU_DEVICES")}
    env.update(LAMINA_CPU_DEVICES="2", LAMINA_COMPILATION_CACHE_DIR=str(tmp_path / "programs"))
    run = subprocess.run([sys.executable, str(root / "tests" / "population_child.py")], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    assert run.stdout.split()[-1] == "ok", run.stdout[-3000:]


@pytest.mark.parametrize("count, logs, val_logs", [
    (3, {"loss": np.float32([0.5, 0.25, 1 / 3]), "accuracy": np.float32([1, 0, 0.5])}, None),
    (3, {"loss": np.float32([0.5, 0.25, 0.1]), "out": {"b_mae": np.int32([1, 2, 3]), "a": np.bool_([1, 0, 1])}},
     {"loss": np.float32([0.7, 0.2, 0.3])}),
    (2, {"loss": np.float32([0.5, 0.25]), "confusion": np.float32([[1, 2], [3, 4]])}, None),  # not one number each
    (1, {"loss": np.float32([0.5])}, {"loss": np.float32([0.6])}),
    (2, {}, {}),
])
def test_all_members_logs_at_once_equal_each_members_own(count, logs, val_logs):
    from lamina.tuners.population import _member_logs, _members_logs

    rows = _members_logs(count, logs, val_logs)
    want = [_member_logs(i, logs, val_logs) for i in range(count)]
    assert [list(r) for r in rows] == [list(w) for w in want]  # the same names in the same order
    for row, own in zip(rows, want):
        for name, value in own.items():
            assert type(row[name]) is type(value) and np.array_equal(row[name], value), name
