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


def test_cifar10_damaged_archive_names_the_file(small_cifar, isolated, monkeypatch):
    blobs, _ = small_cifar
    archive = isolated / "mine" / "cifar-10-python.tar.gz"
    write_cifar_tar(archive, blobs)
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    good = archive.read_bytes()
    archive.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=f"{archive}.*cannot be read as .*CIFAR-10 python.*damaged"):
        datasets.cifar10.load_data()
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 4
    archive.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=f"{archive}.*damaged"):
        datasets.cifar10.load_data()


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


# ---------------------------------------------------------------- CIFAR-100


def cifar100_batch_bytes(data, fine, coarse, name, protocol=3):
    """A batch as in cifar-100-python.tar.gz: a dict with bytes keys (written by Python 2 there)."""
    batch = {b"filenames": [b"x.png"] * len(fine), b"batch_label": name.encode(), b"fine_labels": list(fine)}
    batch.update({b"coarse_labels": list(coarse), b"data": data})
    return pickle.dumps(batch, protocol=protocol)


def cifar100_arrays(n, rng):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    fine = rng.integers(0, 100, size=n).tolist()
    return data, fine, [f // 5 for f in fine]  # any fine -> coarse map will do


@pytest.fixture
def small_cifar100(isolated):
    rng = np.random.default_rng(7)
    parts = {"train": cifar100_arrays(6, rng), "test": cifar100_arrays(3, rng)}
    blobs = {name: cifar100_batch_bytes(*arrays, name) for name, arrays in parts.items()}
    blobs["meta"] = pickle.dumps({b"fine_label_names": [b"apple"], b"coarse_label_names": [b"fish"]}, protocol=3)
    return blobs, parts


def write_cifar100_tar(path, blobs):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name in ("test", "meta", "train"):  # any member order
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(blobs[name])
            archive.addfile(info, io.BytesIO(blobs[name]))


def write_cifar100_folder(folder, blobs):
    folder.mkdir(parents=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)


@pytest.mark.parametrize("layout", ["tar", "keras3_archive", "keras2_folder", "keras3_folder"])
@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_layouts_and_label_modes(small_cifar100, isolated, monkeypatch, layout, label_mode):
    blobs, parts = small_cifar100
    root = isolated / "mine"
    if layout == "tar":
        write_cifar100_tar(root / "cifar-100-python.tar.gz", blobs)
    elif layout == "keras3_archive":
        write_cifar100_tar(root / "cifar-100-python-target_archive", blobs)
    else:
        inner = ("cifar-100-python-target/" if layout == "keras3_folder" else "") + "cifar-100-python"
        write_cifar100_folder(root / inner, blobs)
    monkeypatch.setenv("LAMINA_DATASETS", str(root))
    (x_train, y_train), (x_test, y_test) = datasets.cifar100.load_data(label_mode)
    assert x_train.shape == (6, 32, 32, 3) and x_test.shape == (3, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (6, 1) and y_test.shape == (3, 1) and y_train.dtype == y_test.dtype == np.int64
    column = 1 if label_mode == "fine" else 2
    assert y_train[:, 0].tolist() == parts["train"][column] and y_test[:, 0].tolist() == parts["test"][column]
    # Pixel (row 0, column 1) of image 0: channel c is byte c * 1024 + 1 of the row.
    assert x_train[0, 0, 1].tolist() == parts["train"][0][0, [1, 1025, 2049]].tolist()
    np.testing.assert_array_equal(x_test.transpose(0, 3, 1, 2).reshape(3, 3072), parts["test"][0])


@pytest.mark.parametrize("image_format", ["channels_last", "channels_first"])
def test_cifar100_identical_to_keras(keras, small_cifar100, isolated, monkeypatch, image_format):
    import lamina

    blobs, _ = small_cifar100
    target = isolated / "keras_home" / "datasets" / "cifar-100-python-target"  # what Keras's get_file returns
    write_cifar100_folder(target / "cifar-100-python", blobs)
    load_keras = keras_loader_on(monkeypatch, "cifar100", target)
    old_keras, old_lamina = keras.config.image_data_format(), lamina.backend.image_data_format()
    keras.config.set_image_data_format(image_format)
    lamina.backend.set_image_data_format(image_format)
    try:
        for label_mode in ("fine", "coarse"):
            ours = datasets.cifar100.load_data(label_mode=label_mode)
            assert_same_splits(ours, load_keras(label_mode=label_mode))
        assert ours[0][0].shape == ((6, 32, 32, 3) if image_format == "channels_last" else (6, 3, 32, 32))
    finally:
        keras.config.set_image_data_format(old_keras)
        lamina.backend.set_image_data_format(old_lamina)


def test_cifar100_arguments_and_missing_files(small_cifar100, isolated, monkeypatch):
    with pytest.raises(ValueError, match="label_mode"):
        datasets.cifar100.load_data(label_mode="medium")
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.cifar100.load_data()
    for expected in ("cifar-100-python.tar.gz", "cifar-100-python/train, cifar-100-python/test",
                     "cifar-100-python-target/cifar-100-python/train", "cifar-100-python-target_archive"):  # fmt: skip
        assert expected in str(info.value)
    blobs, _ = small_cifar100
    write_cifar100_folder(isolated / "mine" / "cifar-100-python", {"train": blobs["train"]})  # no test batch
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    with pytest.raises(datasets.DatasetNotFoundError):
        datasets.cifar100.load_data()


def test_cifar100_damaged_archives_name_the_file(small_cifar100, isolated, monkeypatch):
    blobs, _ = small_cifar100
    archive = isolated / "mine" / "cifar-100-python.tar.gz"
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    write_cifar100_tar(archive, blobs)
    good = archive.read_bytes()
    for cut in (len(good) - 10, len(good) // 2, 30):  # lost the gzip trailer / half the file / most of it
        archive.write_bytes(good[:cut])
        with pytest.raises(ValueError, match=f"{archive}.*(damaged|truncated)"):
            datasets.cifar100.load_data()
    for start, length in ((len(good) // 2, 16), (len(good) // 3, 1)):
        damaged = bytearray(good)
        damaged[start : start + length] = bytes(b ^ 1 for b in damaged[start : start + length])
        archive.write_bytes(bytes(damaged))  # one flipped bit still decompresses: the gzip CRC catches it
        with pytest.raises(ValueError, match=f"{archive}.*damaged"):
            datasets.cifar100.load_data()
    archive.write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match=f"{archive}: cannot be read as the CIFAR-100 python archive"):
        datasets.cifar100.load_data()
    write_cifar100_tar(archive, {**blobs, "test": blobs["test"][:-100]})  # a cut pickle inside a sound archive
    with pytest.raises(ValueError, match=r"\(member cifar-100-python/test\): cannot be read as a CIFAR-100"):
        datasets.cifar100.load_data()
    del blobs["test"]
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-100-python/train")
        info.size = len(blobs["train"])
        tar.addfile(info, io.BytesIO(blobs["train"]))
    with pytest.raises(ValueError, match=f"{archive} lacks test under cifar-100-python/"):
        datasets.cifar100.load_data()


def test_cifar100_damaged_batches_name_the_file(small_cifar100, isolated, monkeypatch):
    blobs, _ = small_cifar100
    folder = isolated / "mine" / "cifar-100-python"
    write_cifar100_folder(folder, blobs)
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    (folder / "train").write_bytes(blobs["train"][: len(blobs["train"]) // 3])
    with pytest.raises(ValueError, match=f"{folder / 'train'}: cannot be read as a CIFAR-100 python batch"):
        datasets.cifar100.load_data()
    (folder / "train").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"train: .*no 'coarse_labels'"):
        datasets.cifar100.load_data(label_mode="coarse")  # a CIFAR-10 batch
    (folder / "train").write_bytes(cifar100_batch_bytes(np.zeros((2, 100), np.uint8), [0, 1], [0, 0], "train"))
    with pytest.raises(ValueError, match=r"train: .*\(n, 3072\)"):
        datasets.cifar100.load_data()


def test_cifar100_pickles_cannot_run_code(small_cifar100, isolated, monkeypatch):
    marker = isolated / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    blobs, _ = small_cifar100
    blobs["test"] = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": Evil()}, protocol=2)
    write_cifar100_tar(isolated / "mine" / "cifar-100-python.tar.gz", blobs)
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    with pytest.raises(ValueError, match=r"member cifar-100-python/test\).*refusing to load posix\.mkdir"):
        datasets.cifar100.load_data()
    assert not marker.exists()


def test_cifar100_python2_style_pickles(small_cifar100, isolated, monkeypatch):
    """Protocol 2 written by Python 3 stores bytes through _codecs.encode; that is allowed, nothing else."""
    _, parts = small_cifar100
    blobs = {name: cifar100_batch_bytes(*arrays, name, protocol=2) for name, arrays in parts.items()}
    write_cifar100_folder(isolated / "mine" / "cifar-100-python", blobs)
    monkeypatch.setenv("LAMINA_DATASETS", str(isolated / "mine"))
    (_, y_train), _ = datasets.cifar100.load_data("coarse")
    assert y_train[:, 0].tolist() == parts["train"][2]


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


# ---------------------------------------------------------------- Reuters


def ragged_sequences(rng, n, vocabulary=40, lengths=(2, 12)):
    """An object array of Python int lists, as in Keras's imdb.npz / reuters.npz."""
    out = np.empty(n, dtype=object)
    out[:] = [rng.integers(1, vocabulary, size=rng.integers(*lengths)).tolist() for _ in range(n)]
    return out


@pytest.fixture
def small_reuters(isolated):
    rng = np.random.default_rng(12)
    path = isolated / "keras_home" / "datasets" / "reuters.npz"
    path.parent.mkdir(parents=True)
    np.savez(path, x=ragged_sequences(rng, 41), y=rng.integers(0, 46, 41))  # int64 topics, as in Keras's file
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
        {"test_split": 0.5, "seed": 7, "maxlen": 10, "num_words": 30},
        {"test_split": 0.0},
        {"test_split": 0.99},
    ],
)
def test_reuters_matches_keras(keras, small_reuters, monkeypatch, kwargs):
    ours = datasets.reuters.load_data(**kwargs)
    ref = keras_loader_on(monkeypatch, "reuters", small_reuters)(**kwargs)
    for (x, y), (x_ref, y_ref) in zip(ours, ref):
        assert x.dtype == object and x.ndim == 1 and x.shape == x_ref.shape
        assert [list(s) for s in x] == [list(s) for s in x_ref]
        assert all(type(w) is int for s in x for w in s)
        assert y.dtype == y_ref.dtype == np.int64 and y.shape == x.shape
        np.testing.assert_array_equal(y, y_ref)
    (x_train, _), (x_test, _) = ours
    n = 41 if "maxlen" not in kwargs else len(x_train) + len(x_test)
    assert len(x_train) == int(n * (1 - kwargs.get("test_split", 0.2)))


def test_reuters_defaults_numbers_and_path_argument(small_reuters, isolated):
    (x_train, y_train), (x_test, y_test) = datasets.reuters.load_data()
    assert len(x_train) == 32 and len(x_test) == 9  # int(41 * 0.8)
    with np.load(small_reuters, allow_pickle=True) as f:
        x_file, y_file = f["x"], f["y"]
    order = np.arange(41)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), y_file[order])
    first = [1] + [w + 3 for w in x_file[order[0]]]
    biggest = max(w for s in x_file for w in s) + 3
    assert x_train[0] == [w if w < biggest else 2 for w in first]  # Keras's quirk: the largest index is OOV too
    moved = isolated / "elsewhere" / "my_reuters.npz"
    moved.parent.mkdir()
    os.replace(small_reuters, moved)
    with pytest.raises(datasets.DatasetNotFoundError, match="reuters.npz"):
        datasets.reuters.load_data()
    (x_train2, y_train2), (x_test2, y_test2) = datasets.reuters.load_data(path=str(moved))
    assert x_train2.tolist() == x_train.tolist() and x_test2.tolist() == x_test.tolist()
    np.testing.assert_array_equal(np.concatenate([y_train2, y_test2]), np.concatenate([y_train, y_test]))


def test_reuters_word_index_and_label_names(keras, isolated, monkeypatch):
    index = {"the": 1, "of": 2, "said": 3, "pct": 17, "vs": 4}
    path = isolated / "keras_home" / "datasets" / "reuters_word_index.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(index))
    assert datasets.reuters.get_word_index() == index
    module = __import__("keras.src.datasets.reuters", fromlist=["get_word_index"])
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(path))
    assert datasets.reuters.get_word_index() == module.get_word_index()
    names = datasets.reuters.get_label_names()
    assert names == keras.datasets.reuters.get_label_names() and isinstance(names, tuple) and len(names) == 46
    assert names[3] == "earn" and names[4] == "acq"
    path.write_text("[1, 2")
    with pytest.raises(ValueError, match="reuters_word_index.json.*JSON"):
        datasets.reuters.get_word_index()


