"""lamina.datasets loaders: real files from ../shared/datasets, generated files, Keras as reference."""

import gzip
import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest
from conftest import dataset_file

from lamina import datasets
from lamina.datasets import _files, _readers, toy

# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real caches, no network, no system folder: each test sees only what it creates."""
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "lamina_home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("LAMINA_OFFLINE", "1")
    monkeypatch.delenv("LAMINA_DATASETS", raising=False)
    monkeypatch.setattr(_files, "SYSTEM_DIRS", [str(tmp_path / "system")])
    return tmp_path


def write_idx(path, array, gz=True):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + array.tobytes())


def small_mnist(seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, size=7, dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, size=3, dtype=np.uint8)
    return (x_train, y_train), (x_test, y_test)


def write_idx_set(folder, data, gz=True):
    (x_train, y_train), (x_test, y_test) = data
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", x_train, gz)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", y_train, gz)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", x_test, gz)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", y_test, gz)


def assert_same_splits(a, b):
    for part_a, part_b in zip(a, b):
        for arr_a, arr_b in zip(part_a, part_b):
            assert arr_a.dtype == arr_b.dtype and arr_a.shape == arr_b.shape
            np.testing.assert_array_equal(arr_a, arr_b)


def keras_loader_on(monkeypatch, module_name, path):
    """A Keras loader whose `get_file` returns our local file instead of downloading."""
    import importlib

    module = importlib.import_module(f"keras.src.datasets.{module_name}")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(path))
    return module.load_data


def boston_arrays(datasets_dir):
    table = np.loadtxt(dataset_file("boston_housing", "housing.data"))
    return table[:, :13], table[:, 13]


def keras_style_california_npz(source, target):
    """Build california_housing.npz the way Keras built its file: float32 columns in file order."""
    lines = [line for line in source.read_text().splitlines() if line.strip()]
    rows = [[float(v) for v in line.split(",")] for line in lines[1:]]  # the shared copy has a header
    data = np.array(rows, dtype="float32")
    np.savez(target, x=data[:, :8], y=data[:, 8])


# ---------------------------------------------------------------- Fashion-MNIST (real files)


def test_fashion_mnist_real_files(datasets_dir, monkeypatch):
    dataset_file("fashion-mnist", "train-images-idx3-ubyte.gz")
    monkeypatch.setenv("LAMINA_DATASETS", str(datasets_dir))
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert x_train.max() == 255 and x_train[0, 0, 0] == 0
    # Same bytes as a hand parse of the IDX payload (16-byte header for images).
    with gzip.open(dataset_file("fashion-mnist", "t10k-images-idx3-ubyte.gz")) as f:
        np.testing.assert_array_equal(x_test.reshape(-1), np.frombuffer(f.read(), np.uint8, offset=16))


def test_fashion_mnist_identical_to_keras(keras, datasets_dir, tmp_path, monkeypatch):
    """Keras reads the same files from its cache folder; both loaders give identical arrays."""
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as keras_file_utils

    folder = tmp_path / "keras_cache" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in os.listdir(datasets_dir / "fashion-mnist"):
        (folder / name).symlink_to(datasets_dir / "fashion-mnist" / name)
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras_cache"))

    def no_network(*args, **kwargs):
        raise AssertionError("Keras tried to download")

    monkeypatch.setattr(keras_file_utils, "urlretrieve", no_network)
    ref = keras.datasets.fashion_mnist.load_data()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_cache"))  # lamina finds it in Keras's cache
    assert_same_splits(datasets.fashion_mnist.load_data(), ref)


def test_fashion_mnist_from_debian_folder_decompressed(isolated):
    data = small_mnist(1)
    write_idx_set(isolated / "system" / "fashion-mnist", data, gz=False)
    assert_same_splits(datasets.fashion_mnist.load_data(), data)


# ---------------------------------------------------------------- MNIST


