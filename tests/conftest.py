"""Shared test setup: Keras on its JAX backend as the reference, data set paths."""

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# One CPU device in this process, whatever the machine's cores: results must not depend on them. The fits
# lamina runs over several cores (`training/cores.py`) are tested in child processes with two devices.
os.environ["LAMINA_CPU_DEVICES"] = "1"

import pytest  # noqa: E402

KERAS_FILES = pathlib.Path(
    os.environ.get("LAMINA_TEST_KERAS_FILES",
                   pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "keras-files")
)
DATASETS = pathlib.Path(
    os.environ.get("LAMINA_TEST_DATASETS", pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)


@pytest.fixture(scope="session")
def keras():
    """Real Keras 3 on JAX (the reference implementation)."""
    return pytest.importorskip("keras")


@pytest.fixture(scope="session")
def datasets_dir():
    """../shared/datasets, or skip when it is not beside the checkout."""
    if not DATASETS.is_dir():
        pytest.skip(f"real data sets not found at {DATASETS} (set LAMINA_TEST_DATASETS)")
    return DATASETS


def dataset_file(*parts):
    """Path of one real data file, or skip the test with the reason."""
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data file {path} is not present")
    return path


@pytest.fixture(scope="session")
def keras_files_dir():
    """../shared/keras-files (model files written by tf.keras 2, with reference.json), or skip."""
    if not (KERAS_FILES / "reference.json").is_file():
        pytest.skip(f"tf.keras 2 model files not found at {KERAS_FILES} (set LAMINA_TEST_KERAS_FILES)")
    return KERAS_FILES
