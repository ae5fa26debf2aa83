"""Shared test setup: Keras on its JAX backend as the reference, data set paths."""

import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

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
