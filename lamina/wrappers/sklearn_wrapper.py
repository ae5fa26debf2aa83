"""scikit-learn estimators around lamina models: Keras 3's `SKLearnClassifier`, `SKLearnRegressor`,
`SKLearnTransformer`, so `GridSearchCV`, `cross_val_score` and `Pipeline` drive lamina training.

    def build(X, y, hidden=16):                       # called at each fit with the data
        model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(hidden, activation="relu"),
                                  keras.layers.Dense(y.shape[1], activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        return model

    clf = SKLearnClassifier(build, model_kwargs={"hidden": 32}, fit_kwargs={"epochs": 20, "verbose": 0})
    GridSearchCV(clf, {"model_kwargs": [{"hidden": 8}, {"hidden": 32}]}, cv=3).fit(X, y)

Semantics follow Keras 3: `model` is a compiled Model (cloned, with its compile settings, at each
fit) or a callable `model(X=..., y=..., **model_kwargs)` returning a compiled Model; a classifier
one-hot encodes the labels (`classes_`), predicts the class of the largest output and
`decision_function` gives the raw outputs; a regressor keeps targets (a 1-D target gives 1-D
predictions); a transformer's `transform` is `model.predict`. `fit(X, y, **kwargs)`: `kwargs` go to
`model.fit` over `fit_kwargs`. Attributes `model_`, `history_` (the History's dict), `n_features_in_`.

Where Keras 3 has traps, lamina does what its documentation says: `warm_start=True` continues
training the fitted `model_` (Keras rebuilds the model anyway), `fit_kwargs` survives
`sklearn.base.clone` (Keras drops it, so a GridSearchCV ran with `fit`'s defaults), and the user's
`fit_kwargs` dict is never modified (Keras updates it with each fit's arguments).
"""

import copy

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the classes still import; constructing one says what to install
    sklearn = None
    BaseEstimator = ClassifierMixin = RegressorMixin = TransformerMixin = object


def _require_sklearn(name):
    if sklearn is None:
        raise ImportError(f"{name} requires scikit-learn: `pip install scikit-learn`.")


def _validate(estimator, X, y=None, reset=True):
    from sklearn.utils.validation import validate_data

    if y is None:
        return validate_data(estimator, X, reset=reset)
    return validate_data(estimator, X, y, reset=reset, multi_output=True)


def _check_compiled(model, where):
    if not getattr(model, "compiled", False) or model.loss is None or model.optimizer is None:
        raise RuntimeError(f"{where}: the model must be compiled with a loss and an optimizer "
                           "(`model.compile(optimizer=..., loss=...)`) before the wrapper fits it.")


class SKLBase(BaseEstimator):
    """What the three wrappers share (see the module docstring)."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters (a Model given directly is cloned, not shared)."""
        return type(self)(model=self._clone(self.model) if _is_model(self.model) else self.model,
                          warm_start=self.warm_start, model_kwargs=copy.deepcopy(self.model_kwargs),
                          fit_kwargs=copy.deepcopy(self.fit_kwargs))

    @staticmethod
    def _clone(model):
        from lamina.models.cloning import clone_model

        clone = clone_model(model)
        if model.compiled:
            clone.compile_from_config(model.get_compile_config())
        return clone

    @property
    def epoch_(self):
        """Epochs trained by the last fit."""
        return len(getattr(self, "history_", {}).get("loss", []))

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if _is_model(self.model):
            return self.model if self.warm_start else self._clone(self.model)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: `model` must be a compiled Model or a callable "
                            f"model(X=..., y=..., **model_kwargs); got {type(self.model).__name__}.")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X, y, **kwargs):
        """Build (or, with `warm_start`, reuse) the model and train it on (X, y); returns self."""
        continuing = self.warm_start and hasattr(self, "model_")
        X, y = _validate(self, X, y, reset=not continuing)
        y = self._process_target(y, reset=not continuing)
        model = self._get_model(X, y)
        _check_compiled(model, type(self).__name__)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = dict(model.fit(X, y, **fit_kwargs).history)
        self.model_ = model
        return self

    def predict(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self._reverse_process_target(self.model_.predict(X, verbose=0))

    def _process_target(self, y, reset=False):
        from sklearn.utils.multiclass import type_of_target

        if type_of_target(y) == "unknown":
            raise ValueError(f"Unknown label type: {y!r}")
        if reset:
            self._target_ndim = np.ndim(y)
        return y.reshape(-1, 1) if np.ndim(y) == 1 else y

    def _reverse_process_target(self, y):
        return np.squeeze(y, axis=1) if self._target_ndim == 1 and y.ndim == 2 and y.shape[1] == 1 else y


def _is_model(obj):
    return hasattr(obj, "fit") and hasattr(obj, "get_config") and hasattr(obj, "compile")


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """Classifier: labels one-hot encoded for the model (`classes_` sorted), `predict` gives labels."""

    def _process_target(self, y, reset=False):
        from sklearn.preprocessing import OneHotEncoder
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. Target type: {kind}")
        column = np.asarray(y).reshape(-1, 1)
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
            self._target_encoder = OneHotEncoder(sparse_output=False).fit(column)
        return self._target_encoder.transform(column)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y).reshape(-1)

    def decision_function(self, X):
        """The model's raw outputs, [n_samples, n_classes]."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """Regressor: targets as given (1-D targets are fed as a column and predicted 1-D)."""


class SKLearnTransformer(TransformerMixin, SKLBase):
    """Transformer: `fit(X, y)` trains, `transform(X)` is `model_.predict(X)` (e.g. an encoder's codes)."""

    def transform(self, X):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
