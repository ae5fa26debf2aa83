"""`lamina.preprocessing.image.ImageDataGenerator` against Keras's legacy one
(`keras.src.legacy.preprocessing.image`, which runs on NumPy, SciPy and Pillow): the same batches for the
same seed, order, labels and attributes; the statistics of the random transforms; `fit` taking its
iterators; the deprecated `fit_generator` family."""

import warnings

import numpy as np
import pytest

pytest.importorskip("PIL")
pytest.importorskip("scipy")
from PIL import Image  # noqa: E402

import lamina  # noqa: E402
from lamina.preprocessing import image as limage  # noqa: E402

# Everything but the shifts, which lamina applies along their own axes (Keras swaps them; see
# test_shifts_move_their_own_axis).
AUGMENT = dict(rotation_range=30, shear_range=10, zoom_range=0.2, horizontal_flip=True, vertical_flip=True,
               channel_shift_range=20.0, brightness_range=(0.6, 1.4), rescale=1 / 255.0, fill_mode="reflect")
SHIFTS = dict(width_shift_range=0.2, height_shift_range=3)


@pytest.fixture(scope="module")
def kimage(keras):
    from keras.src.legacy.preprocessing import image

    return image


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (10, 9, 11, 3)).astype(np.float32), np.arange(10) % 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    rng = np.random.default_rng(1)
    for name, count in (("b_dogs", 6), ("a_cats", 5), ("c_fish", 4)):
        (root / name / "deeper").mkdir(parents=True)
        for i in range(count):
            where = root / name / ("deeper" if i == 1 else "") / f"{i}.{['png', 'jpg', 'bmp'][i % 3]}"
            Image.fromarray(rng.integers(0, 256, (10 + i, 14, 3), dtype=np.uint8)).save(where)
        (root / name / "readme.txt").write_text("skip me")
    return root


def _same_batches(a, b):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert np.asarray(u).dtype == np.asarray(v).dtype
        np.testing.assert_allclose(u, v, atol=1e-5, rtol=0)


# ----- flow(x, y): Keras's batches ------------------------------------------------------------------------

@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flow_seeded_equals_keras_pixel_for_pixel(kimage, arrays, data_format):
    x, y = arrays
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    kw = dict(AUGMENT, data_format=data_format)
    if data_format == "channels_first":
        kw.pop("brightness_range")  # Keras's brightness shift assumes channels last and fails here
    k_it = kimage.ImageDataGenerator(**kw).flow(x, y, batch_size=4, seed=5)
    l_it = limage.ImageDataGenerator(**kw).flow(x, y, batch_size=4, seed=5)
    assert len(l_it) == len(k_it) == 3
    state = np.random.get_state()[1].copy()
    for _ in range(2):  # two epochs through __getitem__, as fit reads a Sequence
        for i in range(len(k_it)):
            _same_batches(l_it[i], k_it[i])
        k_it.on_epoch_end()
        l_it.on_epoch_end()
    for _ in range(4):  # then the endless next()
        _same_batches(next(l_it), next(k_it))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    l_it[0]
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # a seeded lamina iterator leaves NumPy's state


def test_brightness_channels_first_equals_channels_last(arrays):
    x, y = arrays
    kw = dict(brightness_range=(0.5, 1.5), horizontal_flip=True)
    last = limage.ImageDataGenerator(**kw).flow(x, y, batch_size=5, seed=1)[0][0]
    first = limage.ImageDataGenerator(data_format="channels_first", **kw).flow(
        x.transpose(0, 3, 1, 2), y, batch_size=5, seed=1)[0][0]
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), atol=1e-4)


