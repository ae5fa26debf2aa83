"""`HyperParameters`: Keras Tuner's search-space container, define-by-run on an Optuna trial.

A model-building function declares each hyperparameter where it uses it:

    units = hp.Int("units", 32, 256, step=32)          # 32, 64, ..., 256
    lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
    with hp.conditional_scope("optimizer", ["sgd"]):
        momentum = hp.Float("momentum", 0.0, 0.9)       # None when optimizer != "sgd"

As in Keras Tuner, a declaration returns the hyperparameter's current value: the value the
search chose for this trial (drawn through the Optuna trial the container is bound to), a
value already set (`hp.values`, a `Fixed`, a resumed trial), or else its default (`default`,
or `min_value` / the first choice). A hyperparameter inside an inactive conditional scope is
registered but returns None and has no entry in `hp.values`.

Values follow Keras Tuner's grids: `Int(step=s)` is `min + k*s` (linear) or `min * s**k`
(`sampling="log"`, `s > 1`); `Float` takes `sampling="linear" | "log" | "reverse_log"` and an
optional `step` with the same meaning. Optuna sees each hyperparameter as one parameter of the
same name; where Keras Tuner's grid has no Optuna distribution (log steps, reverse-log) the
Optuna parameter is the grid index or the mirrored value, and `hp.values` holds Keras Tuner's value.
"""

import contextlib
import math


class HyperParameter:
    """One declared hyperparameter: its space, default and Optuna form (`suggest`, `grid`)."""

    kind = "HyperParameter"

    def __init__(self, name, default, conditions):
        self.name = name
        self.default = default
        self.conditions = conditions

    def is_active(self, values):
        return all(values.get(parent) in choices for parent, choices in self.conditions)

    def suggest(self, trial):
        """This hyperparameter's value for an Optuna trial (drawn by the study's sampler)."""
        raise NotImplementedError

    def grid(self):
        """Every value of a finite space, in Keras Tuner's order (for `GridSearch`)."""
        raise ValueError(f"Hyperparameter '{self.name}' ({self.kind}) has no finite grid; give it a `step` "
                         "(or use `hp.Choice`) to search it with GridSearch.")

    def from_param(self, param):
        """Optuna's stored parameter -> the hyperparameter's value."""
        return param

    def to_param(self, value):
        """The hyperparameter's value -> Optuna's stored parameter (inverse of `from_param`)."""
        return value

    def get_config(self):
        return {"default": self.default,
                "conditions": [{"name": p, "values": list(v)} for p, v in self.conditions]}


