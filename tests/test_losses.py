"""lamina.losses against Keras 3 on fixed random inputs."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import losses as L

RNG = np.random.default_rng(1234)
B, C = 6, 4
P = RNG.uniform(0.05, 0.95, (B, C)).astype("float32")
D = {
    "p": P,
    "p_sm": P / P.sum(-1, keepdims=True),
    "p1": RNG.uniform(0.05, 0.95, (B, 1)).astype("float32"),
    "t1": RNG.integers(0, 2, (B,)).astype("float32"),
    "bin": RNG.integers(0, 2, (B, C)).astype("float32"),
    "pm1": RNG.choice([-1.0, 1.0], (B, C)).astype("float32"),
    "oh": np.eye(C, dtype="float32")[RNG.integers(0, C, B)],
    "sp": RNG.integers(0, C, B),
    "sp1": RNG.integers(0, C, (B, 1)),
    "yr": RNG.normal(size=(B, C)).astype("float32"),
    "pr": RNG.normal(size=(B, C)).astype("float32"),
    "pos_t": RNG.uniform(0, 3, (B, C)).astype("float32"),
    "pos_p": RNG.uniform(0.1, 3, (B, C)).astype("float32"),
    "lg": (RNG.normal(size=(B, C)) * 2).astype("float32"),
    "seq_t": RNG.normal(size=(B, 3, C)).astype("float32"),
    "seq_p": RNG.normal(size=(B, 3, C)).astype("float32"),
}
SW = RNG.uniform(0.0, 2.0, B).astype("float32")
SW2 = SW[:, None]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]

CASES = [
    ("MeanSquaredError", {}, "yr", "pr"),
    ("MeanSquaredError", {}, "seq_t", "seq_p"),
    ("MeanAbsoluteError", {}, "yr", "pr"),
    ("MeanAbsolutePercentageError", {}, "yr", "pr"),
    ("MeanSquaredLogarithmicError", {}, "pos_t", "pos_p"),
    ("Huber", {"delta": 0.7}, "yr", "pr"),
    ("LogCosh", {}, "yr", "pr"),
    ("CosineSimilarity", {}, "yr", "pr"),
    ("CosineSimilarity", {"axis": 1}, "seq_t", "seq_p"),
    ("KLDivergence", {}, "p_sm", "p"),
    ("Poisson", {}, "pos_t", "pos_p"),
    ("Hinge", {}, "bin", "yr"),
    ("Hinge", {}, "pm1", "yr"),
    ("SquaredHinge", {}, "bin", "yr"),
    ("CategoricalHinge", {}, "oh", "yr"),
    ("BinaryCrossentropy", {}, "bin", "p"),
    ("BinaryCrossentropy", {}, "t1", "p1"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "bin", "lg"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3}, "bin", "p"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 1.5, "label_smoothing": 0.2}, "bin", "lg"),
    ("CategoricalCrossentropy", {}, "oh", "p"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "oh", "lg"),
    ("CategoricalFocalCrossentropy", {"label_smoothing": 0.1}, "oh", "p"),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "gamma": 1.0}, "oh", "lg"),
    ("SparseCategoricalCrossentropy", {}, "sp", "p"),
    ("SparseCategoricalCrossentropy", {}, "sp1", "p"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sp", "lg"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sp", "p"),
    ("Dice", {}, "bin", "p"),
    ("Dice", {"axis": 1}, "bin", "p"),
    ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": 1}, "bin", "p"),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, "sp", "p_sm"),
]


FULL_GRID = ("MeanSquaredError", "BinaryCrossentropy", "SparseCategoricalCrossentropy", "Dice")


def _ids(cases):
    return [f"{c[0]}-{i}" for i, c in enumerate(cases)]


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        yield


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_loss_objects_match_keras(keras, case):
    name, kwargs, t, p = case
    y_true, y_pred = D[t], D[p]
    weights = (None, SW, SW2) if y_pred.ndim == 2 else (None, SW2)
    if name in FULL_GRID:
        combos = [(r, w) for r in REDUCTIONS for w in weights]
    else:  # every reduction once, weighted and unweighted in turn
        combos = [(r, weights[i % len(weights)]) for i, r in enumerate(REDUCTIONS)]
    for reduction, weight in combos:
        ref = getattr(keras.losses, name)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
        got = getattr(L, name)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(
            np.asarray(got), np.asarray(ref), rtol=1e-5, atol=1e-5, err_msg=f"{reduction} weight={weight is not None}"
        )


FUNCTIONS = [
    ("mean_squared_error", {}, "yr", "pr"),
    ("mean_absolute_error", {}, "yr", "pr"),
    ("mean_absolute_percentage_error", {}, "yr", "pr"),
    ("mean_squared_logarithmic_error", {}, "pos_t", "pos_p"),
    ("huber", {"delta": 2.0}, "yr", "pr"),
    ("log_cosh", {}, "yr", "pr"),
    ("cosine_similarity", {}, "yr", "pr"),
    ("kl_divergence", {}, "p_sm", "p"),
    ("poisson", {}, "pos_t", "pos_p"),
    ("hinge", {}, "bin", "yr"),
    ("squared_hinge", {}, "pm1", "yr"),
    ("categorical_hinge", {}, "oh", "yr"),
    ("binary_crossentropy", {"label_smoothing": 0.2}, "bin", "p"),
    ("binary_focal_crossentropy", {}, "bin", "p"),
    ("categorical_crossentropy", {}, "oh", "p"),
    ("categorical_focal_crossentropy", {}, "oh", "p"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sp", "lg"),
    ("dice", {"axis": 1}, "bin", "p"),
    ("tversky", {}, "bin", "p"),
]


@pytest.mark.parametrize("case", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_functions_match_keras_per_sample(keras, case):
    name, kwargs, t, p = case
    ref = getattr(keras.losses, name)(D[t], D[p], **kwargs)
    got = getattr(L, name)(D[t], D[p], **kwargs)
    assert got.shape == tuple(ref.shape)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-5, atol=1e-6)


def test_aliases():
    assert L.mse is L.MSE is L.mean_squared_error
    assert L.mae is L.mean_absolute_error and L.mape is L.mean_absolute_percentage_error
    assert L.msle is L.mean_squared_logarithmic_error and L.kld is L.KLD is L.kl_divergence
    assert L.logcosh is L.log_cosh


MASK_CASES = [c for c in CASES if c[0] not in ("Dice", "Tversky") or "axis" in c[1]] + [("Dice", {}, "bin", "p")]


@pytest.mark.parametrize("case", MASK_CASES, ids=_ids(MASK_CASES))
def test_mask_equals_keras_on_unpadded_batch(keras, case):
    """Padded rows (junk values) with mask 0 change nothing, whatever the reduction."""
    name, kwargs, t, p = case
    y_true, y_pred = D[t], D[p]
    n = B - 2  # the real rows; the last two are padding
    junk_t = y_true.copy()
    junk_t[n:] = y_true[:2] if t not in ("bin",) else 1.0
    junk_p = y_pred.copy()
    junk_p[n:] = y_pred[:2]
    mask = np.array([1] * n + [0] * 2, "float32")
    weight_ = SW if y_pred.ndim == 2 else SW2
    combos = [("sum_over_batch_size", weight_), ("mean_with_sample_weight", None), ("none", weight_)]
    if name in FULL_GRID:
        combos += [("sum", None), ("sum", weight_), ("sum_over_batch_size", None), ("mean_with_sample_weight", weight_)]
    for reduction, weight in combos:
        ref = getattr(keras.losses, name)(reduction=reduction, **kwargs)(
            y_true[:n], y_pred[:n], sample_weight=None if weight is None else weight[:n]
        )
        got = getattr(L, name)(reduction=reduction, **kwargs)(junk_t, junk_p, sample_weight=weight, mask=mask)
        got = np.asarray(got)
        if reduction == "none" and got.ndim:
            got = got[:n]
        np.testing.assert_allclose(got, np.asarray(ref), rtol=1e-5, atol=1e-5, err_msg=reduction)


def test_mask_keeps_hinge_label_conversion():
    # Labels are 0/1; a padded row holding -1 must not switch off the 0/1 -> -1/1 mapping.
    y = D["bin"].copy()
    y[-1] = -1.0
    mask = np.array([1] * (B - 1) + [0], "float32")
    got = L.Hinge()(y, D["yr"], mask=mask)
    ref = L.Hinge()(D["bin"][:-1], D["yr"][:-1])
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_masked_loss_jits_once():
    traces = []
    loss = L.SparseCategoricalCrossentropy(from_logits=True)

    @jax.jit
    def step(y, logits, mask):
        traces.append(1)
        return loss(y, logits, mask=mask)

    full = step(D["sp"], D["lg"], np.ones(B, "float32"))
    part = step(D["sp"], D["lg"], np.array([1, 1, 1, 0, 0, 0], "float32"))
    assert len(traces) == 1
    np.testing.assert_allclose(full, loss(D["sp"], D["lg"]), rtol=1e-6)
    np.testing.assert_allclose(part, loss(D["sp"][:3], D["lg"][:3]), rtol=1e-6)


# ------------------------------------------------------------------ logit fusion

FUSED = [
    (L.BinaryCrossentropy, "sigmoid", "bin"),
    (L.BinaryFocalCrossentropy, "sigmoid", "bin"),
    (L.CategoricalCrossentropy, "softmax", "oh"),
    (L.SparseCategoricalCrossentropy, "softmax", "sp"),
    (L.CategoricalFocalCrossentropy, "softmax", "oh"),
]


@pytest.mark.parametrize("cls,activation,target", FUSED, ids=[f[0].__name__ for f in FUSED])
def test_with_logits_matches_probability_path(cls, activation, target):
    loss = cls()
    assert loss.logits_activation == activation and not loss.from_logits
    fused = loss.with_logits()
    assert fused.from_logits and not loss.from_logits and fused.get_config()["from_logits"] is True
    act = jax.nn.sigmoid if activation == "sigmoid" else jax.nn.softmax
    z = D["lg"]
    np.testing.assert_allclose(fused(D[target], z), loss(D[target], act(z)), rtol=2e-5, atol=1e-6)
    # Saturated logits: probabilities hit the eps clip; the logits form stays finite and exact.
    big = z * 60.0
    value = fused(D[target], big)
    assert np.isfinite(value)
    if cls in (L.BinaryCrossentropy, L.CategoricalCrossentropy, L.SparseCategoricalCrossentropy):
        y = D[target] if cls is not L.SparseCategoricalCrossentropy else np.eye(C)[D[target]]
        if activation == "sigmoid":
            exact = np.mean(np.logaddexp(0, big) - y * big)
        else:
            exact = np.mean(-np.sum(y * (big - np.log(np.exp(big - big.max(-1, keepdims=True)).sum(-1, keepdims=True)) - big.max(-1, keepdims=True)), -1))
        np.testing.assert_allclose(value, exact, rtol=1e-4)
        assert abs(float(loss(D[target], act(big))) - exact) > 1.0  # the clipped path is off


def test_with_logits_errors():
    assert L.MeanSquaredError().logits_activation is None
    with pytest.raises(ValueError, match="no logits form"):
        L.MeanSquaredError().with_logits()
    with pytest.raises(ValueError, match="already"):
        L.BinaryCrossentropy(from_logits=True).with_logits()
    assert L.get("binary_crossentropy").logits_activation == "sigmoid"
    assert L.get(L.sparse_categorical_crossentropy).with_logits().from_logits
    bce = L.BinaryCrossentropy()
    bce.from_logits = True  # Keras-style attribute assignment takes effect
    np.testing.assert_allclose(bce(D["bin"], D["lg"]), L.BinaryCrossentropy(from_logits=True)(D["bin"], D["lg"]))
    with pytest.raises(AttributeError, match="no `from_logits`"):
        L.MeanSquaredError().from_logits = True


# ------------------------------------------------------------------ lookup & config


def test_get_and_names():
    assert isinstance(L.get("mse"), L.MeanSquaredError) and L.get("mse").name == "mse"
    assert isinstance(L.get("CategoricalCrossentropy"), L.CategoricalCrossentropy)
    assert isinstance(L.get("sparse_categorical_crossentropy"), L.SparseCategoricalCrossentropy)
    assert isinstance(L.get(L.Huber), L.Huber)
    bce = L.BinaryCrossentropy()
    assert L.get(bce) is bce
    assert L.get(None) is None
    cfg = {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    assert L.get(cfg).from_logits


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'categorical_crossentropy'"):
        L.get("categorical_crossentropie")
    with pytest.raises(ValueError, match="resolve"):
        L.get("crossentropy")
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="Could not interpret"):
        L.get(3)


def test_user_function_wrapped(keras):
    def my_loss(y_true, y_pred):
        return jnp.mean(jnp.abs(y_true - y_pred) ** 3, axis=-1)

    wrapped = L.get(my_loss)
    assert isinstance(wrapped, L.LossFunctionWrapper) and wrapped.name == "my_loss"
    ref = keras.src.losses.losses.LossFunctionWrapper(my_loss)(D["yr"], D["pr"], sample_weight=SW)
    np.testing.assert_allclose(wrapped(D["yr"], D["pr"], sample_weight=SW), ref, rtol=1e-6)
    assert wrapped.logits_activation is None


def test_resolve_crossentropy():
    assert isinstance(L.resolve("crossentropy", (8, 1), (8, 1)), L.BinaryCrossentropy)
    assert isinstance(L.resolve("ce", (8,), (8, 5)), L.SparseCategoricalCrossentropy)
    assert isinstance(L.resolve("ce", (8, 1), (8, 5)), L.SparseCategoricalCrossentropy)
    cce = L.resolve("crossentropy", (8, 5), (8, 5))
    assert isinstance(cce, L.CategoricalCrossentropy) and cce.name == "crossentropy"
    assert isinstance(L.resolve("mae", (8, 1), (8, 1)), L.MeanAbsoluteError)


@pytest.mark.parametrize(
    "loss",
    [
        L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3.0, label_smoothing=0.1),
        L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0, reduction="sum"),
        L.CategoricalCrossentropy(label_smoothing=0.2, name="cce"),
        L.Huber(delta=2.0),
        L.MeanSquaredError(reduction="none"),
        L.Tversky(alpha=0.2, beta=0.8),
    ],
    ids=lambda loss: type(loss).__name__,
)
def test_config_round_trip_with_keras(keras, loss):
    cfg = L.serialize(loss)
    assert cfg["module"] == "keras.losses"
    again = L.deserialize(cfg)
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    theirs = keras.losses.deserialize(cfg)
    assert type(theirs).__name__ == type(loss).__name__
    mine_from_theirs = L.deserialize(keras.losses.serialize(theirs))
    for key, value in theirs.get_config().items():
        assert mine_from_theirs.get_config()[key] == value


def test_categorical_crossentropy_with_class_indices_raises():
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        L.categorical_crossentropy(D["sp"], D["p"])


# ------------------------------------------------------------------ target validation


def test_validate_targets_categorical_given_indices():
    for y in (np.array([0, 2, 1, 3]), np.array([[0], [2], [1], [3]])):
        with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
            L.validate_targets("categorical_crossentropy", y, (None, 4))
    with pytest.raises(ValueError, match="class indices"):
        L.validate_targets(L.CategoricalCrossentropy(), np.array([1.0, 0.0, 2.0]), (None, 3))
    with pytest.raises(ValueError, match="3 columns but the model outputs 4"):
        L.validate_targets("categorical_crossentropy", np.eye(3), (None, 4))
    assert L.validate_targets("categorical_crossentropy", np.eye(4), (None, 4)) == []


def test_validate_targets_multi_hot_warns():
    y = np.array([[1, 1, 0], [0, 1, 0]], "float32")
    with pytest.warns(UserWarning, match="row 0 sums to 2"):
        msgs = L.validate_targets("categorical_crossentropy", y, (None, 3))
    assert len(msgs) == 1


def test_validate_targets_sparse():
    with pytest.raises(ValueError, match=r"label 5 at index 2 is outside \[0, 4\)"):
        L.validate_targets("sparse_categorical_crossentropy", np.array([0, 1, 5, 3]), (None, 4))
    with pytest.raises(ValueError, match=r"label -1 at index \(1, 0\)"):
        L.validate_targets(L.SparseCategoricalCrossentropy(), np.array([[0], [-1]]), (None, 4))
    with pytest.raises(ValueError, match="integer class indices; got 0.5"):
        L.validate_targets("sparse_categorical_crossentropy", np.array([0.5, 1.0]), (None, 4))
    with pytest.raises(ValueError, match="one-hot"):
        L.validate_targets("sparse_categorical_crossentropy", np.eye(4), (None, 4))
    # ignore_class may lie outside the class range
    L.validate_targets(L.SparseCategoricalCrossentropy(ignore_class=-1), np.array([0, -1, 3]), (None, 4))
    assert L.validate_targets("sparse_categorical_crossentropy", np.array([0, 3, 1.0]), (None, 4)) == []


def test_validate_targets_binary():
    with pytest.raises(ValueError, match=r"\[0, 1\]; got 2 at index 3.*sparse_categorical"):
        L.validate_targets("binary_crossentropy", np.array([0, 1, 1, 2]), (None, 1))
    with pytest.raises(ValueError, match="got -1"):
        L.validate_targets(L.BinaryFocalCrossentropy(), np.array([[0.2], [-1.0]]), (None, 1))
    assert L.validate_targets("binary_crossentropy", np.array([0, 0.3, 1]), (None, 1)) == []
    assert L.validate_targets("mse", np.array([5.0, -3]), (None, 1)) == []
