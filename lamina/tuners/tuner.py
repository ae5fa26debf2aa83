"""`Tuner`: Keras Tuner's search loop on an Optuna study (the oracle) and lamina's models.

    tuner = RandomSearch(build_model, objective="val_accuracy", max_trials=10,
                         directory="runs", project_name="mnist")
    tuner.search(x, y, epochs=10, validation_data=(xv, yv), callbacks=[EarlyStopping()])
    best = tuner.get_best_models(1)[0]

Files: `<directory>/<project_name>/` holds the study (`study.journal`, an Optuna journal file, unless
`storage=` names another) and one folder per trial, `trial_<id>/`, with `trial.json` (values, metrics,
score; for reading, never executed) and `checkpoint.weights.h5` (the weights and optimizer state at
the trial's best epoch, best over its executions, written by lamina's saving). `overwrite=False`
(default) resumes: finished trials are kept and the search runs only what is left of `max_trials`;
trials left running by a process that died are marked failed (when the storage is the project's own).

Several processes, one search: give each the same `storage=` (an Optuna URL such as
"sqlite:///search.db" or "postgresql://...", a journal file path, or an Optuna storage object) and
`study_name=`; together they run exactly `max_trials` trials and no trial twice (see `oracle.py`).

Trials that share an architecture can train together in one compiled program
(`lamina.tuners.population.Population`) when `vectorize="auto"`, and so can Dense stacks that differ
only in widths, depth and optimizer class (`lamina.tuners.padding`): see `_fit_batch`.
"""

import copy
import json
import os
import shutil
import sys
import time

import numpy as np

from lamina.tuners import padding
from lamina.tuners.hypermodel import HyperModel, to_hypermodel
from lamina.tuners.hyperparameters import Fixed, HyperParameters
from lamina.tuners.oracle import optuna_module
from lamina.tuners.population import Population
from lamina.tuners.trial import MetricsTracker

_CHECKPOINT = "checkpoint.weights.h5"


class RunningTrial:
    """The trial handed to `run_trial`: Keras Tuner's `trial_id`, `hyperparameters`, `status`, `metrics`."""

    def __init__(self, optuna_trial, hp, trial_id, directory):
        self.optuna_trial = optuna_trial
        self.number = optuna_trial.number
        self.trial_id = trial_id
        self.hyperparameters = hp
        self.directory = directory
        self.status = "RUNNING"
        self.score = None
        self.best_step = None
        self.metrics = MetricsTracker({}, None, None)
        self.best = None          # _BestEpoch of this trial
        self.last_model = None    # the last model built for it


class _BestEpoch:
    """Callback (made per trial, shared by its executions): the objective's best epoch and a copy of every
    variable of the model (weights and optimizer state) at that epoch."""

    def __init__(self, objective):
        from lamina.callbacks import Callback

        outer = self

        class Tracker(Callback):
            def _reads_model(self, logs):
                return outer.improves(logs)

            def on_epoch_end(self, epoch, logs=None):
                outer.update(self.model, epoch, logs or {})

        self.objective = objective
        self.callback = Tracker()
        self.value = None
        self.model = None
        self.snapshot = None

    def improves(self, logs):
        """Whether an epoch with `logs` is better than the best so far (then `update` copies the variables)."""
        value = logs.get(self.objective.name)
        return value is not None and self.objective.better(float(value), self.value)

    def update(self, model, epoch, logs):
        from lamina.backend import tracking

        if not self.improves(logs):
            return
        value = logs[self.objective.name]
        self.value, self.model = float(value), model
        self.snapshot = {path: np.array(v.value) for path, v in tracking.variables_by_path(model).items()}

    def restore(self):
        from lamina.backend import tracking

        for path, variable in tracking.variables_by_path(self.model).items():
            if path in self.snapshot:
                variable.assign(self.snapshot[path])
        return self.model


