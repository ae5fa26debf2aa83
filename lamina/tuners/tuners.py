"""The public tuners: `RandomSearch`, `BayesianOptimization`, `GridSearch`, `Hyperband` (Keras Tuner's names
and arguments); each is a `Tuner` with its oracle (see `oracle.py` for how each one searches)."""

import os

from lamina.tuners import oracle as oracle_lib
from lamina.tuners.tuner import Tuner

_ORACLE_ARGS = ("seed", "hyperparameters", "tune_new_entries", "allow_new_entries", "max_retries_per_trial",
                "max_consecutive_failed_trials")


def _split(kwargs):
    return {k: kwargs.pop(k) for k in _ORACLE_ARGS if k in kwargs}


class RandomSearch(Tuner):
    """Random search (Optuna's `RandomSampler`): `max_trials` independent draws from the space."""

    def __init__(self, hypermodel=None, objective=None, max_trials=10, **kwargs):
        oracle = oracle_lib.RandomSearchOracle(objective, max_trials, **_split(kwargs))
        super().__init__(oracle, hypermodel, **kwargs)


class BayesianOptimization(Tuner):
    """Model-based search (Optuna's `TPESampler`; see `BayesianOptimizationOracle` for why not a GP)."""

    def __init__(self, hypermodel=None, objective=None, max_trials=10, num_initial_points=None, alpha=1e-4,
                 beta=2.6, **kwargs):
        oracle = oracle_lib.BayesianOptimizationOracle(objective, max_trials, num_initial_points, alpha, beta,
                                                       **_split(kwargs))
        super().__init__(oracle, hypermodel, **kwargs)


class GridSearch(Tuner):
    """Every combination of the space's values (Int/Float steps, choices), each once; `max_trials=None`
    (default) runs the whole grid."""

    def __init__(self, hypermodel=None, objective=None, max_trials=None, **kwargs):
        oracle = oracle_lib.GridSearchOracle(objective, max_trials, **_split(kwargs))
        oracle.explores_conditions = True
        super().__init__(oracle, hypermodel, **kwargs)


class Hyperband(Tuner):
    """Keras Tuner's Hyperband (see `HyperbandOracle`): each trial trains for `tuner/epochs` from
    `tuner/initial_epoch`, starting from the saved weights (and optimizer state) of `tuner/trial_id`
    when it continues one."""

    def __init__(self, hypermodel=None, objective=None, max_epochs=100, factor=3, hyperband_iterations=1,
                 max_trials=None, **kwargs):
        oracle = oracle_lib.HyperbandOracle(objective, max_epochs, factor, hyperband_iterations,
                                            max_trials=max_trials, **_split(kwargs))
        super().__init__(oracle, hypermodel, **kwargs)

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            fit_kwargs["epochs"] = values["tuner/epochs"]
            fit_kwargs["initial_epoch"] = values["tuner/initial_epoch"]
        return super().run_trial(trial, *fit_args, **fit_kwargs)

    def _try_build(self, hp):
        model = super()._try_build(hp)
        if "tuner/trial_id" in hp.values:
            past = self.oracle.get_trial(hp.values["tuner/trial_id"])
            config = self.oracle.study.get_trials(deepcopy=False)[past.number].user_attrs.get("build_config")
            if not getattr(model, "built", True) and config:
                model.build_from_config(config)
            model.load_weights(os.path.join(self.get_trial_dir(past.trial_id), "checkpoint.weights.h5"))
        return model