def test_reuters_bad_arguments_and_files(small_reuters, isolated):
    with pytest.raises(ValueError, match="maxlen=2"):
        datasets.reuters.load_data(maxlen=2)  # every newswire has a start mark and at least 2 words
    for split in (1.0, -0.1):
        with pytest.raises(ValueError, match="test_split"):
            datasets.reuters.load_data(test_split=split)
    with pytest.raises(TypeError):
        datasets.reuters.load_data(nb_words=10)  # Keras 3's reuters has no deprecated alias either
    blob = small_reuters.read_bytes()
    small_reuters.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"reuters\.npz: cannot be read as an \.npz"):
        datasets.reuters.load_data()
    wrong = isolated / "data" / "imdb_like.npz"
    wrong.parent.mkdir()
    np.savez(wrong, x_train=np.zeros(3), y_train=np.zeros(3))
    with pytest.raises(ValueError, match=r"imdb_like\.npz: the archive has no x, y"):
        datasets.reuters.load_data(path=str(wrong))
    np.savez(wrong, x=ragged_sequences(np.random.default_rng(0), 4), y=np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="4 sequences but 3 labels"):
        datasets.reuters.load_data(path=str(wrong))


def test_sequence_files_cannot_run_code(isolated):
    marker = isolated / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    sequences = np.empty(2, dtype=object)
    sequences[:] = [[1, 2, 3], Evil()]
    path = isolated / "evil" / "reuters.npz"
    path.parent.mkdir()
    np.savez(path, x=sequences, y=np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"evil/reuters\.npz.*refusing to load posix\.mkdir"):
        datasets.reuters.load_data(path=str(path))
    assert not marker.exists()


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
