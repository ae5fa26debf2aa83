"""`Objective`: the metric a search optimizes and its direction, inferred from the name as Keras Tuner does."""

# Keras Tuner's rule: strip "val_" and "weighted_"; "loss", "crossentropy", "ce" are minimized, "acc" and
# the metrics that measure agreement are maximized, other known metric / loss names are minimized; an
# unknown name needs an explicit direction.
_MAX = {"acc", "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
        "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
        "true_positives", "true_negatives", "precision_at_recall", "recall_at_precision",
        "sensitivity_at_specificity", "specificity_at_sensitivity", "f1_score", "fbeta_score", "r2_score",
        "mean_iou", "iou", "one_hot_iou", "one_hot_mean_iou", "binary_iou", "cosine_similarity"}
_MIN = {"loss", "crossentropy", "ce", "mae", "mse", "mape", "msle", "mean_absolute_error", "mean_squared_error",
        "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "root_mean_squared_error",
        "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
        "kld", "poisson", "logcosh", "log_cosh", "hinge", "squared_hinge", "categorical_hinge", "huber",
        "false_positives", "false_negatives", "categorical_focal_crossentropy", "binary_focal_crossentropy"}


def infer_direction(name):
    """"min", "max" or None for a metric name such as "val_accuracy"."""
    base = name.removeprefix("val_").removeprefix("weighted_")
    if base in _MAX:
        return "max"
    if base in _MIN or base.endswith("_loss"):
        return "min"
    return None


class Objective:
    """`Objective(name, direction)`: `direction` is "min" or "max"."""

    def __init__(self, name, direction):
        if direction not in ("min", "max"):
            raise ValueError(f"Objective '{name}': `direction` must be 'min' or 'max', got {direction!r}.")
        self.name = name
        self.direction = direction

    def better(self, a, b):
        """Whether value `a` beats `b` (None never beats anything)."""
        if a is None or a != a:
            return False
        if b is None or b != b:
            return True
        return a > b if self.direction == "max" else a < b

    def __eq__(self, other):
        return isinstance(other, Objective) and (self.name, self.direction) == (other.name, other.direction)

    def __repr__(self):
        return f"Objective(name={self.name!r}, direction={self.direction!r})"


def to_objective(objective):
    """A string, `Objective` or None (-> "val_loss", Keras Tuner's default) as an `Objective`."""
    if objective is None:
        objective = "val_loss"
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, (list, tuple)):
        raise ValueError("lamina.tuners: a list of objectives (multi-objective search) is not supported; "
                         "pass one `Objective`.")
    if not isinstance(objective, str):
        raise TypeError(f"`objective` must be a metric name or an `Objective`, got {objective!r}.")
    direction = infer_direction(objective)
    if direction is None:
        raise ValueError(f"Could not infer the optimization direction of objective {objective!r}; pass "
                         f"`Objective({objective!r}, direction='min')` (or 'max').")
    return Objective(objective, direction)