class Tuner:
    """Keras Tuner's `Tuner`: runs trials chosen by `oracle`, each building `hypermodel` and fitting it.

    Args:
        oracle: the search's `Oracle` (the public tuners make theirs).
        hypermodel: a `HyperModel` or a function `build_model(hp) -> compiled model`.
        directory, project_name: where the project's files go (default "./untitled_project").
        overwrite: start afresh (delete the project folder, and the study in a given storage).
        executions_per_trial: models trained per trial; the score averages their best epochs.
        storage, study_name: an Optuna storage shared by several processes, and the study's name
            (default: the project name).
        vectorize: "auto" (train trials that share an architecture together when
            `lamina.tuners.population` is available) or False (always one model at a time).
    """

    def __init__(self, oracle, hypermodel=None, directory=None, project_name=None, overwrite=False,
                 executions_per_trial=1, storage=None, study_name=None, vectorize="auto", logger=None,
                 tuner_id=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unknown argument(s) {sorted(kwargs)}. lamina's tuners "
                            "compile nothing themselves: compile the model inside `build(hp)`.")
        if vectorize not in ("auto", False, True):
            raise ValueError(f"`vectorize` must be 'auto' or False, got {vectorize!r}.")
        if isinstance(executions_per_trial, bool) or not isinstance(executions_per_trial, int) \
                or executions_per_trial < 1:
            raise ValueError(f"`executions_per_trial` must be a positive int, got {executions_per_trial!r}.")
        optuna_module()
        self.oracle = oracle
        if hypermodel is None and type(self).run_trial is Tuner.run_trial:
            raise ValueError("A tuner needs a `hypermodel` (a HyperModel or a build_model(hp) function) "
                             "unless it overrides `run_trial`.")
        self.hypermodel = to_hypermodel(hypermodel) if hypermodel is not None else None
        self.directory = directory or "."
        self.project_name = project_name or "untitled_project"
        self.project_dir = os.path.join(self.directory, self.project_name)
        self.executions_per_trial = executions_per_trial
        self.vectorize = "auto" if vectorize is True else vectorize
        self.tuner_id = tuner_id
        self._verbose = 1
        owned = storage is None
        storage = self._storage(storage, overwrite, study_name or self.project_name)
        os.makedirs(self.project_dir, exist_ok=True)
        if self.hypermodel is not None:
            self._populate_space()
        self.oracle.open(storage, study_name or self.project_name)
        if owned:
            self.oracle.fail_stale()

    # ----- setup -------------------------------------------------------------------------------------

    def _storage(self, storage, overwrite, study_name):
        optuna = optuna_module()
        if overwrite and os.path.isdir(self.project_dir):
            shutil.rmtree(self.project_dir)
        if storage is None:
            os.makedirs(self.project_dir, exist_ok=True)
            storage = os.path.join(self.project_dir, "study.journal")
        if isinstance(storage, (str, os.PathLike)) and "://" not in str(storage):
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            storage = JournalStorage(JournalFileBackend(os.fspath(storage)))
        if overwrite:
            try:
                optuna.delete_study(study_name=study_name, storage=storage)
            except KeyError:
                pass
        return storage

    def _populate_space(self):
        """Build the hypermodel with default values to learn its space (Keras Tuner does the same); for a
        grid, also with each value of the parents of conditional scopes, to find what they enable."""
        hp = self._new_hp(None, {})
        self.hypermodel.declare_hyperparameters(hp)
        self.hypermodel.build(hp)
        self.oracle.register(hp)
        if not getattr(self.oracle, "explores_conditions", False):
            return
        tried = set()
        for _ in range(32):
            parents = [h for h in self.oracle.space if h.name in self.oracle.parents]
            todo = [(h.name, v) for h in parents for v in h.grid() if (h.name, repr(v)) not in tried]
            if not todo:
                return
            name, value = todo[0]
            tried.add((name, repr(value)))
            hp = self._new_hp(None, {name: value})
            self.hypermodel.build(hp)
            self.oracle.register(hp)

    def _new_hp(self, optuna_trial, preset):
        hp = HyperParameters()
        given = self.oracle.hyperparameters
        if given is not None:
            hp.space = list(given.space)
            hp.values = {k: v for k, v in given.values.items()
                         if isinstance(next((h for h in given.space if h.name == k), None), Fixed)}
            if not self.oracle.tune_new_entries:
                hp._tunable = {h.name for h in given.space}
            hp._allow_new = self.oracle.allow_new_entries
        for name, value in preset.items():
            if name.startswith("tuner/"):
                hp.space.append(Fixed(name, value))
                hp.values[name] = value
            else:
                hp._preset[name] = value
        hp._trial = optuna_trial
        return hp

    # ----- the search --------------------------------------------------------------------------------

    def search(self, *fit_args, **fit_kwargs):
        """Run trials until the oracle stops; the arguments are `fit`'s (callbacks are copied per execution)."""
        if "verbose" in fit_kwargs:
            self._verbose = fit_kwargs["verbose"]
        self.on_search_begin()
        failures, start = 0, time.time()
        while True:
            batch = self._next_batch(fit_kwargs)
            if not batch:
                break
            for trial, ok, error in self._run_batch(batch, fit_args, fit_kwargs):
                failures = 0 if ok else failures + 1
                self._report(trial, ok, start)
                if failures >= self.oracle.max_consecutive_failed_trials > 0:
                    raise RuntimeError(f"{failures} consecutive trials failed; the last one, trial "
                                       f"{trial.trial_id}, with: {error!r}") from error
        self.on_search_end()

    def on_search_begin(self):
        pass

    def on_search_end(self):
        pass

    def _next_batch(self, fit_kwargs):
        size = self._batch_size(fit_kwargs)
        batch = []
        while len(batch) < size:
            found = self.oracle.next_trial()
            if found is None:
                break
            optuna_trial, preset = found
            trial_id = f"{optuna_trial.number:0{self.oracle.id_width()}d}"
            trial = RunningTrial(optuna_trial, self._new_hp(optuna_trial, preset), trial_id,
                                 self.get_trial_dir(trial_id))
            trial.best = _BestEpoch(self.oracle.objective)
            batch.append(trial)
        return batch

    def _batch_size(self, fit_kwargs):
        """How many trials to draw at once: more than one only when they can train together."""
        if (self.vectorize != "auto" or type(self).run_trial is not Tuner.run_trial
                or type(self.hypermodel).fit is not HyperModel.fit or self.executions_per_trial != 1
                or fit_kwargs.get("callbacks")):
            return 1
        left = self.oracle.max_trials - len(self.oracle.counted()) if self.oracle.max_trials else 32
        return max(1, min(32, left))

    def _run_batch(self, batch, fit_args, fit_kwargs):
        """[(trial, ok, error)] after running `batch`: together through `_fit_batch` when it holds several
        trials, else one by one through `run_trial` with Keras Tuner's retries."""
        if len(batch) > 1:
            return self._fit_batch(batch, fit_args, fit_kwargs)
        return [self._run_one(batch[0], fit_args, fit_kwargs)]

    def _run_one(self, trial, fit_args, fit_kwargs):
        error = None
        for _ in range(self.oracle.max_retries_per_trial + 1):
            trial.best = _BestEpoch(self.oracle.objective)
            try:
                results = self.run_trial(trial, *fit_args, **copy.copy(fit_kwargs))
            except Exception as caught:  # a failed trial is recorded and retried, as in Keras Tuner
                error = caught
                continue
            try:
                self._finish(trial, results)
            except Exception as caught:  # the results do not fit the objective: a setup error, not retried
                self._fail(trial, caught)
                raise
            return trial, True, None
        self._fail(trial, error)
        return trial, False, error

    def _fit_batch(self, batch, fit_args, fit_kwargs):
        """Train trials together (see `_batch_size`: no callbacks, one execution per trial): Dense stacks that
        differ only in widths and depth in one padded `Population` (`padding`), other trials that share an
        architecture in one `Population`; a trial alone in its architecture trains by itself. Each member gets
        its trial's best-epoch tracker, so the weights saved are those of the objective's best epoch, as alone."""
        built, out = [], []
        for trial in batch:
            try:
                trial.last_model = self._try_build(trial.hyperparameters)
            except Exception:  # this one runs alone, with run_trial's retries and failure record
                out.append(self._run_one(trial, fit_args, fit_kwargs))
                continue
            built.append(trial)
        padded, rest = {}, []
        for trial in built:
            key = padding.signature(trial.last_model)
            (padded.setdefault(key, []) if key is not None else rest).append(trial)
        for members in padded.values():
            if len(members) > 1 and len({_architecture(t.last_model) for t in members}) > 1 \
                    and padding.worth_padding([t.last_model for t in members]):
                out += self._fit_together(members, fit_args, fit_kwargs, padded=True)
            else:
                rest += members
        groups = {}
        for trial in rest:
            groups.setdefault(_architecture(trial.last_model), []).append(trial)
        for members in (group for same in groups.values() for group in _compatible(same)):
            if len(members) == 1:
                out.append(self._run_one(members[0], fit_args, fit_kwargs))
            else:
                out += self._fit_together(members, fit_args, fit_kwargs)
        return out

    def _fit_together(self, members, fit_args, fit_kwargs, padded=False):
        """[(trial, ok, error)] after training `members` in one Population (of padded twins if `padded`); when
        they cannot share a program after all (e.g. a branch on a float), each trains alone."""
        try:
            models = padding.embed([t.last_model for t in members]) if padded else [t.last_model for t in members]
            histories = Population(models).fit(*fit_args, **copy.copy(fit_kwargs),
                                               member_callbacks=[[t.best.callback] for t in members])
        except ValueError:
            return [self._run_one(trial, fit_args, fit_kwargs) for trial in members]
        except Exception as error:
            for trial in members:
                self._fail(trial, error)
            return [(trial, False, error) for trial in members]
        out = []
        for trial, twin, history in zip(members, models, histories):
            if padded:  # the twin's best epoch (or last) goes into the trial's own model
                if trial.best.snapshot is not None:
                    trial.best.restore()
                    trial.best.snapshot = None
                padding.restore(twin, trial.last_model)
                trial.last_model.history = history
                history.set_model(trial.last_model)
            self._finish(trial, [history])
            out.append((trial, True, None))
        return out

    def run_trial(self, trial, *args, **kwargs):
        """Build and fit `executions_per_trial` models; returns their Histories (Keras Tuner's contract:
        an override may return a History, a list of them, a float or a {metric: value} dict)."""
        callbacks = kwargs.pop("callbacks", None) or []
        histories = []
        for execution in range(self.executions_per_trial):
            copied = self._copy_callbacks(callbacks, trial, execution)
            histories.append(self._build_and_fit_model(trial, *args, callbacks=copied + [trial.best.callback],
                                                       **kwargs))
        return histories

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        trial.last_model = model
        return self.hypermodel.fit(hp, model, *args, **kwargs)

    def _try_build(self, hp):
        model = self.hypermodel.build(hp)
        if model is None or not hasattr(model, "fit"):
            raise TypeError(f"{type(self.hypermodel).__name__}.build(hp) must return a compiled model; "
                            f"got {model!r}.")
        return model

    def _copy_callbacks(self, callbacks, trial, execution):
        try:
            copied = copy.deepcopy(list(callbacks))
        except Exception as error:
            raise ValueError("The callbacks passed to `search` must be deep-copyable (each execution of each "
                             f"trial gets fresh copies): {error}") from error
        for callback in copied:
            log_dir = getattr(callback, "log_dir", None)
            if log_dir is not None and type(callback).__name__ == "TensorBoard":
                callback.log_dir = os.path.join(str(log_dir), trial.trial_id, f"execution{execution}")
        return copied

    # ----- recording ---------------------------------------------------------------------------------

    def _finish(self, trial, results):
        metrics, step = _metrics_of(results, self.oracle.objective)
        score = metrics[self.oracle.objective.name]
        os.makedirs(trial.directory, exist_ok=True)
        model = trial.best.restore() if trial.best.snapshot is not None else trial.last_model
        build_config = None
        if model is not None:
            model.save_weights(os.path.join(trial.directory, _CHECKPOINT))
            build_config = model.get_build_config() if hasattr(model, "get_build_config") else None
        values = {k: _plain(v) for k, v in trial.hyperparameters.values.items()}
        record = {"hp_values": values, "metrics": {k: float(v) for k, v in metrics.items()}, "best_step": step,
                  "build_config": _plain(build_config)}
        for key, value in record.items():
            trial.optuna_trial.set_user_attr(key, value)
        params = {h.name: h.to_param(values[h.name]) for h in trial.hyperparameters.space
                  if h.name in values and not h.name.startswith("tuner/")}
        self.oracle.register(trial.hyperparameters)
        self.oracle.study.tell(trial.optuna_trial, float(score))
        trial.status, trial.score, trial.best_step = "COMPLETED", float(score), step
        trial.metrics = MetricsTracker(record["metrics"], step, self.oracle.objective)
        with open(os.path.join(trial.directory, "trial.json"), "w") as f:
            json.dump({"trial_id": trial.trial_id, "status": "COMPLETED", "score": float(score), **record,
                       "optuna_params": {k: _plain(v) for k, v in params.items()}}, f, indent=1)

    def _fail(self, trial, error):
        trial.status = "FAILED"
        message = f"{type(error).__name__}: {error}"
        trial.optuna_trial.set_user_attr("error", message)
        trial.optuna_trial.set_user_attr("hp_values", {k: _plain(v) for k, v in trial.hyperparameters.values.items()})
        self.oracle.study.tell(trial.optuna_trial, state=self.oracle._state("FAIL"))

    def _report(self, trial, ok, start):
        if not self._verbose:
            return
        name = self.oracle.objective.name
        if ok:
            print(f"\nTrial {trial.trial_id} Complete\n{name}: {trial.score}")
        else:
            print(f"\nTrial {trial.trial_id} failed: {trial.optuna_trial.user_attrs.get('error')}")
        best = self.oracle.get_best_trials(1)
        if best:
            print(f"Best {name} So Far: {best[0].score}")
        print(f"Total elapsed time: {time.strftime('%Hh %Mm %Ss', time.gmtime(time.time() - start))}")
        sys.stdout.flush()

    # ----- results -----------------------------------------------------------------------------------

    def get_trial_dir(self, trial_id):
        return os.path.join(self.project_dir, f"trial_{trial_id}")

    def load_model(self, trial):
        """The trial's model: built from its values, with its best checkpoint's weights."""
        hp = trial.hyperparameters
        model = self._try_build(self._new_hp(None, dict(hp.values)))
        path = os.path.join(self.get_trial_dir(trial.trial_id), _CHECKPOINT)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Trial {trial.trial_id} has no saved weights at {path} (was it run by a "
                                    "process with another `directory`?).")
        if not getattr(model, "built", True):
            config = self.oracle.study.get_trials(deepcopy=False)[trial.number].user_attrs.get("build_config")
            if config:
                model.build_from_config(config)
        model.load_weights(path)
        return model

    def get_best_models(self, num_models=1):
        """The best trials' models, best first, with the weights of their best epoch."""
        return [self.load_model(trial) for trial in self.oracle.get_best_trials(num_models)]

    def get_best_hyperparameters(self, num_trials=1):
        """The best trials' `HyperParameters`, best first."""
        return [trial.hyperparameters for trial in self.oracle.get_best_trials(num_trials)]

    def search_space_summary(self, extended=False):
        print("Search space summary")
        hp = HyperParameters()
        hp.space = [h for h in self.oracle.space if not h.name.startswith("tuner/")]
        hp.summary()

    def results_summary(self, num_trials=10):
        print("Results summary")
        print(f"Results in {self.project_dir}")
        print(f"Showing {num_trials} best trials")
        print(f"{self.oracle.objective}")
        for trial in self.oracle.get_best_trials(num_trials):
            print()
            trial.summary()