def test_mnist_partial_real_files_through_idx_reader(datasets_dir):
    images = _readers.read_idx(dataset_file("mnist-partial", "t10k-images-idx3-ubyte.gz"))
    labels = _readers.read_idx(dataset_file("mnist-partial", "t10k-labels-idx1-ubyte.gz"))
    train_labels = _readers.read_idx(dataset_file("mnist-partial", "train-labels-idx1-ubyte.gz"))
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and train_labels.shape == (60000,)
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert images[0, :7, :7].sum() == 0 and images[0].max() == 255


def test_mnist_partial_is_not_mistaken_for_a_full_copy(datasets_dir, monkeypatch):
    dataset_file("mnist-partial", "t10k-images-idx3-ubyte.gz")
    monkeypatch.setenv("LAMINA_DATASETS", str(datasets_dir))
    with pytest.raises(datasets.DatasetNotFoundError, match="mnist/train-images-idx3-ubyte.gz"):
        datasets.mnist.load_data()


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_and_npz_give_the_same_arrays_as_keras(keras, isolated, monkeypatch, gz):
    data = small_mnist(2)
    write_idx_set(isolated / "shared" / "mnist", data, gz=gz)
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "shared"))
    from_idx = datasets.mnist.load_data()
    assert_same_splits(from_idx, data)

    npz = isolated / "keras_home" / "datasets" / "mnist.npz"
    npz.parent.mkdir(parents=True)
    (x_train, y_train), (x_test, y_test) = data
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.delenv("LAMINA_DATASETS")
    assert_same_splits(datasets.mnist.load_data(), from_idx)
    assert_same_splits(datasets.mnist.load_data(path=str(npz)), from_idx)
    assert_same_splits(keras_loader_on(monkeypatch, "mnist", npz)(), from_idx)


def test_idx_reader_rejects_truncated_and_foreign_files(tmp_path):
    write_idx(tmp_path / "ok.gz", np.zeros((2, 3, 3)))
    raw = gzip.open(tmp_path / "ok.gz").read()
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="truncated"):
        _readers.read_idx(tmp_path / "short")
    (tmp_path / "text").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        _readers.read_idx(tmp_path / "text")


# ---------------------------------------------------------------- Boston housing


def test_boston_real_file(datasets_dir, monkeypatch):
    dataset_file("boston_housing", "housing.data")
    monkeypatch.setenv("LAMINA_DATASETS", str(datasets_dir))
    (x_train, y_train), (x_test, y_test) = datasets.boston_housing.load_data()
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
    assert y_train.shape == (404,) and y_test.shape == (102,)
    assert x_train.dtype == y_train.dtype == np.float64
    np.testing.assert_array_equal(y_train[:3], [15.2, 42.3, 50.0])  # Keras's documented first targets
    (x2, _), (x2_test, _) = datasets.boston_housing.load_data(test_split=0.1, seed=1)
    assert len(x2) == int(506 * 0.9) and len(x2) + len(x2_test) == 506


def test_boston_original_npz_and_keras_agree(keras, datasets_dir, isolated, monkeypatch):
    x, y = boston_arrays(datasets_dir)
    npz = isolated / "boston_housing.npz"
    np.savez(npz, x=x, y=y)
    monkeypatch.setenv("LAMINA_DATASETS", str(datasets_dir))
    for kwargs in ({}, {"test_split": 0.3, "seed": 7}, {"test_split": 0.0}):
        from_original = datasets.boston_housing.load_data(**kwargs)
        from_npz = datasets.boston_housing.load_data(path=str(npz), **kwargs)
        assert_same_splits(from_original, from_npz)
        assert_same_splits(from_original, keras_loader_on(monkeypatch, "boston_housing", npz)(**kwargs))
    with pytest.raises(ValueError, match="test_split"):
        datasets.boston_housing.load_data(test_split=1.0)


