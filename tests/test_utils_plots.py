"""The pictures in lamina.utils: confusion_matrix's counts, and each plot writing a real picture."""

import os
import stat
import sys

import numpy as np
import pytest

import lamina as keras
from lamina.datasets import toy
from lamina.utils import model_plot, plotting

from pictures import assert_picture

pytest.importorskip("matplotlib", reason="the pictures need the 'plot' extra (matplotlib)")


# ----- confusion_matrix -------------------------------------------------------------------------------------

def test_confusion_matrix_counts_rows_true_columns_predicted():
    y_true = [0, 1, 2, 2, 1, 0, 2]
    y_pred = [0, 2, 2, 1, 1, 0, 2]
    expected = np.zeros((3, 3), int)
    for t, p in zip(y_true, y_pred):
        expected[t, p] += 1
    got = keras.utils.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64 and got.sum() == 7
    assert keras.utils.confusion_matrix(y_true, y_pred, num_classes=5).shape == (5, 5)


def test_confusion_matrix_reads_one_hot_and_probabilities_with_argmax():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]], np.float32)
    onehot = np.eye(3)[[0, 1, 1]]
    np.testing.assert_array_equal(keras.utils.confusion_matrix(onehot, probs),
                                  [[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    # (n, 1) integer-valued floats are labels
    np.testing.assert_array_equal(keras.utils.confusion_matrix(np.array([[0.0], [1.0]]), [1, 1]), [[0, 1], [0, 1]])


@pytest.mark.parametrize("y_true, y_pred, num_classes, match", [
    ([0, 1], [0.2, 0.9], None, "non-integer .*y_prob > 0.5"),
    ([0, 1, 2], [0, 1], None, "3 samples .* 2"),
    ([0, 3], [0, 1], 3, "Class index 3 .* num_classes=3"),
    ([0, -1], [0, 1], None, "negative"),
])
def test_confusion_matrix_bad_input_is_a_clear_error(y_true, y_pred, num_classes, match):
    with pytest.raises(ValueError, match=match):
        keras.utils.confusion_matrix(y_true, y_pred, num_classes=num_classes)


def test_plot_confusion_matrix_writes_a_picture(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 4, 200))
    path = keras.utils.plot_confusion_matrix(y, pred, class_names=list("abcd"), to_file=tmp_path / "cm.png")
    assert_picture(path)
    assert_picture(keras.utils.plot_confusion_matrix(y, pred, normalize=True, to_file=tmp_path / "n.png"))
    with pytest.raises(ValueError, match="2 names .* 4 classes"):
        keras.utils.plot_confusion_matrix(y, pred, class_names=["a", "b"], to_file=tmp_path / "x.png")


# ----- plot_history / plot_decision_boundary ----------------------------------------------------------------

@pytest.fixture(scope="module")
def moons_model():
    x, y = toy.make_moons(120, noise=0.1, seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, input_dim=2, activation="tanh"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)
    return model, history, x, y


def test_plot_history_takes_a_history_or_its_dict(moons_model, tmp_path):
    _, history, _, _ = moons_model
    assert_picture(keras.utils.plot_history(history, to_file=tmp_path / "h.png"))
    fig = keras.utils.plot_history(history.history, metrics=["accuracy"], to_file=None)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["training", "validation"]  # both curves on the same axes
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), history.history["accuracy"])
    import matplotlib.pyplot as plt

    plt.close(fig)
    with pytest.raises(ValueError, match="no \\['auc'\\] in the history"):
        keras.utils.plot_history(history, metrics="auc", to_file=tmp_path / "x.png")
    with pytest.raises(TypeError, match="History"):
        keras.utils.plot_history([1, 2], to_file=tmp_path / "x.png")


def test_plot_decision_boundary_for_one_sigmoid_and_for_softmax(moons_model, tmp_path):
    model, _, x, y = moons_model
    assert_picture(keras.utils.plot_decision_boundary(model, x, y, to_file=tmp_path / "b.png", resolution=60))
    xs, ys = toy.make_spirals(90, n_classes=3, seed=1)
    softmax = keras.Sequential([keras.layers.Dense(3, input_dim=2, activation="softmax")])
    assert_picture(keras.utils.plot_decision_boundary(softmax, xs, ys, to_file=tmp_path / "s.svg.png", resolution=40))
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(4, 3\)"):
        keras.utils.plot_decision_boundary(model, np.zeros((4, 3)), np.zeros(4), to_file=tmp_path / "x.png")


def test_a_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "lamina\[plot\]"'):
        plotting.figure()


# ----- plot_model ---------------------------------------------------------------------------------------------

def wide_and_deep():
    wide, deep = keras.Input((5,), name="wide"), keras.Input((6,), name="deep")
    hidden = keras.layers.Dense(30, activation="relu", name="hidden1")(deep)
    hidden = keras.layers.Dense(30, activation="relu", name="hidden2")(hidden)
    concat = keras.layers.Concatenate(name="concat")([wide, hidden])
    main = keras.layers.Dense(1, name="main")(concat)
    aux = keras.layers.Dense(1, name="aux")(hidden)
    return keras.Model([wide, deep], [main, aux])


