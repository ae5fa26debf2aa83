"""`HyperModel`: Keras Tuner's base class for a searchable model (override `build`, optionally `fit`)."""


class HyperModel:
    """`build(hp) -> compiled model`; `fit(hp, model, *args, **kwargs)` trains it (default: `model.fit`).

    Override `fit` to tune what happens around training (preprocessing, batch size, ...): declare
    hyperparameters on `hp` there as in `build`, and return `model.fit`'s History (or a float / a
    {metric: value} dict, as Keras Tuner accepts).
    """

    def __init__(self, name=None, tunable=True):
        self.name = name
        self.tunable = tunable

    def build(self, hp):
        raise NotImplementedError(f"{type(self).__name__}.build(hp) must be implemented: it returns a compiled "
                                  "model built with the hyperparameters declared on `hp`.")

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, **kwargs)

    def declare_hyperparameters(self, hp):
        """Keras Tuner's hook for declaring hyperparameters ahead of `build`; nothing by default."""


class FunctionHyperModel(HyperModel):
    """A `build_model(hp)` function as a HyperModel (what the tuners do with a function)."""

    def __init__(self, build):
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp):
        return self._build(hp)


def to_hypermodel(hypermodel):
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return FunctionHyperModel(hypermodel)
    raise TypeError(f"`hypermodel` must be a HyperModel or a function build_model(hp); got {hypermodel!r}.")
