"""Every script in examples/ runs in --quick mode and writes real pictures; `python -m lamina` runs its job.

The examples run in this process (`runpy` + their `main(argv)`), not as subprocesses: one JAX start-up
and one in-memory program cache serve them all, which keeps this file within its time budget on two
cores, and a failure shows the example's own traceback. An example whose data set is not on the
machine skips with the loader's explanation.
"""

import math
import pathlib
import runpy
import sys

import numpy as np
import pytest

from pictures import assert_picture

pytest.importorskip("matplotlib", reason="the examples draw pictures (the 'plot' extra)")
pytest.importorskip("PIL", reason="the picture checks read the files with Pillow")

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAMES = ("pima_mlp", "mnist_mlp_experiments", "fashion_mnist_classifier", "california_housing_regression",
         "save_restore_callbacks", "perceptron_xor", "playground", "cnn_fashion_mnist", "lstm_sequences",
         "distributed_data_parallel", "hyperparameter_search")


@pytest.fixture(scope="module", autouse=True)
def examples_on_path():
    sys.path.insert(0, str(EXAMPLES))
    yield
    sys.path.remove(str(EXAMPLES))


@pytest.fixture(autouse=True)
def data_sets_folder(monkeypatch):
    """The examples search ../shared/datasets themselves; LAMINA_TEST_DATASETS moves it, as for the other tests."""
    from conftest import DATASETS

    monkeypatch.setenv("LAMINA_DATASETS", str(DATASETS))


def run_example(name, out, *extra):
    import _common

    main = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")["main"]
    try:
        result = main(["--quick", "--out", str(out), *extra])
    except _common.DataMissing as missing:
        pytest.skip(f"examples/{name}.py needs data that is not here: {str(missing).splitlines()[0]}")
    assert result["pictures"], f"{name} drew nothing"
    for path in result["pictures"]:
        assert pathlib.Path(path).parent == pathlib.Path(out)
        assert_picture(path)
    return result


def test_every_example_is_tested_and_listed():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")} - {"perceptron"}
    assert scripts == set(NAMES)
    readme = (ROOT / "README.md").read_text()
    assert all(f"examples/{name}.py" in readme for name in NAMES)


def test_readme_pictures_are_small_and_shown():
    pictures = sorted((ROOT / "docs" / "pictures").glob("*.png"))
    readme = (ROOT / "README.md").read_text()
    assert pictures
    for path in pictures:
        assert path.stat().st_size < 100_000, f"{path.name} is {path.stat().st_size:,} bytes; keep docs pictures small"
        assert f"docs/pictures/{path.name}" in readme
        assert_picture(path)


def test_pima_mlp(tmp_path, capsys):
    result = run_example("pima_mlp", tmp_path)
    assert len(result["history"]["val_loss"]) == 5
    assert "pima_learning_curves.png" in capsys.readouterr().out


def test_mnist_experiments_fall_back_to_fashion_mnist_and_say_so(tmp_path, capsys, monkeypatch):
    from lamina.datasets import DatasetNotFoundError, mnist

    def offline():
        raise DatasetNotFoundError("MNIST is not on this machine (test)")

    monkeypatch.setattr(mnist, "load_data", offline)
    result = run_example("mnist_mlp_experiments", tmp_path)
    assert result["dataset"] == "Fashion-MNIST"
    assert "use Fashion-MNIST" in capsys.readouterr().out
    assert [row[0] for row in result["rows"]] == ["baseline 784-784-10", "baseline + dropout 0.2", "baseline with SGD",
                                                  "baseline, twice the epochs"]
    params = {row[0]: row[1] for row in result["rows"]}
    assert params["baseline 784-784-10"] == 784 * 784 + 784 + 784 * 10 + 10
    assert all(0 <= row[4] <= 100 for row in result["rows"])


def test_fashion_mnist_classifier(tmp_path):
    result = run_example("fashion_mnist_classifier", tmp_path)
    assert len(result["pictures"]) == 3 and result["accuracy"] > 0.3  # 2 quick epochs beat chance (0.1)