def test_shifts_move_their_own_axis(kimage, arrays):
    """Keras's height_shift_range shifts sideways (its `tx`, drawn from the height range, moves columns);
    lamina draws the same numbers and moves each along its own axis."""
    x, _ = arrays
    kg, lg = kimage.ImageDataGenerator(**SHIFTS, **AUGMENT), limage.ImageDataGenerator(**SHIFTS, **AUGMENT)
    for seed in range(4):
        want, got = kg.get_random_transform(x[0].shape, seed=seed), lg.get_random_transform(x[0].shape, seed=seed)
        assert (got["tx"], got["ty"]) == (want["ty"], want["tx"])
        assert all(np.allclose(got[k], want[k]) for k in want if k not in ("tx", "ty") and want[k] is not None)
        np.testing.assert_allclose(lg.apply_transform(x[0], got), kg.apply_transform(x[0], got), atol=1e-4)
    dot = np.zeros((9, 13, 1), np.float32)
    dot[4, 6] = 1.0
    for kw, axis in ((dict(height_shift_range=[2]), 0), (dict(width_shift_range=[3]), 1)):
        moved = limage.ImageDataGenerator(fill_mode="constant", **kw).random_transform(dot, seed=0)
        r, c = np.argwhere(moved[..., 0])[0]
        assert (abs(r - 4), abs(c - 6)) == ((2, 0) if axis == 0 else (0, 3))

def test_flow_without_shuffle_is_keras_batching(kimage, arrays):
    x, y = arrays
    w = np.linspace(0.5, 1.5, 10)
    k_it = kimage.ImageDataGenerator(rescale=0.5).flow(x, y, batch_size=4, shuffle=False, sample_weight=w)
    l_it = limage.ImageDataGenerator(rescale=0.5).flow(x, y, batch_size=4, shuffle=False, sample_weight=w)
    for i in range(3):
        _same_batches(l_it[i], k_it[i])
        np.testing.assert_array_equal(l_it[i][0], x[4 * i:4 * i + 4] * 0.5)
    assert l_it[2][0].shape[0] == 2
    only_x = limage.ImageDataGenerator().flow(x, batch_size=3, shuffle=False)
    np.testing.assert_array_equal(only_x[1], x[3:6])  # no y: batches of images alone
    extra = np.arange(10.0)[:, None]
    both = limage.ImageDataGenerator().flow((x, extra), y, batch_size=5, shuffle=False)
    inputs, labels = both[1]
    np.testing.assert_array_equal(inputs[1], extra[5:])
    np.testing.assert_array_equal(labels, y[5:])


def test_zero_range_generator_is_the_identity(arrays):
    x, y = arrays
    it = limage.ImageDataGenerator().flow(x, y, batch_size=10, shuffle=True, seed=3)
    images, labels = it[0]
    # shuffled, but every image is one of x unchanged and paired with its own label
    for image, label in zip(images, labels):
        match = [i for i in range(10) if np.array_equal(x[i], image)]
        assert len(match) == 1 and y[match[0]] == label


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_flow_validation_split_matches_keras(kimage, arrays, subset):
    x, _ = arrays
    y = np.array([0, 1] * 5)
    k_it = kimage.ImageDataGenerator(validation_split=0.3).flow(x, y, batch_size=4, shuffle=False, subset=subset)
    l_it = limage.ImageDataGenerator(validation_split=0.3).flow(x, y, batch_size=4, shuffle=False, subset=subset)
    assert l_it.n == k_it.n and len(l_it) == len(k_it)
    for i in range(len(k_it)):
        _same_batches(l_it[i], k_it[i])
    with pytest.raises(ValueError, match="different classes"):
        limage.ImageDataGenerator(validation_split=0.3).flow(x, np.sort(y), subset=subset)


