"""Oracles: which trial runs next, over an Optuna study that any number of processes may share.

`Oracle.next_trial()` -> `(optuna_trial, preset)` or None when the search is done. `preset` holds
hyperparameter values fixed by the schedule (a grid point, Hyperband's `tuner/...` values and the
values of the trial a Hyperband round continues); anything else is drawn define-by-run through the
Optuna trial by the study's sampler.

Exactly `max_trials` trials, none run twice, with several processes on one storage: after
`study.ask()` (Optuna numbers trials atomically in the storage), a trial counts its rivals, the
unfailed trials with smaller numbers; one that finds the budget (or its grid point, or its Hyperband
slot) already taken is told FAIL with the user attribute `lamina_excess` and never runs. A trial
that fails while running keeps its slot free for the next one (failed trials do not count).
"""

import itertools
import math
import time

from lamina.tuners.objective import to_objective

_LIVE = ("COMPLETE", "RUNNING", "WAITING", "PRUNED")


def optuna_module():
    """`optuna`, or an ImportError that names the extra to install."""
    try:
        import optuna
    except ImportError as error:
        raise ImportError("lamina.tuners runs its searches on Optuna, which is not installed: "
                          "`pip install lamina[tune]` (or `pip install optuna`).") from error
    return optuna


class Oracle:
    """The search's bookkeeping over one Optuna study (base of the samplers' oracles)."""

    def __init__(self, objective=None, max_trials=10, seed=None, hyperparameters=None, tune_new_entries=True,
                 allow_new_entries=True, max_retries_per_trial=0, max_consecutive_failed_trials=3):
        self.objective = to_objective(objective)
        if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int)
                                       or max_trials < 1):
            raise ValueError(f"`max_trials` must be a positive int or None, got {max_trials!r}.")
        for name, value in (("max_retries_per_trial", max_retries_per_trial),
                            ("max_consecutive_failed_trials", max_consecutive_failed_trials)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an int >= 0, got {value!r}.")
        self.max_trials = max_trials
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.tune_new_entries = tune_new_entries
        self.allow_new_entries = allow_new_entries
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.space = []          # the hyperparameters met so far (HyperParameter objects)
        self.parents = set()     # the hyperparameters that opened conditional scopes
        self.study = None

    # ----- the study ---------------------------------------------------------------------------------

    def sampler(self):
        """The Optuna sampler this oracle draws new values with."""
        raise NotImplementedError

    def open(self, storage, study_name):
        optuna = optuna_module()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if self.objective.direction == "max" else "minimize"
        for attempt in range(6):
            try:
                self.study = optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                                 sampler=self.sampler(), load_if_exists=True)
                break
            except Exception as error:
                # Processes opening a new database at once race to create its tables (SQLAlchemy's
                # "already exists" / "database is locked"): the loser waits and opens the tables made.
                text = str(error).lower()
                if attempt == 5 or not ("already exists" in text or "locked" in text or "unique" in text):
                    raise
                time.sleep(0.2 * (attempt + 1))
        if self.study.direction.name.lower() != direction:
            raise ValueError(f"Study '{study_name}' in this storage was created to {self.study.direction.name.lower()}"
                             f"; the objective {self.objective} asks to {direction}.")

    def fail_stale(self):
        """Mark trials left RUNNING by a process that died as failed (only for a storage this tuner owns)."""
        for frozen in self._trials(("RUNNING",)):
            self.study.tell(frozen.number, state=self._state("FAIL"), skip_if_finished=True)

    def _state(self, name):
        return getattr(optuna_module().trial.TrialState, name)

    def _trials(self, states=None):
        wanted = None if states is None else tuple(self._state(s) for s in states)
        return self.study.get_trials(deepcopy=False, states=wanted)

    def counted(self):
        """The trials that use the budget: unfailed ones."""
        return self._trials(_LIVE)

    def done(self):
        return self.max_trials is not None and len(self.counted()) >= self.max_trials

    # ----- the next trial ----------------------------------------------------------------------------

    def next_trial(self):
        """(optuna trial, preset values) for the next trial to run, or None when the search is done."""
        while not self.done():
            preset, claim = self.schedule()
            if preset is None:
                return None
            trial = self.study.ask()
            for key, value in claim.items():
                trial.set_user_attr(key, value)
            if self._excess(trial, claim):
                trial.set_user_attr("lamina_excess", True)
                self.study.tell(trial, state=self._state("FAIL"))
                continue
            return trial, preset
        return None

    def schedule(self):
        """(preset values, claim attributes) of the next trial; (None, None) when nothing is left to run."""
        return {}, {}

    def _excess(self, trial, claim):
        """Whether another process took this trial's place first (see the module docstring)."""
        earlier = [t for t in self.counted() if t.number < trial.number]
        if self.max_trials is not None and len(earlier) >= self.max_trials:
            return True
        if claim:
            return any(all(t.user_attrs.get(k) == v for k, v in claim.items()) for t in earlier)
        return False

    def wait(self):
        """Sleep a little while trials that the schedule depends on run in other processes."""
        time.sleep(0.5)

    # ----- results -----------------------------------------------------------------------------------

    def get_trial(self, trial_id):
        from lamina.tuners.trial import Trial

        number = int(trial_id)
        frozen = next((t for t in self.study.get_trials(deepcopy=False) if t.number == number), None)
        if frozen is None:
            raise KeyError(f"No trial {trial_id!r} in study '{self.study.study_name}'.")
        return Trial(frozen, self.objective, self.space, self.id_width())

    def id_width(self):
        return max(2, len(str((self.max_trials or 1) - 1)))

    def get_best_trials(self, num_trials=1):
        """The best completed trials, best first (Keras Tuner's `oracle.get_best_trials`)."""
        from lamina.tuners.trial import Trial

        done = [t for t in self._trials(("COMPLETE",)) if t.value is not None and t.value == t.value]
        done.sort(key=lambda t: (-t.value if self.objective.direction == "max" else t.value, t.number))
        return [Trial(t, self.objective, self.space, self.id_width()) for t in done[:num_trials]]

    @property
    def trials(self):
        """{trial_id: Trial} of every trial that ran or runs (excess placeholders left out)."""
        from lamina.tuners.trial import Trial

        return {trial.trial_id: trial for trial in
                (Trial(t, self.objective, self.space, self.id_width()) for t in self.study.get_trials(deepcopy=False)
                 if not t.user_attrs.get("lamina_excess"))}

    def register(self, hp):
        """Remember the hyperparameters a trial declared (for `search_space_summary`)."""
        known = {h.name for h in self.space}
        self.space += [h for h in hp.space if h.name not in known]
        self.parents |= hp.parents