def test_search_order_lamina_datasets_then_caches_then_debian(isolated, monkeypatch):
    def put(folder, value):
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "boston_housing.npz", x=np.full((10, 13), value), y=np.full(10, value))

    def loaded_value():
        (x_train, _), _ = datasets.boston_housing.load_data()
        return x_train[0, 0]

    put(isolated / "mine", 1.0)
    put(isolated / "lamina_home" / "datasets", 2.0)
    put(isolated / "keras_home" / "datasets", 3.0)
    put(isolated / "system", 4.0)
    monkeypatch.setenv("LAMINA_DATASETS", os.pathsep.join([str(isolated / "empty"), str(isolated / "mine")]))
    assert loaded_value() == 1.0
    monkeypatch.delenv("LAMINA_DATASETS")
    assert loaded_value() == 2.0
    os.remove(isolated / "lamina_home" / "datasets" / "boston_housing.npz")
    assert loaded_value() == 3.0
    os.remove(isolated / "keras_home" / "datasets" / "boston_housing.npz")
    assert loaded_value() == 4.0
    # In one folder Keras's .npz comes before the original file; an earlier folder beats both.
    (isolated / "system" / "boston_housing").mkdir()
    np.savetxt(isolated / "system" / "boston_housing" / "housing.data", np.full((10, 14), 5.0))
    assert loaded_value() == 4.0
    (isolated / "mine2" / "boston_housing").mkdir(parents=True)
    np.savetxt(isolated / "mine2" / "boston_housing" / "housing.data", np.full((10, 14), 6.0))
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine2"))
    assert loaded_value() == 6.0


def test_offline_error_names_files_and_folders(isolated, monkeypatch):
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.boston_housing.load_data()
    message = str(info.value)
    for expected in (
        "boston_housing.npz",
        "boston_housing/housing.data",
        str(isolated / "mine"),
        str(isolated / "lamina_home" / "datasets"),
        str(isolated / "keras_home" / "datasets"),
        str(isolated / "system"),
        "LAMINA_OFFLINE",
    ):
        assert expected in message
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(FileNotFoundError, match="no such file"):
        datasets.boston_housing.load_data(path=str(isolated / "nowhere" / "boston.npz"))


# ---------------------------------------------------------------- California housing


def test_california_real_file_npz_and_keras_agree(keras, datasets_dir, isolated, monkeypatch):
    source = dataset_file("california_housing", "cal_housing.data")
    monkeypatch.setenv("LAMINA_DATASETS", str(datasets_dir))
    npz = isolated / "california_housing.npz"
    keras_style_california_npz(source, npz)
    with np.load(npz) as f:
        x_all, y_all = f["x"], f["y"]
    assert x_all.shape == (20640, 8) and x_all.dtype == np.float32
    np.testing.assert_allclose(x_all[0], [-122.23, 37.88, 41, 880, 129, 322, 126, 8.3252], rtol=1e-6)
    assert y_all[0] == 452600.0

    for version, n_train, n_test in (("large", 16512, 4128), ("small", 480, 120)):
        from_original = datasets.california_housing.load_data(version=version)
        (x_train, y_train), (x_test, y_test) = from_original
        assert x_train.shape == (n_train, 8) and x_test.shape == (n_test, 8) and y_test.shape == (n_test,)
        assert x_train.dtype == y_train.dtype == np.float32
        assert_same_splits(from_original, datasets.california_housing.load_data(version=version, path=str(npz)))
        keras_load = keras_loader_on(monkeypatch, "california_housing", npz)
        assert_same_splits(from_original, keras_load(version=version))
    small = datasets.california_housing.load_data(version="small", test_split=0.5, seed=3)
    assert_same_splits(small, keras_load(version="small", test_split=0.5, seed=3))
    with pytest.raises(ValueError, match="version"):
        datasets.california_housing.load_data(version="medium")


def test_california_without_header_line(isolated, monkeypatch):
    folder = isolated / "mine" / "california_housing"
    folder.mkdir(parents=True)
    rows = np.arange(27, dtype=np.float64).reshape(3, 9) + 0.5
    np.savetxt(folder / "cal_housing.data", rows, delimiter=",", fmt="%.6f")
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    (x_train, y_train), (x_test, y_test) = datasets.california_housing.load_data(test_split=0.0)
    np.testing.assert_array_equal(np.sort(y_train), rows[:, 8].astype(np.float32))
    assert x_test.shape == (0, 8)