class _Numerical(HyperParameter):
    def __init__(self, name, min_value, max_value, step, sampling, default, conditions, cast):
        if sampling not in ("linear", "log", "reverse_log"):
            raise ValueError(f"hp '{name}': `sampling` must be 'linear', 'log' or 'reverse_log', "
                             f"got {sampling!r}.")
        if not min_value <= max_value:
            raise ValueError(f"hp '{name}': `min_value` ({min_value}) must be <= `max_value` ({max_value}).")
        if sampling != "linear" and min_value <= 0:
            raise ValueError(f"hp '{name}': sampling={sampling!r} needs `min_value` > 0, got {min_value}.")
        if step is not None and sampling != "linear" and step <= 1:
            raise ValueError(f"hp '{name}': with sampling={sampling!r}, `step` is a factor and must be > 1, "
                             f"got {step}.")
        if step is not None and sampling == "linear" and step <= 0:
            raise ValueError(f"hp '{name}': `step` must be > 0, got {step}.")
        self.min_value, self.max_value, self.step, self.sampling = cast(min_value), cast(max_value), step, sampling
        self._cast = cast
        super().__init__(name, cast(min_value) if default is None else default, conditions)

    def _count(self):
        if self.sampling == "linear":
            return int((self.max_value - self.min_value) // self.step + 1 + 1e-9)
        return int(math.log(self.max_value / self.min_value, self.step) + 1e-8) + 1

    def _value_at(self, index):
        if self.sampling == "linear":
            return self._cast(self.min_value + index * self.step)
        if self.sampling == "log":
            return self._cast(self.min_value * self.step ** index)
        return self._cast(self.max_value + self.min_value - self.min_value * self.step ** index)

    def grid(self):
        if self.step is None:
            return super().grid()
        return [self._value_at(i) for i in range(self._count())]

    def _param_is_index(self):
        """Keras Tuner's multiplicative (log / reverse-log) steps have no Optuna distribution: index them."""
        return self.sampling != "linear" and self.step is not None

    def suggest(self, trial):
        if self._param_is_index():
            return self.from_param(trial.suggest_int(self.name, 0, self._count() - 1))
        log = self.sampling != "linear"
        if self._cast is int:
            return trial.suggest_int(self.name, self.min_value, self.max_value, step=1 if log else self.step, log=log)
        return self.from_param(trial.suggest_float(self.name, self.min_value, self.max_value, log=log,
                                                   step=self.step))

    def from_param(self, param):
        if self._param_is_index():
            return self._value_at(int(param))
        if self.sampling == "reverse_log":
            return self.max_value + self.min_value - param
        return self._cast(param)

    def to_param(self, value):
        if self._param_is_index():
            return min(range(self._count()), key=lambda i: abs(self._value_at(i) - value))
        if self.sampling == "reverse_log":
            return self.max_value + self.min_value - value
        return value

    def get_config(self):
        return {**super().get_config(), "min_value": self.min_value, "max_value": self.max_value,
                "step": self.step, "sampling": self.sampling}


class Int(_Numerical):
    kind = "Int"

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None, conditions=()):
        for arg, value in (("min_value", min_value), ("max_value", max_value)):
            if isinstance(value, bool) or not float(value).is_integer():
                raise ValueError(f"hp.Int('{name}'): `{arg}` must be an int, got {value!r}.")
        if step is None and sampling == "linear":
            step = 1
        super().__init__(name, min_value, max_value, step, sampling, default, conditions, int)

    def grid(self):
        if self.step is None:  # log sampling without a step: every integer in the range
            return list(range(self.min_value, self.max_value + 1))
        return super().grid()

    def to_param(self, value):
        return super().to_param(value) if self._param_is_index() else int(value)


class Float(_Numerical):
    kind = "Float"

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None, conditions=()):
        super().__init__(name, float(min_value), float(max_value), step, sampling,
                         None if default is None else float(default), conditions, float)


class Choice(HyperParameter):
    kind = "Choice"

    def __init__(self, name, values, ordered=None, default=None, conditions=()):
        values = list(values)
        if not values:
            raise ValueError(f"hp.Choice('{name}'): `values` must not be empty.")
        if len({type(v) for v in values}) > 1 and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          for v in values):
            raise TypeError(f"hp.Choice('{name}'): all values must have one type, got {values!r}.")
        if default is not None and default not in values:
            raise ValueError(f"hp.Choice('{name}'): `default` {default!r} is not one of {values!r}.")
        self.values = values
        self.ordered = ordered if ordered is not None else all(isinstance(v, (int, float)) for v in values)
        super().__init__(name, values[0] if default is None else default, conditions)

    def suggest(self, trial):
        return trial.suggest_categorical(self.name, self.values)

    def grid(self):
        return list(self.values)

    def get_config(self):
        return {**super().get_config(), "values": self.values, "ordered": self.ordered}


class Boolean(Choice):
    kind = "Boolean"

    def __init__(self, name, default=False, conditions=()):
        if not isinstance(default, bool):
            raise ValueError(f"hp.Boolean('{name}'): `default` must be a bool, got {default!r}.")
        super().__init__(name, [False, True], default=default, conditions=conditions)


class Fixed(HyperParameter):
    kind = "Fixed"

    def __init__(self, name, value, conditions=()):
        super().__init__(name, value, conditions)
        self.value = value

    def suggest(self, trial):
        return self.value

    def grid(self):
        return [self.value]

    def get_config(self):
        return {**super().get_config(), "value": self.value}