class RandomSearchOracle(Oracle):
    """Independent uniform draws: Optuna's `RandomSampler`."""

    def sampler(self):
        return optuna_module().samplers.RandomSampler(seed=self.seed)


class BayesianOptimizationOracle(Oracle):
    """Model-based search with Optuna's `TPESampler` (Tree-structured Parzen Estimator).

    Keras Tuner fits a Gaussian process; lamina uses TPE because Optuna's `GPSampler` needs PyTorch
    and handles only fixed spaces, while TPE models conditional (define-by-run) spaces and costs
    nothing to fit. The first `num_initial_points` trials are random (default: 3 per hyperparameter,
    as in Keras Tuner). `alpha` and `beta` are Keras Tuner's GP settings: TPE has no counterpart, so
    values other than the defaults raise instead of being ignored.
    """

    def __init__(self, objective=None, max_trials=10, num_initial_points=None, alpha=1e-4, beta=2.6, **kwargs):
        if alpha != 1e-4 or beta != 2.6:
            raise ValueError("BayesianOptimization: `alpha` and `beta` tune Keras Tuner's Gaussian process; "
                             "lamina searches with Optuna's TPE sampler, which has no such settings. "
                             "Leave them at their defaults.")
        super().__init__(objective, max_trials, **kwargs)
        self.num_initial_points = num_initial_points

    def sampler(self):
        startup = self.num_initial_points
        if startup is None:
            startup = max(3 * len(self.space), 2)
        return optuna_module().samplers.TPESampler(n_startup_trials=startup, seed=self.seed)


class GridSearchOracle(Oracle):
    """Every combination of the hyperparameters' values, each run once.

    The grid is enumerated here from the space the hypermodel declares (Keras Tuner's values: Int and
    Float steps, choices), combinations that differ only in inactive conditional hyperparameters run
    once, and each trial claims its grid point in the study (so processes sharing a storage split the
    grid). A Float without `step` has no grid and is refused. `max_trials=None` runs the whole grid.
    """

    def __init__(self, objective=None, max_trials=None, **kwargs):
        super().__init__(objective, max_trials, **kwargs)
        self._points = None

    def sampler(self):
        return optuna_module().samplers.RandomSampler(seed=self.seed)

    def points(self):
        if self._points is None:
            space = [h for h in self.space if not h.name.startswith("tuner/")]
            seen, points = set(), []
            for combo in itertools.product(*(h.grid() for h in space)):
                active = {}
                for hp, value in zip(space, combo):
                    if hp.is_active(active):
                        active[hp.name] = value
                key = tuple(sorted((k, repr(v)) for k, v in active.items()))
                if key not in seen:
                    seen.add(key)
                    points.append(active)
            self._points = points
        return self._points

    def done(self):
        return super().done() or len(self.counted()) >= len(self.points())

    def schedule(self):
        taken = {t.user_attrs.get("grid_index") for t in self.counted()}
        free = next((i for i in range(len(self.points())) if i not in taken), None)
        if free is None:
            return None, None
        return dict(self.points()[free]), {"grid_index": free}