def _edges(dot):
    return {tuple(part.strip().strip('";') for part in line.split("->")) for line in dot.splitlines() if "->" in line}


def test_model_to_dot_text_has_every_layer_and_tensor(tmp_path):
    dot = keras.utils.model_to_dot_text(wide_and_deep(), show_layer_activations=True, show_dtype=True)
    assert _edges(dot) == {("deep", "hidden1"), ("hidden1", "hidden2"), ("wide", "concat"), ("hidden2", "concat"),
                           ("concat", "main"), ("hidden2", "aux")}
    assert "Input shape: [(None, 5), (None, 30)]" in dot and "Output shape: (None, 35)" in dot
    assert "Activation: relu" in dot and "Output dtype: float32" in dot


def test_expand_nested_draws_the_inner_layers_in_a_frame():
    inner = keras.Sequential([keras.layers.Dense(4, input_dim=3, name="a"), keras.layers.Dense(2, name="b")],
                             name="block")
    x = keras.Input((3,), name="x")
    outer = keras.Model(x, keras.layers.Dense(1, name="head")(inner(x)))
    flat = keras.utils.model_to_dot_text(outer)
    assert _edges(flat) == {("x", "block"), ("block", "head")}
    nested = keras.utils.model_to_dot_text(outer, expand_nested=True)
    assert _edges(nested) == {("x", "block/a"), ("block/a", "block/b"), ("block/b", "head")}
    assert 'subgraph "cluster_block"' in nested


@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_plot_model_draws_with_matplotlib_without_graphviz(tmp_path, monkeypatch, rankdir):
    monkeypatch.setattr(model_plot.shutil, "which", lambda name: None)
    path = keras.utils.plot_model(wide_and_deep(), to_file=tmp_path / "m.png", rankdir=rankdir, show_trainable=True)
    assert path == str(tmp_path / "m.png")
    assert_picture(path)
    x = keras.Input((4,), name="x")
    shared = keras.layers.Dense(4, name="shared")
    twice = keras.Model(x, shared(shared(x)))  # one box, an arrow from the layer to itself
    assert _edges(keras.utils.model_to_dot_text(twice)) == {("x", "shared"), ("shared", "shared")}
    assert_picture(keras.utils.plot_model(twice, to_file=tmp_path / "shared.png", rankdir=rankdir))
    fig_svg = keras.utils.plot_model(wide_and_deep(), to_file=tmp_path / "m.svg", dpi=72)
    assert "<svg" in open(fig_svg).read()


def test_plot_model_hands_the_dot_text_to_graphviz_when_present(tmp_path, monkeypatch):
    # A stand-in `dot` that records its arguments and input: checks what lamina asks Graphviz for.
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$FAKE_DOT_ARGS"\ncat > "$FAKE_DOT_INPUT"\nprintf x > "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOT_ARGS", str(tmp_path / "args"))
    monkeypatch.setenv("FAKE_DOT_INPUT", str(tmp_path / "input"))
    model = wide_and_deep()
    keras.utils.plot_model(model, to_file=tmp_path / "out" / "m.pdf", rankdir="LR")
    assert (tmp_path / "args").read_text().split()[0] == "-Tpdf"
    assert (tmp_path / "input").read_text() == keras.utils.model_to_dot_text(model, rankdir="LR")
    assert (tmp_path / "out" / "m.pdf").read_text() == "x"


def test_plot_model_errors_and_subclassed_models(tmp_path, monkeypatch):
    monkeypatch.setattr(model_plot.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="has not been built"):
        keras.utils.plot_model(keras.Sequential([keras.layers.Dense(2)]), to_file=tmp_path / "x.png")
    model = wide_and_deep()
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.plot_model(model, to_file=tmp_path / "x.png", rankdir="XY")
    with pytest.raises(ValueError, match="layer_range"):
        keras.utils.plot_model(model, to_file=tmp_path / "x.png", layer_range=["a", "b"])

    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden = keras.layers.Dense(4)

        def call(self, x):
            return self.hidden(x)

    net = Net()
    net(np.zeros((1, 3), np.float32))
    dot = keras.utils.model_to_dot_text(net)
    assert "net (Net)" in dot and "Layers: " in dot and "->" not in dot
    assert_picture(keras.utils.plot_model(net, to_file=tmp_path / "net.png"), min_colors=3)


def test_plot_model_in_a_notebook_returns_an_image_the_cell_shows(tmp_path, monkeypatch):
    import types

    monkeypatch.setattr(model_plot.shutil, "which", lambda name: None)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    drawn = keras.utils.plot_model(model, to_file=tmp_path / "m.png")  # drawn before the stand-in IPython
    ipython, display = types.ModuleType("IPython"), types.ModuleType("IPython.display")
    ipython.get_ipython = lambda: object()  # a running kernel
    display.Image = lambda filename: ("Image", filename)
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert model_plot._shown(drawn, "png") == ("Image", drawn)
    assert model_plot._shown(str(tmp_path / "m.pdf"), "pdf") == str(tmp_path / "m.pdf")
    ipython.get_ipython = lambda: None  # IPython installed, but a plain script
    assert model_plot._shown(drawn, "png") == drawn