class HyperParameters:
    """Keras Tuner's container: declare hyperparameters, read `values` (see the module docstring).

    `HyperParameters()` on its own gives defaults (as `tuner.hypermodel.build(HyperParameters())`
    does in Keras Tuner); inside a search each trial's container draws through its Optuna trial.
    """

    def __init__(self):
        self.space = []              # declared hyperparameters, in declaration order
        self.values = {}             # name -> value of the active hyperparameters
        self.parents = set()         # names that opened a conditional scope (what a grid must explore)
        self._conditions = []        # [(parent name, allowed values)] of the open scopes
        self._trial = None           # the Optuna trial that draws new values (None: defaults)
        self._preset = {}            # name -> value fixed by the search's schedule (grid point, Hyperband)
        self._tunable = None         # names the search may draw (None: all); others take their defaults
        self._allow_new = True       # False: declaring a name outside `_tunable` is an error

    # ----- declaring -------------------------------------------------------------------------------

    def _retrieve(self, hp):
        known = next((h for h in self.space if h.name == hp.name), None)
        if known is None:
            if not self._allow_new:
                raise ValueError(f"Hyperparameter '{hp.name}' is not in the tuner's `hyperparameters` and "
                                 "`allow_new_entries=False`; declare it there or allow new entries.")
            self.space.append(hp)
            known = hp
        if not known.is_active(self.values) or not hp.is_active(self.values):
            return None
        if hp.name not in self.values:
            if isinstance(known, Fixed):
                value = known.value
            elif hp.name in self._preset:
                value = self._preset[hp.name]
            elif self._trial is not None and (self._tunable is None or hp.name in self._tunable):
                value = known.suggest(self._trial)
            else:
                value = known.default
            self.values[hp.name] = value
        return self.values[hp.name]

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None, parent_name=None,
            parent_values=None):
        return self._retrieve(Int(name, min_value, max_value, step, sampling, default,
                                  self._scope(parent_name, parent_values)))

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None, parent_name=None,
              parent_values=None):
        return self._retrieve(Float(name, min_value, max_value, step, sampling, default,
                                    self._scope(parent_name, parent_values)))

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        return self._retrieve(Choice(name, values, ordered, default, self._scope(parent_name, parent_values)))

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        return self._retrieve(Boolean(name, default, self._scope(parent_name, parent_values)))

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        return self._retrieve(Fixed(name, value, self._scope(parent_name, parent_values)))

    def _scope(self, parent_name, parent_values):
        conditions = list(self._conditions)
        if parent_name is not None:
            conditions.append(self._condition(parent_name, parent_values))
        return tuple(conditions)

    def _condition(self, parent_name, parent_values):
        if not any(h.name == parent_name for h in self.space):
            raise ValueError(f"conditional_scope: no hyperparameter named '{parent_name}' was declared before "
                             "the scope; declare the parent first.")
        values = parent_values if isinstance(parent_values, (list, tuple, set)) else [parent_values]
        return (parent_name, tuple(values))

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters declared inside are active only when `parent_name`'s value is in `parent_values`."""
        self._conditions.append(self._condition(parent_name, parent_values))
        self.parents.add(parent_name)
        try:
            yield
        finally:
            self._conditions.pop()

    # ----- reading ---------------------------------------------------------------------------------

    def get(self, name):
        """The value of an active hyperparameter; KeyError naming the known ones otherwise."""
        if name in self.values:
            return self.values[name]
        if any(h.name == name for h in self.space):
            raise ValueError(f"Hyperparameter '{name}' is inactive (its conditional scope is off).")
        raise KeyError(f"Unknown hyperparameter '{name}'; known: {sorted(self.values)}.")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self.values

    def is_active(self, name):
        hp = next((h for h in self.space if h.name == name), None)
        return hp is not None and hp.is_active(self.values)

    def copy(self):
        new = HyperParameters()
        new.space, new.values = list(self.space), dict(self.values)
        return new

    def __repr__(self):
        return f"HyperParameters({self.values!r})"

    def summary(self):
        """Print the search space as Keras Tuner's `search_space_summary` does."""
        print(f"Default search space size: {len(self.space)}")
        for hp in self.space:
            print(f"{hp.name} ({hp.kind})")
            print(hp.get_config())