class HyperbandOracle(Oracle):
    """Keras Tuner's Hyperband schedule, run as Optuna trials (Li et al., 2018).

    Brackets `b = B-1 .. 0` (`B` = how many times `max_epochs` divides by `factor` down to 1), each of
    rounds `r = 0 .. b`: round 0 starts `size(b, 0)` random trials for `epochs(b, 0)` epochs; round r
    continues the best `size(b, r)` trials of round r-1 from their saved weights, from epoch
    `epochs(b, r-1)` to `epochs(b, r)`, with `size(b, r) = ceil(ceil(1 + log_factor(max_epochs)) /
    (b + 1) * factor**(b - r))` and `epochs(b, r) = ceil(max_epochs / factor**(b - r))` (Keras Tuner's
    formulas). The whole sweep repeats `hyperband_iterations` times. Each trial's values hold
    `tuner/epochs`, `tuner/initial_epoch`, `tuner/bracket`, `tuner/round` and, for a continuation,
    `tuner/trial_id`. A round starts when the previous one has finished (other processes' trials are
    waited for); `max_trials` (default None) caps the total count.
    """

    def __init__(self, objective=None, max_epochs=100, factor=3, hyperband_iterations=1, **kwargs):
        kwargs.setdefault("max_trials", None)
        super().__init__(objective, **kwargs)
        if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"Hyperband: `max_epochs` must be a positive int, got {max_epochs!r}.")
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
            raise ValueError(f"Hyperband: `factor` must be an int >= 2, got {factor!r}.")
        self.max_epochs, self.factor, self.hyperband_iterations = max_epochs, factor, hyperband_iterations

    def sampler(self):
        return optuna_module().samplers.RandomSampler(seed=self.seed)

    def brackets(self):
        epochs, count = self.max_epochs, 0
        while epochs >= 1:
            epochs /= self.factor
            count += 1
        return count

    def size(self, bracket, round_):
        end = math.ceil(1 + math.log(self.max_epochs, self.factor)) / (bracket + 1)
        return math.ceil(end * self.factor ** (bracket - round_))

    def epochs(self, bracket, round_):
        return math.ceil(self.max_epochs / self.factor ** (bracket - round_))

    def schedule(self):
        """The first slot (iteration, bracket, round, index) not yet taken, once its round can start."""
        while True:
            found = self._free_slot(self.counted())
            if found != "wait":
                return found
            self.wait()

    def _free_slot(self, trials):
        slots = {}
        for t in trials:
            key = (t.user_attrs.get("hb_iteration"), t.user_attrs.get("hb_bracket"), t.user_attrs.get("hb_round"))
            slots.setdefault(key, []).append(t)
        for iteration in range(self.hyperband_iterations):
            for bracket in range(self.brackets() - 1, -1, -1):
                for round_ in range(bracket + 1):
                    have = slots.get((iteration, bracket, round_), [])
                    if len(have) >= self.size(bracket, round_):
                        continue
                    claim = {"hb_iteration": iteration, "hb_bracket": bracket, "hb_round": round_,
                             "hb_slot": len(have)}
                    values = {"tuner/epochs": self.epochs(bracket, round_), "tuner/bracket": bracket,
                              "tuner/round": round_}
                    if round_ == 0:
                        return {**values, "tuner/initial_epoch": 0}, claim
                    past = slots.get((iteration, bracket, round_ - 1), [])
                    if any(t.state.name != "COMPLETE" for t in past):
                        return "wait"  # the previous round still runs in another process
                    chosen = {t.user_attrs.get("hb_parent") for t in have}
                    ranked = sorted((t for t in past if t.value is not None and t.number not in chosen),
                                    key=lambda t: -t.value if self.objective.direction == "max" else t.value)
                    if not ranked:
                        continue
                    parent = ranked[0]
                    preset = {k: v for k, v in parent.user_attrs.get("hp_values", {}).items()
                              if not k.startswith("tuner/")}
                    claim["hb_parent"] = parent.number
                    return {**preset, **values, "tuner/initial_epoch": self.epochs(bracket, round_ - 1),
                            "tuner/trial_id": f"{parent.number:0{self.id_width()}d}"}, claim
        return None, None

    def id_width(self):
        total = sum(self.size(b, r) for b in range(self.brackets()) for r in range(b + 1))
        return max(2, len(str(total * self.hyperband_iterations - 1)))