# ---------------------------------------------------------------- CIFAR-10


def cifar_batch_bytes(data, labels, name):
    batch = {b"batch_label": name.encode(), b"labels": list(labels), b"data": data}
    batch[b"filenames"] = [b"x.png"] * len(labels)
    return pickle.dumps(batch, protocol=3)


@pytest.fixture
def small_cifar(isolated):
    rng = np.random.default_rng(5)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {
        n: (rng.integers(0, 256, size=(2, 3072), dtype=np.uint8), rng.integers(0, 10, size=2).tolist()) for n in names
    }
    blobs = {n: cifar_batch_bytes(d, lab, n) for n, (d, lab) in batches.items()}
    x_train = np.concatenate([batches[n][0] for n in names[:5]]).reshape(10, 3, 32, 32).transpose(0, 2, 3, 1)
    y_train = np.array([lab for n in names[:5] for lab in batches[n][1]], dtype=np.uint8).reshape(10, 1)
    x_test = batches["test_batch"][0].reshape(2, 3, 32, 32).transpose(0, 2, 3, 1)
    y_test = np.array(batches["test_batch"][1], dtype=np.uint8).reshape(2, 1)
    return blobs, ((x_train, y_train), (x_test, y_test))


def write_cifar_tar(path, blobs):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name in reversed(list(blobs)):  # any member order
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blobs[name])
            archive.addfile(info, io.BytesIO(blobs[name]))


@pytest.mark.parametrize("layout", ["tar", "keras2_folder", "keras3_folder"])
def test_cifar10_layouts(small_cifar, isolated, monkeypatch, layout):
    blobs, expected = small_cifar
    root = isolated / "mine"
    if layout == "tar":
        write_cifar_tar(root / "cifar-10-python.tar.gz", blobs)
    else:
        folder = root / ("cifar-10-batches-py-target" if layout == "keras3_folder" else "") / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for name, blob in blobs.items():
            (folder / name).write_bytes(blob)
    monkeypatch.setenv("LAMINA_DATASETS", str(root))
    result = datasets.cifar10.load_data()
    assert_same_splits(result, expected)
    assert result[0][0].shape == (10, 32, 32, 3) and result[0][1].shape == (10, 1)


def test_cifar_batch_reader_matches_keras(keras, small_cifar, tmp_path):
    from keras.src.datasets.cifar import load_batch

    blobs, _ = small_cifar
    (tmp_path / "test_batch").write_bytes(blobs["test_batch"])
    ref_data, ref_labels = load_batch(str(tmp_path / "test_batch"))
    with open(tmp_path / "test_batch", "rb") as f:
        data, labels = _readers.read_cifar_batch(f)
    np.testing.assert_array_equal(data, ref_data)
    assert list(labels) == list(ref_labels)


def test_pickled_files_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _readers.read_cifar_batch(io.BytesIO(pickle.dumps({b"data": Evil()}, protocol=2)))


# ---------------------------------------------------------------- IMDB


@pytest.fixture
def small_imdb(isolated):
    rng = np.random.default_rng(11)

    def ragged(n):
        out = np.empty(n, dtype=object)
        # Python ints inside the lists, as in Keras's real file.
        out[:] = [rng.integers(1, 40, size=rng.integers(2, 12)).tolist() for _ in range(n)]
        return out

    path = isolated / "keras_home" / "datasets" / "imdb.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=ragged(30), y_train=rng.integers(0, 2, 30), x_test=ragged(20), y_test=rng.integers(0, 2, 20))
    return path


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_words": 20, "skip_top": 5},
        {"maxlen": 8, "seed": 3},
        {"start_char": None, "oov_char": None, "num_words": 25},
        {"start_char": None, "index_from": 0},
        {"index_from": 0, "oov_char": 7, "skip_top": 2},
    ],
)
def test_imdb_matches_keras(keras, small_imdb, monkeypatch, kwargs):
    ours = datasets.imdb.load_data(**kwargs)
    ref = keras_loader_on(monkeypatch, "imdb", small_imdb)(**kwargs)
    for (x, y), (x_ref, y_ref) in zip(ours, ref):
        assert x.dtype == object and x.ndim == 1
        assert [list(s) for s in x] == [list(s) for s in x_ref]
        assert y.dtype == y_ref.dtype
        np.testing.assert_array_equal(y, y_ref)