def _plain(value):
    """JSON-safe form of a hyperparameter value or config (NumPy scalars -> Python)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _architecture(model):
    """What trials must share to train in one Population: class, variable paths, shapes and dtypes."""
    from lamina.backend import tracking

    return (type(model).__name__, type(getattr(model, "optimizer", None)).__name__,
            tuple((path, tuple(v.shape), str(v.dtype)) for path, v in tracking.variables_by_path(model).items()))


def _compatible(trials):
    """`trials` (same variables) split into groups whose models `Population` accepts together (same
    config up to float hyperparameters: activations, for one, must match)."""
    from lamina.tuners import varying

    groups = []
    for trial in trials:
        for group in groups:
            try:
                varying.compare([group[0].last_model, trial.last_model])
            except ValueError:
                continue
            group.append(trial)
            break
        else:
            groups.append([trial])
    return groups


def _metrics_of(results, objective):
    """({metric: value}, best step) from what `run_trial` returned (Keras Tuner's rules): a History gives
    the metrics of its best epoch; several results average their metrics."""
    if not isinstance(results, (list, tuple)):
        results = [results]
    if not results:
        raise ValueError("`run_trial` returned an empty list; return a History, a float or a dict of metrics.")
    found, steps = [], []
    for result in results:
        if isinstance(result, (int, float, np.floating, np.integer)) and not isinstance(result, bool):
            found.append({objective.name: float(result)})
            steps.append(None)
        elif isinstance(result, dict):
            found.append(dict(result))
            steps.append(None)
        elif hasattr(result, "history"):
            history = result.history
            if objective.name not in history:
                raise ValueError(f"The objective '{objective.name}' is not in the logs of `fit` (got "
                                 f"{sorted(history)}). Pass `validation_data` or `validation_split` to `search` "
                                 "for a 'val_' objective, or choose an objective among the logged metrics.")
            values = history[objective.name]
            best = 0
            for epoch, value in enumerate(values):
                if objective.better(value, values[best]):
                    best = epoch
            found.append({k: v[best] for k, v in history.items() if len(v) == len(values)})
            epochs = getattr(result, "epoch", None)
            steps.append(int(epochs[best]) if epochs and len(epochs) == len(values) else best)
        else:
            raise TypeError(f"`run_trial` / `HyperModel.fit` must return a History, a float or a dict of metrics; "
                            f"got {type(result).__name__}.")
    for metrics in found:
        if objective.name not in metrics:
            raise ValueError(f"The results of the trial hold no '{objective.name}' (got {sorted(metrics)}).")
    names = [k for k in found[0] if all(k in m for m in found)]
    averaged = {k: float(np.mean([m[k] for m in found])) for k in names}
    scores = [m[objective.name] for m in found]
    best = max(range(len(scores)), key=lambda i: scores[i] if objective.direction == "max" else -scores[i])
    return averaged, steps[best]
