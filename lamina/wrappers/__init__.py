"""scikit-learn wrappers (Keras 3's `keras.wrappers`): lamina models as estimators."""

from lamina.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer
