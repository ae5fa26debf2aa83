"""Images from folders and files: `image_dataset_from_directory`, `load_img` / `img_to_array` /
`array_to_img` / `save_img`, the NumPy resize, and `fit` on a folder of images.

Keras's `image_dataset_from_directory` needs TensorFlow (or Grain) to build its dataset, neither installed
here, so the reference is Keras's own pieces that run without them: `dataset_utils.index_directory` and
`get_training_or_validation_split` (file order, labels, split) and the TensorFlow-free image loader
`image_dataset_utils._load_image_grain` (decode + `keras.ops.image.resize`).
"""

import os
import sys
import warnings

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import lamina  # noqa: E402
from lamina.utils import image_dataset, image_utils  # noqa: E402

CLASSES = {"cat": 5, "dog": 7, "bird": 4}


def _picture(rng, height, width, channels=3):
    return rng.integers(0, 256, (height, width, channels), dtype=np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three class folders of PNG/JPEG/BMP files of various sizes, a nested folder, an upper-case suffix,
    plus things that must be ignored: a text file, a hidden folder."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name, count in CLASSES.items():
        (root / name / "nested").mkdir(parents=True)
        for i in range(count):
            suffix = [".png", ".jpg", ".PNG", ".bmp"][i % 4]
            place = root / name / ("nested" if i % 3 == 2 else "") / f"img{i}{suffix}"
            fmt = {".png": "PNG", ".PNG": "PNG", ".jpg": "JPEG", ".bmp": "BMP"}[suffix]
            Image.fromarray(_picture(rng, 9 + i, 12 + 2 * i)).save(place, format=fmt)
        (root / name / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.fromarray(_picture(rng, 8, 8)).save(root / ".hidden" / "x.png")
    return root


@pytest.fixture(scope="module")
def kdu(keras):
    from keras.src.utils import dataset_utils

    return dataset_utils


N_FILES = sum(CLASSES.values())
FORMATS = image_dataset.ALLOWLIST_FORMATS


# ----- file order, labels, split: Keras's -----------------------------------------------------------------

@pytest.mark.parametrize("shuffle,seed", [(True, 1), (True, 1337), (False, None)])
def test_index_matches_keras(folder, kdu, shuffle, seed):
    want = kdu.index_directory(str(folder), "inferred", formats=FORMATS, shuffle=shuffle, seed=seed, verbose=False)
    got = image_dataset.index_directory(str(folder), "inferred", FORMATS, shuffle=shuffle, seed=seed, verbose=False)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2] == ["bird", "cat", "dog"]
    assert len(got[0]) == N_FILES


def test_index_explicit_labels_class_names_and_none_match_keras(folder, kdu):
    labels = list(np.arange(N_FILES + 1) % 2)  # without inferred labels the hidden folder counts too (as in Keras)
    kept = list(labels)
    want = kdu.index_directory(str(folder), list(labels), formats=FORMATS, shuffle=True, seed=7, verbose=False)
    got = image_dataset.index_directory(str(folder), labels, FORMATS, shuffle=True, seed=7, verbose=False)
    assert got[0] == want[0] and list(got[1]) == list(want[1]) and got[2] == want[2] == ["0", "1"]
    assert labels == kept  # Keras shuffles the caller's list in place; lamina does not
    want = kdu.index_directory(str(folder), "inferred", formats=FORMATS, class_names=["dog", "cat"], shuffle=False,
                               verbose=False)
    got = image_dataset.index_directory(str(folder), "inferred", FORMATS, class_names=["dog", "cat"], shuffle=False,
                                        verbose=False)
    assert got[0] == want[0] and list(got[1]) == list(want[1]) and got[2] == ["dog", "cat"]
    want = kdu.index_directory(str(folder), None, formats=FORMATS, shuffle=True, seed=3, verbose=False)
    got = image_dataset.index_directory(str(folder), None, FORMATS, shuffle=True, seed=3, verbose=False)
    assert got[0] == want[0] and got[1] is None and got[2] is None


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_split_matches_keras(folder, kdu, subset):
    paths, labels, _ = kdu.index_directory(str(folder), "inferred", formats=FORMATS, shuffle=True, seed=11,
                                           verbose=False)
    want_paths, want_labels = kdu.get_training_or_validation_split(paths, labels, 0.25, subset)
    ds = lamina.utils.image_dataset_from_directory(folder, image_size=(8, 8), seed=11, validation_split=0.25,
                                                   subset=subset, verbose=False)
    assert ds.file_paths == want_paths
    got_labels = np.concatenate([y for _, y in ds])
    np.testing.assert_array_equal(got_labels, want_labels)  # epoch 1 follows file_paths


def test_subset_both_and_the_messages(folder, capsys):
    train, val = lamina.utils.image_dataset_from_directory(folder, image_size=(8, 8), batch_size=4, seed=5,
                                                           validation_split=0.2, subset="both")
    out = capsys.readouterr().out
    assert f"Found {N_FILES} files belonging to 3 classes." in out
    n_val = int(0.2 * N_FILES)
    assert f"Using {N_FILES - n_val} files for training." in out and f"Using {n_val} files for validation." in out
    assert len(train.file_paths) == N_FILES - n_val and len(val.file_paths) == n_val
    assert not set(train.file_paths) & set(val.file_paths)
    assert train.class_names == val.class_names == ["bird", "cat", "dog"]
    assert len(train) == -(-(N_FILES - n_val) // 4) and len(val) == 1
    # the validation part is never reshuffled
    first = [y for _, y in val]
    assert all(np.array_equal(a, b) for a, b in zip(first, [y for _, y in val]))
    lamina.utils.image_dataset_from_directory(folder, image_size=(8, 8), labels=None, verbose=True)
    assert capsys.readouterr().out.strip() == f"Found {N_FILES + 1} files."  # the hidden folder's too, as in Keras


# ----- pixels: Keras's TensorFlow-free loader -------------------------------------------------------------

@pytest.mark.parametrize("color_mode,channels,interpolation,crop,pad", [
    ("rgb", 3, "bilinear", False, False), ("grayscale", 1, "nearest", True, False),
    ("rgba", 4, "bicubic", False, True), ("rgb", 3, "lanczos3", False, False)])
def test_pixels_match_keras_loader(folder, keras, color_mode, channels, interpolation, crop, pad):
    from keras.src.utils import image_dataset_utils

    ds = lamina.utils.image_dataset_from_directory(folder, image_size=(10, 13), batch_size=8, shuffle=False,
                                                   color_mode=color_mode, interpolation=interpolation,
                                                   crop_to_aspect_ratio=crop, pad_to_aspect_ratio=pad, verbose=False)
    images, labels = ds[1]
    assert images.shape == (8, 10, 13, channels) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.shape == (8,)
    for image, path in list(zip(images, ds.file_paths[8:16]))[::3]:
        want = np.asarray(image_dataset_utils._load_image_grain(path, (10, 13), channels, interpolation,
                                                                "channels_last", crop, pad))
        np.testing.assert_allclose(image, want, atol=2e-3, rtol=0)


def test_label_modes_and_channels_first(folder):
    kw = dict(image_size=(6, 7), batch_size=5, shuffle=False, verbose=False)
    x, y = lamina.utils.image_dataset_from_directory(folder, label_mode="categorical", **kw)[0]
    _, y_int = lamina.utils.image_dataset_from_directory(folder, **kw)[0]
    np.testing.assert_array_equal(y, np.eye(3, dtype=np.float32)[y_int])
    assert y.dtype == np.float32
    x_first, _ = lamina.utils.image_dataset_from_directory(folder, data_format="channels_first", **kw)[0]
    np.testing.assert_array_equal(x_first, x.transpose(0, 3, 1, 2))
    only = lamina.utils.image_dataset_from_directory(folder, label_mode=None, **kw)
    # no labels: indexed from the top folder down (hidden folders included), as in Keras
    assert isinstance(only[0], np.ndarray) and only[0].shape == (5, 6, 7, 3) and len(only.file_paths) == N_FILES + 1
    assert only.file_paths[0].endswith(os.path.join(".hidden", "x.png")) and only.class_names is None
    two = lamina.utils.image_dataset_from_directory(folder, label_mode="binary", class_names=["cat", "dog"], **kw)
    _, y_bin = two[0]
    assert y_bin.shape == (5, 1) and y_bin.dtype == np.float32 and set(np.unique(y_bin)) <= {0.0, 1.0}
    single = lamina.utils.image_dataset_from_directory(folder, batch_size=None, image_size=(6, 7), shuffle=False,
                                                       verbose=False)
    assert len(single) == N_FILES and single[0][0].shape == (6, 7, 3) and single[0][1].shape == ()


# ----- the dataset object ---------------------------------------------------------------------------------

def test_epochs_reshuffle_and_the_tf_data_conveniences(folder):
    ds = lamina.utils.image_dataset_from_directory(folder, image_size=(5, 5), batch_size=4, seed=3, verbose=False)
    assert len(ds) == 4 and ds.cardinality() == 4
    epoch1 = np.concatenate([y for _, y in ds])
    epoch2 = np.concatenate([y for _, y in ds])
    _, first_labels, _ = image_dataset.index_directory(str(folder), "inferred", FORMATS, seed=3, verbose=False)
    np.testing.assert_array_equal(epoch1, first_labels)
    assert sorted(epoch1) == sorted(epoch2) and not np.array_equal(epoch1, epoch2)
    fixed = lamina.utils.image_dataset_from_directory(folder, image_size=(5, 5), batch_size=4, shuffle=False,
                                                      verbose=False)
    a, b = [np.concatenate([y for _, y in fixed]) for _ in range(2)]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.sort(a))  # class by class

    assert len(list(fixed.take(2))) == 2 and len(fixed.skip(3)) == 1 and len(fixed.take(-1)) == 4
    np.testing.assert_array_equal(fixed.skip(1)[0][1], fixed[1][1])
    scaled = fixed.map(lambda x, y: (x / 255.0, y), num_parallel_calls=-1)
    np.testing.assert_allclose(scaled[0][0], fixed[0][0] / 255.0)
    cached = fixed.cache().prefetch(8)
    np.testing.assert_array_equal(cached[2][0], fixed[2][0])
    np.testing.assert_array_equal(cached[2][0], cached[2][0])
    shuffled = fixed.shuffle(1000, seed=1)
    list(shuffled)
    assert not np.array_equal(np.concatenate([y for _, y in shuffled]), a)
    with pytest.raises(IndexError, match="out of range"):
        fixed[4]


def test_fit_evaluate_predict_on_an_image_folder(tmp_path):
    rng = np.random.default_rng(1)
    for name, level in (("dark", 50), ("light", 200)):
        (tmp_path / name).mkdir()
        for i in range(12):
            pixels = np.clip(level + rng.normal(0, 25, (14 + i % 3, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    train, val = lamina.utils.image_dataset_from_directory(tmp_path, image_size=(12, 12), batch_size=5, seed=2,
                                                           validation_split=0.25, subset="both", verbose=False)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((12, 12, 3)), lamina.layers.Conv2D(4, 3, activation="relu"),
                               lamina.layers.GlobalAveragePooling2D(), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.Adam(0.05),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    scale = lambda x, y: (x / 255.0 - 0.5, y)  # noqa: E731
    history = model.fit(train.map(scale), validation_data=val.map(scale), epochs=10, verbose=0)
    assert len(history.history["loss"]) == 10 and "val_accuracy" in history.history
    assert history.history["loss"][-1] < history.history["loss"][0]
    scaled_val = val.map(scale)
    loss, accuracy = model.evaluate(scaled_val, verbose=0)
    assert np.isfinite(loss) and accuracy >= 0.8
    assert model.predict(scaled_val, verbose=0).shape == (len(val.file_paths), 2)


# ----- bad input: clear errors before any decoding --------------------------------------------------------

def test_bad_input(folder, tmp_path):
    f = lamina.utils.image_dataset_from_directory
    with pytest.raises(FileNotFoundError, match="does not exist"):
        f(tmp_path / "nope")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        f(tmp_path / "empty", verbose=False)
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(ValueError, match="one sub-directory per class"):
        f(tmp_path / "flat", verbose=False)
    assert len(f(tmp_path / "flat", labels=None, verbose=False).file_paths) == 1
    with pytest.raises(ValueError, match=r"len\(labels\) is 3 but 17 image files"):
        f(folder, labels=[0, 1, 0], verbose=False)
    with pytest.raises(ValueError, match="subset is not"):
        f(folder, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="needs validation_split"):
        f(folder, subset="training", seed=1)
    with pytest.raises(ValueError, match="subset must be"):
        f(folder, validation_split=0.2, subset="test", seed=1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        f(folder, validation_split=1.5, subset="training", seed=1)
    with pytest.raises(ValueError, match="pass a seed"):
        f(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="leaves no validation files"):
        f(folder, validation_split=0.05, subset="training", seed=1, verbose=False)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        f(folder, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="label_mode must be"):
        f(folder, label_mode="sparse")
    with pytest.raises(ValueError, match="only in TensorFlow"):
        f(folder, interpolation="area")
    with pytest.raises(ValueError, match="only one of"):
        f(folder, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="image_size must be"):
        f(folder, image_size=(8,))
    with pytest.raises(ValueError, match="color_mode"):
        f(folder, color_mode="cmyk")
    with pytest.raises(ValueError, match="not sub-directories"):
        f(folder, class_names=["cat", "horse"])
    with pytest.raises(ValueError, match="class_names can only"):
        f(folder, labels=None, class_names=["cat"])


# ----- single images: keras.utils's functions --------------------------------------------------------------

@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(_picture(np.random.default_rng(3), 21, 34, 4), "RGBA").save(path)
    return path


@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
@pytest.mark.parametrize("target_size,interpolation,keep", [(None, "nearest", False), ((10, 12), "nearest", False),
                                                            ((10, 12), "bilinear", True), ((30, 15), "bicubic", True),
                                                            ((8, 8), "lanczos", False), ((8, 9), "box", True)])
def test_load_img_and_img_to_array_match_keras(photo, keras, color_mode, target_size, interpolation, keep):
    want = keras.utils.load_img(photo, color_mode=color_mode, target_size=target_size, interpolation=interpolation,
                                keep_aspect_ratio=keep)
    got = lamina.utils.load_img(str(photo), color_mode=color_mode, target_size=target_size,
                                interpolation=interpolation, keep_aspect_ratio=keep)
    assert got.mode == want.mode and got.size == want.size
    for data_format in ("channels_last", "channels_first"):
        a = keras.utils.img_to_array(want, data_format=data_format)
        b = lamina.utils.img_to_array(got, data_format=data_format)
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("scale", [True, False])
def test_array_to_img_and_save_img_match_keras(keras, tmp_path, channels, scale):
    x = np.random.default_rng(channels).uniform(-3, 200, (6, 5, channels)).astype(np.float32)
    for data_format, arr in (("channels_last", x), ("channels_first", x.transpose(2, 0, 1))):
        want = keras.utils.array_to_img(arr, data_format=data_format, scale=scale)
        got = lamina.utils.array_to_img(arr, data_format=data_format, scale=scale)
        assert got.mode == want.mode
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    lamina.utils.save_img(tmp_path / "a.png", x, scale=scale)
    keras.utils.save_img(tmp_path / "b.png", x, scale=scale)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                                  np.asarray(Image.open(tmp_path / "b.png")))
    if channels == 4:
        with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
            lamina.utils.save_img(tmp_path / "c.jpg", x)
        assert Image.open(tmp_path / "c.jpg").mode == "RGB"
    big = np.full((3, 3, 1), 1000.0, np.float32)
    assert lamina.utils.array_to_img(big, scale=False).mode == keras.utils.array_to_img(big, scale=False).mode == "I"


def test_single_image_errors(photo, tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file"):
        lamina.utils.load_img(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_text("not a picture")
    with pytest.raises(ValueError, match="could not decode"):
        lamina.utils.load_img(tmp_path / "bad.png")
    with pytest.raises(ValueError, match="interpolation"):
        lamina.utils.load_img(photo, target_size=(4, 4), interpolation="lanczos3")
    with pytest.raises(ValueError, match="color_mode"):
        lamina.utils.load_img(photo, color_mode="rgbx")
    with pytest.raises(ValueError, match="rank-3"):
        lamina.utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="number of channels 2"):
        lamina.utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="path should be"):
        lamina.utils.load_img(123)


def test_missing_pillow_names_the_extra(photo, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'lamina\[images\]'):
        lamina.utils.load_img(photo)
    with pytest.raises(ImportError, match=r'lamina\[images\]'):
        lamina.utils.image_dataset_from_directory(photo.parent, labels=None)


@pytest.mark.parametrize("interpolation", image_utils.RESIZE_INTERPOLATIONS)
def test_resize_matches_keras_ops(keras, interpolation):
    rng = np.random.default_rng(4)
    for shape, size in (((17, 23, 3), (8, 8)), ((5, 7, 1), (12, 9)), ((10, 10, 2), (10, 4))):
        image = rng.uniform(0, 255, shape).astype(np.float32)
        want = np.asarray(keras.ops.image.resize(image, size, interpolation=interpolation))
        np.testing.assert_allclose(image_utils.resize_image(image, size, interpolation), want, atol=2e-3, rtol=0)
    batch = rng.uniform(0, 255, (2, 13, 21, 3)).astype(np.float32)
    want = keras.preprocessing.image.smart_resize(batch, (8, 8), interpolation=interpolation)
    np.testing.assert_allclose(lamina.preprocessing.image.smart_resize(batch, (8, 8), interpolation), want, atol=2e-3)


def test_no_warnings_on_the_happy_path(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = lamina.utils.image_dataset_from_directory(os.fspath(folder), image_size=(4, 4), verbose=False)
        next(iter(ds))
