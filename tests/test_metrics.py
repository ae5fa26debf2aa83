"""lamina.metrics against Keras 3: several weighted batches, result, reset; pure core under jit."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import losses
from lamina import metrics as M

B, C = 8, 4


def _batch(rng):
    d = {
        "p": rng.uniform(0, 1, (B, C)).astype("float32"),
        "p1": rng.uniform(0, 1, (B, 1)).astype("float32"),
        "t1": rng.integers(0, 2, (B, 1)).astype("float32"),
        "bin": rng.integers(0, 2, (B, C)).astype("float32"),
        "oh": np.eye(C, dtype="float32")[rng.integers(0, C, B)],
        "sp": rng.integers(0, C, (B, 1)),
        "sp0": rng.integers(0, C, B),
        "yr": rng.normal(size=(B, C)).astype("float32"),
        "pr": rng.normal(size=(B, C)).astype("float32"),
        "lg": (rng.normal(size=(B, C)) * 2).astype("float32"),
        "sw": rng.uniform(0.1, 2, B).astype("float32"),
    }
    d["sw"][0] = 0.0
    return d


RNG = np.random.default_rng(7)
BATCHES = [_batch(RNG) for _ in range(3)]

CASES = [
    ("Accuracy", {}, "sp", "sp"),
    ("BinaryAccuracy", {"threshold": 0.4}, "t1", "p1"),
    ("CategoricalAccuracy", {}, "oh", "p"),
    ("SparseCategoricalAccuracy", {}, "sp", "p"),
    ("SparseCategoricalAccuracy", {}, "sp0", "p"),
    ("TopKCategoricalAccuracy", {"k": 2}, "oh", "p"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sp", "p"),
    ("MeanSquaredError", {}, "yr", "pr"),
    ("MeanAbsoluteError", {}, "yr", "pr"),
    ("MeanAbsolutePercentageError", {}, "yr", "pr"),
    ("MeanSquaredLogarithmicError", {}, "p", "bin"),
    ("RootMeanSquaredError", {}, "yr", "pr"),
    ("LogCoshError", {}, "yr", "pr"),
    ("CosineSimilarity", {}, "yr", "pr"),
    ("R2Score", {}, "yr", "pr"),
    ("R2Score", {"class_aggregation": None}, "yr", "pr"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "t1", "p1"),
    ("BinaryCrossentropy", {}, "bin", "p"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "bin", "lg"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "oh", "p"),
    ("SparseCategoricalCrossentropy", {}, "sp", "p"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sp0", "lg"),
    ("KLDivergence", {}, "oh", "p"),
    ("Poisson", {}, "bin", "p"),
    ("Hinge", {}, "bin", "yr"),
    ("SquaredHinge", {}, "bin", "yr"),
    ("CategoricalHinge", {}, "oh", "yr"),
    ("AUC", {}, "t1", "p1"),
    ("AUC", {"curve": "PR"}, "t1", "p1"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "bin", "p"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "majoring"}, "bin", "p"),
    ("AUC", {"num_thresholds": 7, "from_logits": True}, "bin", "lg"),
    ("AUC", {"multi_label": True}, "bin", "p"),
    ("AUC", {"multi_label": True, "label_weights": [1, 2, 0.5, 1], "curve": "PR"}, "bin", "p"),
    ("AUC", {"thresholds": [0.3, 0.5, 0.9]}, "bin", "p"),
    ("AUC", {"label_weights": [1, 2, 0.5, 1]}, "bin", "p"),
    ("Precision", {}, "bin", "p"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.7]}, "bin", "p"),
    ("Precision", {"top_k": 2}, "bin", "p"),
    ("Precision", {"class_id": 1}, "bin", "p"),
    ("Recall", {}, "t1", "p1"),
    ("Recall", {"top_k": 1, "class_id": 2}, "bin", "p"),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, "bin", "p"),
    ("TruePositives", {}, "bin", "p"),
    ("TrueNegatives", {"thresholds": [0.3, 0.6]}, "bin", "p"),
    ("FalsePositives", {}, "bin", "p"),
    ("FalseNegatives", {}, "t1", "p1"),
    ("PrecisionAtRecall", {"recall": 0.6}, "bin", "p"),
    ("RecallAtPrecision", {"precision": 0.5}, "bin", "p"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "bin", "p"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "num_thresholds": 1}, "bin", "p"),
    ("F1Score", {}, "oh", "p"),
    ("F1Score", {"average": "micro", "threshold": 0.5}, "bin", "p"),
    ("FBetaScore", {"average": "macro", "beta": 2.0}, "oh", "p"),
    ("FBetaScore", {"average": "weighted", "beta": 0.5, "threshold": 0.4}, "bin", "p"),
]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        yield


def _run(metric, t, p, weighted, batches=BATCHES):
    for d in batches:
        metric.update_state(d[t], d[p], sample_weight=d["sw"] if weighted else None)
    return np.asarray(metric.result())


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metric_matches_keras(keras, case):
    name, kwargs, t, p = case
    for weighted in (False, True):
        ours, theirs = getattr(M, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        got, ref = _run(ours, t, p, weighted), np.asarray(_run(theirs, t, p, weighted))
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5, err_msg=f"weighted={weighted}")
    # reset, then one more batch: equal to a fresh metric on that batch
    ours.reset_state()
    theirs.reset_state()
    got = _run(ours, t, p, True, BATCHES[1:2])
    np.testing.assert_allclose(got, _run(theirs, t, p, True, BATCHES[1:2]), rtol=1e-5, atol=1e-5)
    assert ours.get_config() == type(ours).from_config(ours.get_config()).get_config()


def test_mean_and_sum_match_keras(keras):
    values = [RNG.normal(size=(B, 3)).astype("float32") for _ in range(3)]
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(M, cls)(), getattr(keras.metrics, cls)()
        for v, d in zip(values, BATCHES):
            ours.update_state(v, sample_weight=d["sw"])
            theirs.update_state(v, sample_weight=d["sw"])
        ours.update_state(2.5)
        theirs.update_state(2.5)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-5)
        ours.reset_state()
        assert float(ours.result()) == 0.0


def test_mean_metric_wrapper_user_function(keras):
    def my_metric(y_true, y_pred):
        return jnp.max(jnp.abs(y_true - y_pred), axis=-1)

    ours, theirs = M.get(my_metric), keras.metrics.MeanMetricWrapper(my_metric)
    assert isinstance(ours, M.MeanMetricWrapper) and ours.name == "my_metric"
    np.testing.assert_allclose(_run(ours, "yr", "pr", True), _run(theirs, "yr", "pr", True), rtol=1e-5)


def test_adjusted_r2_matches_keras(keras):
    ours = M.R2Score(num_regressors=2)
    theirs = keras.metrics.R2Score(num_regressors=2)
    for d in BATCHES:
        w = d["sw"] + 0.5  # Keras counts zero-weight rows as samples; lamina does not
        ours.update_state(d["t1"], d["p1"], sample_weight=w)
        theirs.update_state(d["t1"], d["p1"], sample_weight=w)
    np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-5)
    tiny = M.R2Score(num_regressors=5)
    with pytest.warns(UserWarning, match="More independent predictors"):
        tiny(BATCHES[0]["t1"][:3], BATCHES[0]["p1"][:3])


def test_ignore_class_excludes_entries(keras):
    ours = M.SparseCategoricalCrossentropy(ignore_class=1)
    theirs = keras.metrics.SparseCategoricalCrossentropy(ignore_class=1)
    np.testing.assert_allclose(_run(ours, "sp0", "p", True), _run(theirs, "sp0", "p", True), rtol=1e-5)
    # Without weights Keras still divides by all entries; lamina leaves ignored ones out (as the loss does).
    d = BATCHES[0]
    got = M.SparseCategoricalCrossentropy(ignore_class=1)(d["sp0"], d["p"])
    keep = d["sp0"] != 1
    np.testing.assert_allclose(got, np.mean(losses.sparse_categorical_crossentropy(d["sp0"][keep], d["p"][keep])), rtol=1e-6)


# ----------------------------------------------------------- padding: weight-0 rows are absent

PAD_CASES = [
    ("Accuracy", {}, "sp", "sp"),
    ("SparseCategoricalAccuracy", {}, "sp", "p"),
    ("MeanSquaredError", {}, "yr", "pr"),
    ("RootMeanSquaredError", {}, "yr", "pr"),
    ("R2Score", {"num_regressors": 1}, "yr", "pr"),
    ("Hinge", {}, "bin", "yr"),
    ("AUC", {}, "bin", "p"),
    ("AUC", {"num_thresholds": 5, "multi_label": True}, "bin", "p"),
    ("Precision", {"top_k": 2}, "bin", "p"),
    ("Recall", {"thresholds": [0.3, 0.7]}, "bin", "p"),
    ("RecallAtPrecision", {"precision": 0.4}, "bin", "p"),
    ("F1Score", {"average": "weighted"}, "oh", "p"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, "sp", "p"),
]


@pytest.mark.parametrize("case", PAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(PAD_CASES)])
def test_zero_weight_rows_are_absent(keras, case):
    name, kwargs, t, p = case
    n = B - 3
    ours, theirs = getattr(M, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for d in BATCHES:
        junk_t, junk_p = d[t].copy(), d[p].copy()
        junk_t[n:] = -1 if t == "bin" else junk_t[n:]  # padding may hold anything
        junk_p[n:] = 0.99
        mask = np.array([1] * n + [0] * (B - n), "float32")
        ours.update_state(junk_t, junk_p, sample_weight=mask)
        theirs.update_state(d[t][:n], d[p][:n], sample_weight=np.ones(n, "float32"))
    np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-5, atol=1e-6)


def test_mean_ignores_zero_weight_rows():
    m = M.Mean()
    m.update_state(np.array([1.0, 2.0, 100.0]), sample_weight=np.array([1.0, 1.0, 0.0]))
    assert float(m.result()) == pytest.approx(1.5)


# ----------------------------------------------------------- pure core under jit


def test_pure_update_under_jit_compiles_once():
    ms = [M.AUC(), M.F1Score(average="macro"), M.SparseCategoricalAccuracy(), M.Mean()]
    ms[1].build((B, C), (B, C))
    states = [m.init_state() for m in ms]
    traces = []

    @jax.jit
    def step(states, y_oh, y_sp, p, w):
        traces.append(1)
        auc, f1, acc, mean = ms
        return [
            auc.update(states[0], y_oh[:, :1], p[:, :1], w),
            f1.update(states[1], y_oh, p, w),
            acc.update(states[2], y_sp, p, w),
            mean.update(states[3], jnp.sum(p, axis=-1), w),
        ]

    stateful = [M.AUC(), M.F1Score(average="macro"), M.SparseCategoricalAccuracy(), M.Mean()]
    for d in BATCHES:
        states = step(states, d["oh"], d["sp"], d["p"], d["sw"])
        stateful[0].update_state(d["oh"][:, :1], d["p"][:, :1], d["sw"])
        stateful[1].update_state(d["oh"], d["p"], d["sw"])
        stateful[2].update_state(d["sp"], d["p"], d["sw"])
        stateful[3].update_state(np.sum(d["p"], axis=-1), d["sw"])
    assert len(traces) == 1
    for m, s, ref in zip(ms, states, stateful):
        np.testing.assert_allclose(jax.jit(m.compute)(s), ref.result(), rtol=1e-6)


def test_shape_dependent_metrics_need_build():
    f1 = M.F1Score()
    with pytest.raises(ValueError, match=r"build\(y_true_shape, y_pred_shape\)"):
        f1.init_state()
    f1.build((None, 3), (None, 3))
    assert f1.init_state()["tp"].shape == (3,)
    with pytest.raises(ValueError, match="2D inputs"):
        M.R2Score().build((4,), (4, 2, 1))


# ----------------------------------------------------------- lookup, names, config


def test_get_names():
    assert isinstance(M.get("mse"), M.MeanSquaredError)
    assert isinstance(M.get("AUC"), M.AUC) and isinstance(M.get("auc"), M.AUC)
    assert isinstance(M.get("precision"), M.Precision) and isinstance(M.get("Recall"), M.Recall)
    assert isinstance(M.get("f1_score"), M.F1Score) and isinstance(M.get("r2_score"), M.R2Score)
    assert isinstance(M.get("top_k_categorical_accuracy"), M.TopKCategoricalAccuracy)
    assert isinstance(M.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7}}), M.BinaryAccuracy)
    assert isinstance(M.get(M.Hinge), M.Hinge)
    acc = M.Accuracy()
    assert M.get(acc) is acc and M.get(None) is None


def test_unknown_metric_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'precision'"):
        M.get("precison")
    with pytest.raises(ValueError, match="Could not interpret"):
        M.get(3)
    with pytest.raises(ValueError, match="average"):
        M.F1Score(average="mean")
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="XY")


def test_default_names_like_keras(keras):
    import lamina

    lamina.backend.clear_session()
    assert [M.Precision().name, M.Precision().name, M.AUC().name] == ["precision", "precision_1", "auc"]
    assert M.AUC(name="my_auc").name == "my_auc" and M.LogCoshError().name == "logcosh"


@pytest.mark.parametrize(
    "metric",
    [M.AUC(num_thresholds=50, curve="PR", from_logits=True), M.Precision(thresholds=[0.2, 0.6], class_id=1),
     M.FBetaScore(average="micro", beta=2.0), M.SparseCategoricalCrossentropy(from_logits=True), M.BinaryAccuracy(threshold=0.3)],
    ids=lambda m: type(m).__name__,
)
def test_config_round_trip_with_keras(keras, metric):
    cfg = M.serialize(metric)
    assert cfg["module"] == "keras.metrics"
    again = M.deserialize(cfg)
    assert type(again) is type(metric) and again.get_config() == metric.get_config()
    theirs = keras.metrics.deserialize(cfg)
    assert type(theirs).__name__ == type(metric).__name__
    assert M.deserialize(keras.metrics.serialize(theirs)).get_config() == metric.get_config()


# ----------------------------------------------------------- compile("accuracy") resolution


@pytest.mark.parametrize(
    "y_true_shape,y_pred_shape,expected",
    [
        ((None, 1), (None, 1), "BinaryAccuracy"),
        ((None,), (None, 1), "BinaryAccuracy"),
        ((None,), (None, 10), "SparseCategoricalAccuracy"),
        ((None, 1), (None, 10), "SparseCategoricalAccuracy"),
        ((None, 10), (None, 10), "CategoricalAccuracy"),
        ((None, 5, 10), (None, 5, 10), "CategoricalAccuracy"),
        ((None, 5), (None, 5, 10), "SparseCategoricalAccuracy"),
    ],
)
def test_resolve_accuracy_follows_keras(keras, y_true_shape, y_pred_shape, expected):
    from keras.src.trainers.compile_utils import get_metric

    for word in ("accuracy", "acc"):
        metric = M.resolve_accuracy(word, "mse", y_true_shape, y_pred_shape)
        assert type(metric).__name__ == expected and metric.name == word
        ref = get_metric(word, keras.KerasTensor(y_true_shape), keras.KerasTensor(y_pred_shape))
        assert type(ref).__name__ == expected


def test_resolve_other_identifiers():
    assert type(M.resolve_accuracy("crossentropy", None, (None,), (None, 3))).__name__ == "SparseCategoricalCrossentropy"
    mse = M.resolve_accuracy("mse", None, (None, 1), (None, 1))
    assert isinstance(mse, M.MeanSquaredError) and mse.name == "mse"
    # Without shapes the loss decides
    assert isinstance(M.resolve_accuracy("accuracy", "binary_crossentropy"), M.BinaryAccuracy)
    assert isinstance(M.resolve_accuracy("acc", losses.SparseCategoricalCrossentropy()), M.SparseCategoricalAccuracy)
    with pytest.raises(ValueError, match="y_true_shape"):
        M.resolve_accuracy("accuracy", "mse")


@pytest.mark.parametrize(
    "name,kwargs,t,p",
    [
        ("binary_accuracy", {"threshold": 0.3}, "bin", "p"),
        ("categorical_accuracy", {}, "oh", "p"),
        ("sparse_categorical_accuracy", {}, "sp", "p"),
        ("top_k_categorical_accuracy", {"k": 3}, "oh", "p"),
        ("sparse_top_k_categorical_accuracy", {"k": 1}, "sp0", "p"),
        ("mean_squared_error", {}, "yr", "pr"),
        ("poisson", {}, "bin", "p"),
    ],
)
def test_metric_functions_match_keras(keras, name, kwargs, t, p):
    d = BATCHES[0]
    ref = getattr(keras.metrics, name)(d[t], d[p], **kwargs)
    got = getattr(M, name)(d[t], d[p], **kwargs)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-6)
