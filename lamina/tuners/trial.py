"""`Trial` and its `MetricsTracker`: Keras Tuner's view of one finished (or running) Optuna trial.

A trial's record lives in the Optuna study (so every process sharing the storage sees it): the
objective's value is the Optuna trial's value, and its user attributes hold Keras Tuner's
`hp_values` (the values `hp.values` had), `metrics` ({name: value} at the best epoch, averaged over
the executions), `best_step` (that epoch) and, for Hyperband, the bracket and round.
"""

from lamina.tuners.hyperparameters import HyperParameters

# Keras Tuner's status names for Optuna's states.
_STATUS = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "RUNNING": "RUNNING", "WAITING": "IDLE", "PRUNED": "STOPPED"}


class MetricObservation:
    def __init__(self, value, step):
        self.value = value
        self.step = step

    def __repr__(self):
        return f"MetricObservation(value={self.value!r}, step={self.step})"


class MetricsTracker:
    """Keras Tuner's trial metrics: `get_last_value`, `get_best_value`, `get_history`, `exists`."""

    def __init__(self, metrics, step, objective):
        self._metrics = dict(metrics or {})
        self._step = step
        self._objective = objective
        self.metrics = self._metrics

    def exists(self, name):
        return name in self._metrics

    def _value(self, name):
        if name not in self._metrics:
            raise ValueError(f"Metric '{name}' was not recorded in this trial; recorded: {sorted(self._metrics)}.")
        return self._metrics[name]

    def get_last_value(self, name):
        return self._value(name)

    def get_best_value(self, name):
        return self._value(name)

    def get_history(self, name):
        return [MetricObservation(self._value(name), self._step)]

    def get_direction(self, name):
        from lamina.tuners.objective import infer_direction

        if name == self._objective.name:
            return self._objective.direction
        return infer_direction(name)


class Trial:
    """One trial: `trial_id` (zero-padded number, as Keras Tuner names them), `hyperparameters`, `score`,
    `best_step`, `status` ("COMPLETED", "FAILED", "RUNNING", ...), `metrics`."""

    def __init__(self, frozen, objective, space=(), id_width=2):
        self.number = frozen.number
        self.trial_id = f"{frozen.number:0{id_width}d}"
        attrs = frozen.user_attrs
        self.hyperparameters = HyperParameters()
        self.hyperparameters.space = list(space)
        self.hyperparameters.values = dict(attrs.get("hp_values", {}))
        self.score = frozen.value if frozen.state.name == "COMPLETE" else None
        self.best_step = attrs.get("best_step")
        self.status = _STATUS.get(frozen.state.name, frozen.state.name)
        self.metrics = MetricsTracker(attrs.get("metrics"), self.best_step, objective)
        self.message = attrs.get("error")

    def summary(self):
        """Print the trial as Keras Tuner's `results_summary` does."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message:
            print(self.message)

    def __repr__(self):
        return f"Trial(trial_id={self.trial_id!r}, status={self.status!r}, score={self.score!r})"
