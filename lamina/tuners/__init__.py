"""Hyperparameter search with Keras Tuner's API on Optuna, and the learning-rate range test.

    import lamina.tuners as kt

    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=10)
    tuner.search(x, y, epochs=10, validation_split=0.2)

`find_learning_rate(model, x, y)` runs the range test (see `lr_finder.py`). Optuna is an optional
dependency (`pip install lamina[tune]`); the search classes say so when it is missing.
"""

from lamina.tuners.hypermodel import HyperModel
from lamina.tuners.hyperparameters import HyperParameters
from lamina.tuners.lr_finder import LearningRateFinder, find_learning_rate
from lamina.tuners.objective import Objective
from lamina.tuners.population import Population
from lamina.tuners.oracle import (BayesianOptimizationOracle, GridSearchOracle, HyperbandOracle, Oracle,
                                  RandomSearchOracle)
from lamina.tuners.trial import Trial
from lamina.tuners.tuner import Tuner
from lamina.tuners.tuners import BayesianOptimization, GridSearch, Hyperband, RandomSearch