def test_imdb_arguments_and_word_index(small_imdb, isolated):
    with pytest.raises(ValueError, match="maxlen"):
        datasets.imdb.load_data(maxlen=2)
    with pytest.raises(TypeError, match="bogus"):
        datasets.imdb.load_data(bogus=1)
    with pytest.warns(DeprecationWarning):
        (x, _), _ = datasets.imdb.load_data(nb_words=10)
    assert max(max(s) for s in x) < 10
    (isolated / "keras_home" / "datasets" / "imdb_word_index.json").write_text(json.dumps({"the": 1, "film": 2}))
    assert datasets.imdb.get_word_index() == {"the": 1, "film": 2}


# ---------------------------------------------------------------- Pima (bundled)

_PIMA_SHA256 = "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af"


def test_pima_bundled_file_is_the_original():
    with open(datasets.pima_indians_diabetes.data_path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == _PIMA_SHA256


def test_pima_shared_copy_has_the_same_checksum(datasets_dir):
    sums = dict(line.split()[::-1] for line in dataset_file("SHA256SUMS").read_text().splitlines() if line.strip())
    assert sums["./pima/pima-indians-diabetes.data.csv"] == _PIMA_SHA256


def test_pima_load_data():
    (x, y), (x_test, y_test) = datasets.pima_indians_diabetes.load_data()
    assert x.shape == (768, 8) and y.shape == (768,) and x_test.shape == (0, 8) and y_test.shape == (0,)
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(x[0], [6, 148, 72, 35, 0, 33.6, 0.627, 50], rtol=1e-6)
    assert y[:5].tolist() == [1, 0, 1, 0, 1]
    assert np.bincount(y).tolist() == [500, 268]
    (x_train, y_train), (x_test, y_test) = datasets.pima_indians_diabetes.load_data(test_split=0.25)
    assert len(x_train) == 576 and len(x_test) == 192
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(y))


# ---------------------------------------------------------------- toy generators


@pytest.mark.parametrize("make", [toy.make_moons, toy.make_circles, toy.make_xor, toy.make_spirals, toy.make_blobs])
def test_toy_shapes_dtypes_and_seed(make):
    x, y = make(101, noise=0.1, seed=0)
    assert x.shape == (101, 2) and x.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int32
    x2, y2 = make(101, noise=0.1, seed=0)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make(101, noise=0.1, seed=1)[0], x)
    assert len(set(y[:20].tolist())) > 1  # classes are interleaved, not blocked
    with pytest.raises(ValueError, match="n_samples"):
        make(0)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-1.0)


def test_toy_geometry_without_noise():
    x, y = toy.make_moons(100, seed=0)
    np.testing.assert_allclose(np.linalg.norm(x[y == 0], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(x[y == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-6)
    assert (x[y == 0, 1] >= -1e-6).all() and np.bincount(y).tolist() == [50, 50]
    x, y = toy.make_circles(60, factor=0.3, seed=0)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.where(y == 0, 1.0, 0.3), rtol=1e-6)
    x, y = toy.make_xor(200, seed=0)
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int32))
    x, y = toy.make_spirals(90, n_classes=3, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30] and np.linalg.norm(x, axis=1).max() <= 1.0 + 1e-6
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    x, y = toy.make_blobs(400, centers=centers, noise=0.5, seed=0)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [10, 10], atol=0.15)
    assert abs(x[y == 0].std() - 0.5) < 0.1
    with pytest.raises(ValueError, match="centers"):
        toy.make_blobs(10, centers=np.zeros((2, 3)))