def test_featurewise_and_samplewise_match_keras(kimage, arrays):
    x, y = arrays
    kw = dict(featurewise_center=True, featurewise_std_normalization=True, samplewise_center=True, rescale=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kg, lg = kimage.ImageDataGenerator(**kw), limage.ImageDataGenerator(**kw)
    kg.fit(x)
    lg.fit(x)
    np.testing.assert_allclose(lg.mean, kg.mean, rtol=1e-6)
    np.testing.assert_allclose(lg.std, kg.std, rtol=1e-6)
    _same_batches(lg.flow(x, y, shuffle=False)[0], kg.flow(x, y, shuffle=False)[0])
    zk, zl = kimage.ImageDataGenerator(zca_whitening=True), limage.ImageDataGenerator(zca_whitening=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zk.fit(x[:, :4, :4])
    zl.fit(x[:, :4, :4])
    np.testing.assert_allclose(zl.standardize(x[0, :4, :4]), zk.standardize(x[0, :4, :4].copy()), atol=1e-3)
    unfit = limage.ImageDataGenerator(featurewise_center=True)
    with pytest.raises(ValueError, match=r"call datagen.fit\(x_train\) first"):
        unfit.flow(x, y)
    kept = x.copy()
    limage.ImageDataGenerator(rescale=2.0).standardize(x)
    np.testing.assert_array_equal(x, kept)  # standardize does not change its argument (Keras's does)


# ----- the random transforms ------------------------------------------------------------------------------

def test_get_random_transform_and_fit_augment_match_keras(kimage, arrays):
    x, _ = arrays
    kg, lg = kimage.ImageDataGenerator(**AUGMENT), limage.ImageDataGenerator(**AUGMENT)
    for seed in (0, 1, 2):
        want, got = kg.get_random_transform(x[0].shape, seed=seed), lg.get_random_transform(x[0].shape, seed=seed)
        assert want.keys() == got.keys()
        for key in want:
            assert np.allclose(np.asarray(got[key], float), np.asarray(want[key], float)), key
        np.testing.assert_allclose(lg.random_transform(x[0], seed=seed), kg.random_transform(x[0], seed=seed),
                                   atol=1e-4)
    fk = kimage.ImageDataGenerator(featurewise_center=True, rotation_range=20, horizontal_flip=True)
    fl = limage.ImageDataGenerator(featurewise_center=True, rotation_range=20, horizontal_flip=True)
    fk.fit(x, augment=True, rounds=2, seed=4)
    fl.fit(x, augment=True, rounds=2, seed=4)
    np.testing.assert_allclose(fl.mean, fk.mean, rtol=1e-5)


def test_flips_happen_half_the_time():
    image = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)  # no symmetry: every flip is visible
    x = np.repeat(image[None], 2000, axis=0)
    for kwargs, flipped in ((dict(horizontal_flip=True), image[:, ::-1]), (dict(vertical_flip=True), image[::-1])):
        images = limage.ImageDataGenerator(**kwargs).flow(x, batch_size=2000, shuffle=False, seed=0)[0]
        is_flipped = np.all(images == flipped[None], axis=(1, 2, 3))
        is_same = np.all(images == image[None], axis=(1, 2, 3))
        assert np.all(is_flipped | is_same)
        assert 0.45 < is_flipped.mean() < 0.55  # binomial(2000, 1/2): 4.5 standard deviations


def test_transform_ranges_and_geometry():
    gen = limage.ImageDataGenerator(rotation_range=40, width_shift_range=0.25, height_shift_range=[2, 4],
                                    zoom_range=[0.8, 1.3], shear_range=5)
    rng = np.random.RandomState(0)
    draws = [gen._draw_transform((20, 30, 3), rng) for _ in range(3000)]
    theta = np.array([d["theta"] for d in draws])
    assert theta.min() >= -40 and theta.max() <= 40 and abs(theta.mean()) < 2 and theta.std() > 20
    tx = np.array([d["tx"] for d in draws])  # along the width (30 pixels)
    assert np.abs(tx).max() <= 0.25 * 30 and abs(tx.mean()) < 0.5 and np.abs(tx).max() > 0.2 * 30
    assert set(np.unique([d["ty"] for d in draws])) == {-4, -2, 2, 4}
    zoom = np.array([[d["zx"], d["zy"]] for d in draws])
    assert zoom.min() >= 0.8 and zoom.max() <= 1.3 and not np.allclose(zoom[:, 0], zoom[:, 1])
    # a pure shift moves the picture by whole pixels (rows: tx, cols: ty)
    image = np.zeros((7, 7, 1), np.float32)
    image[3, 3] = 1.0
    moved = limage.ImageDataGenerator(fill_mode="constant").apply_transform(image, {"tx": 2, "ty": -1})
    assert moved[4, 1, 0] == 1.0 and moved.sum() == 1.0  # output(row, col) = input(row + ty, col + tx)
    turned = limage.apply_affine_transform(image, theta=90, channel_axis=2, row_axis=0, col_axis=1)
    np.testing.assert_allclose(turned, image, atol=1e-6)  # the centre pixel stays under a quarter turn


# ----- flow_from_directory: Keras's listing and batches --------------------------------------------------

@pytest.mark.parametrize("class_mode", ["categorical", "binary", "sparse", "input", None])
def test_flow_from_directory_matches_keras(kimage, folder, class_mode, capsys):
    kw = dict(target_size=(8, 10), class_mode=class_mode, batch_size=4, shuffle=True, seed=9)
    classes = ["a_cats", "c_fish"] if class_mode == "binary" else None
    gen_kw = dict(rescale=1 / 255.0, horizontal_flip=True, rotation_range=10)
    k_it = kimage.ImageDataGenerator(**gen_kw).flow_from_directory(str(folder), classes=classes, **kw)
    capsys.readouterr()
    l_it = limage.ImageDataGenerator(**gen_kw).flow_from_directory(folder, classes=classes, **kw)
    n = 9 if classes else 15
    assert capsys.readouterr().out.strip() == f"Found {n} images belonging to {2 if classes else 3} classes."
    assert l_it.samples == k_it.samples == n and len(l_it) == len(k_it)
    assert l_it.class_indices == k_it.class_indices and l_it.filenames == k_it.filenames
    assert l_it.filepaths == k_it.filepaths and l_it.image_shape == k_it.image_shape
    np.testing.assert_array_equal(l_it.classes, k_it.classes)
    for i in range(len(k_it)):
        _same_batches(l_it[i], k_it[i])


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_flow_from_directory_subset_color_and_format_match_keras(kimage, folder, subset):
    for color_mode, data_format in (("grayscale", "channels_last"), ("rgba", "channels_first")):
        kw = dict(target_size=(6, 6), color_mode=color_mode, batch_size=3, shuffle=False, subset=subset,
                  interpolation="bilinear", keep_aspect_ratio=True)
        k_it = kimage.ImageDataGenerator(validation_split=0.4, data_format=data_format).flow_from_directory(
            str(folder), **kw)
        l_it = limage.ImageDataGenerator(validation_split=0.4, data_format=data_format).flow_from_directory(
            folder, **kw)
        assert l_it.filenames == k_it.filenames and len(l_it) == len(k_it)
        for i in range(len(k_it)):
            _same_batches(l_it[i], k_it[i])


# ----- fit takes the iterators; the deprecated generator methods -------------------------------------------

def _small_cnn(shape, classes):
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input(shape), lamina.layers.Conv2D(4, 3, activation="relu"),
                               lamina.layers.GlobalAveragePooling2D(), lamina.layers.Dense(classes)])
    model.compile(optimizer="adam", loss=lamina.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_fit_on_flow_and_flow_from_directory(folder, arrays):
    x, y = arrays
    gen = limage.ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True, width_shift_range=0.1,
                                    validation_split=0.3)
    model = _small_cnn((8, 8, 3), 3)
    train = gen.flow_from_directory(folder, target_size=(8, 8), batch_size=4, seed=1, subset="training")
    val = gen.flow_from_directory(folder, target_size=(8, 8), batch_size=4, seed=1, subset="validation")
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    assert model.predict(val, verbose=0).shape == (val.samples, 3)
    model = _small_cnn((9, 11, 3), 3)
    flow = limage.ImageDataGenerator(rotation_range=15, rescale=1 / 255.0).flow(
        x, lamina.utils.to_categorical(y, 3), batch_size=4, seed=2)
    history = model.fit(flow, steps_per_epoch=len(flow), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.warns(UserWarning, match="each epoch runs its 3 batches"):  # Keras 3 also stops at len()
        model.fit(flow, steps_per_epoch=5, epochs=1, verbose=0)


def test_fit_generator_family_warns_and_forwards(arrays):
    x, y = arrays
    flow = limage.ImageDataGenerator(rescale=1 / 255.0).flow(x, lamina.utils.to_categorical(y, 3), batch_size=5,
                                                             shuffle=False)
    model = _small_cnn((9, 11, 3), 3)
    with pytest.warns(DeprecationWarning, match="use Model.fit"):
        history = model.fit_generator(flow, steps_per_epoch=2, epochs=2, verbose=0, workers=4,
                                      use_multiprocessing=True)
    assert len(history.history["loss"]) == 2
    with pytest.warns(DeprecationWarning, match="use Model.evaluate"):
        via_generator = model.evaluate_generator(flow)
    np.testing.assert_allclose(via_generator, model.evaluate(flow, verbose=0), rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="use Model.predict"):
        out = model.predict_generator(flow, steps=1)
    assert out.shape == (5, 3)


# ----- bad input ------------------------------------------------------------------------------------------

def test_bad_input(folder, arrays, tmp_path):
    x, y = arrays
    gen = limage.ImageDataGenerator()
    with pytest.raises(ValueError, match="rank-4"):
        gen.flow(x[0], y[:9])
    with pytest.raises(ValueError, match="same length"):
        gen.flow(x, y[:5])
    with pytest.raises(ValueError, match="needs ImageDataGenerator\\(validation_split"):
        gen.flow(x, y, subset="training")
    with pytest.raises(ValueError, match="subset must be"):
        limage.ImageDataGenerator(validation_split=0.2).flow(x, y, subset="test")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        gen.flow(x, y, batch_size=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gen.flow_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        gen.flow_from_directory(tmp_path / "empty")
    with pytest.raises(ValueError, match="exactly 2 class folders"):
        gen.flow_from_directory(folder, class_mode="binary")
    with pytest.raises(ValueError, match="class_mode must be"):
        gen.flow_from_directory(folder, class_mode="multi")
    with pytest.raises(ValueError, match="not sub-directories"):
        gen.flow_from_directory(folder, classes=["a_cats", "zebras"])
    with pytest.raises(ValueError, match="zoom_range"):
        limage.ImageDataGenerator(zoom_range=(0.1, 0.2, 0.3))
    with pytest.raises(ValueError, match="fill_mode"):
        limage.ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="validation_split"):
        limage.ImageDataGenerator(validation_split=1.0)
    with pytest.raises(ValueError, match="brightness_range"):
        limage.ImageDataGenerator(brightness_range=0.5)
    with pytest.raises(IndexError, match="out of range"):
        gen.flow(x, y, batch_size=4)[3]


def test_keras_names():
    assert lamina.preprocessing.image.ImageDataGenerator is limage.ImageDataGenerator
    assert lamina.preprocessing.image_dataset_from_directory is lamina.utils.image_dataset_from_directory
    for name in ("load_img", "img_to_array", "array_to_img", "save_img"):
        assert getattr(limage, name) is getattr(lamina.utils, name)


def test_signatures_match_keras(keras, kimage):
    import inspect

    def params(f):
        return [(name, p.default) for name, p in inspect.signature(f).parameters.items()]

    for method in ("__init__", "flow", "flow_from_directory", "fit", "get_random_transform", "apply_transform",
                   "standardize", "random_transform"):
        assert params(getattr(limage.ImageDataGenerator, method)) == params(getattr(kimage.ImageDataGenerator,
                                                                                    method)), method
    for name in ("image_dataset_from_directory", "load_img", "img_to_array", "array_to_img", "save_img"):
        assert params(getattr(lamina.utils, name)) == params(getattr(keras.utils, name)), name
    for name in ("apply_affine_transform", "apply_channel_shift", "random_rotation", "random_shift", "random_zoom"):
        keras_params = params(getattr(kimage, name))
        assert params(getattr(limage, name))[:len(keras_params)] == keras_params, name