def test_california_housing(tmp_path):
    result = run_example("california_housing_regression", tmp_path)
    assert all(math.isfinite(v) and v > 0 for v in result["rmse"].values())
    # the subclass creates the same layers in the same order as the functional model: same weights, same result
    assert result["rmse"]["subclassed"] == pytest.approx(result["rmse"]["wide_and_deep"], rel=1e-4)


def test_save_restore_callbacks(tmp_path, capsys):
    result = run_example("save_restore_callbacks", tmp_path)
    out = capsys.readouterr().out
    assert out.count("identical: True") + out.count("identical predictions: True") == 3
    assert (tmp_path / "pima_best.keras").is_file() and (tmp_path / "pima.h5").is_file()
    assert len(result["ratios"]) == result["epochs_run"] <= 4


def test_perceptron_xor(tmp_path):
    accuracy = run_example("perceptron_xor", tmp_path)["accuracy"]
    assert accuracy["blobs"] == 1.0 and accuracy["xor"] <= 0.75 and accuracy["mlp_xor"] == 1.0


def test_playground(tmp_path):
    table = run_example("playground", tmp_path)["accuracy"]
    assert set(table) == {(d, n) for d in ("moons", "circles", "spirals") for n in ("no hidden layer", "2 x 8 relu")}


def test_cnn_fashion_mnist(tmp_path):
    assert len(run_example("cnn_fashion_mnist", tmp_path)["pictures"]) == 3


def test_lstm_sequences(tmp_path):
    result = run_example("lstm_sequences", tmp_path)
    assert set(result["mse"]) == {"naive (last value)", "linear", "2 x SimpleRNN(20)"}
    assert all(np.isfinite(v) for v in result["mse"].values())
    if result["row_accuracy"] is None:  # part 2 needs Fashion-MNIST; the example says it skipped it
        pytest.skip("examples/lstm_sequences.py part 2 (Fashion-MNIST rows) needs data that is not here")
    assert result["row_accuracy"] > 0.15  # one quick epoch of the row-reading LSTM beats chance (0.1)


# ----- the README's main job ----------------------------------------------------------------------------

def test_python_m_lamina_trains_saves_reloads_predicts_and_draws(tmp_path, capsys):
    from lamina.__main__ import quickstart

    history = quickstart(["--epochs", "2", "--verbose", "0", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history
    assert "Total params: 221" in out and "(same predictions)" in out and "P(diabetes)" in out
    assert (tmp_path / "pima.keras").is_file()
    assert_picture(tmp_path / "pima_learning_curves.png")


def test_python_m_lamina_without_matplotlib_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    from lamina.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    # the console script `lamina-quickstart` calls main(): a return value other than None would be exit status 1
    assert main(["--epochs", "1", "--verbose", "0", "--out", str(tmp_path)]) is None
    assert 'pip install "lamina[plot]"' in capsys.readouterr().out
    assert not (tmp_path / "pima_learning_curves.png").exists()


def test_hyperparameter_search(tmp_path):
    pytest.importorskip("optuna", reason="the tuners run on Optuna (the 'tune' extra)")
    result = run_example("hyperparameter_search", tmp_path)
    assert len(result["pictures"]) == 2 and 1e-7 < result["suggested"] < 10


def test_distributed_data_parallel_on_four_cpu_devices_twice_from_one_program_cache(tmp_path):
    """As a script it asks XLA for 4 CPU devices; the second run loads the first run's stored programs (which
    must run on one device of the four, not on all of them)."""
    import os
    import subprocess

    env = {**os.environ, "LAMINA_COMPILATION_CACHE_DIR": str(tmp_path / "programs"), "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    for run in (1, 2):
        done = subprocess.run([sys.executable, str(EXAMPLES / "distributed_data_parallel.py"), "--quick", "--out",
                               str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"run {run}:\n{done.stdout}\n{done.stderr}"
        assert "4 device(s): cpu:0, cpu:1, cpu:2, cpu:3" in done.stdout
        gap = float(done.stdout.split("Largest loss difference between the two runs: ")[1].split()[0])
        assert gap < 1e-4
    assert any((tmp_path / "programs").iterdir())
    assert_picture(tmp_path / "data_parallel_losses.png")
