"""Image preprocessing layers against real Keras 3: seeded draws, deterministic layers, configs, files,
statistics of the random ones, the compiled training loop, and bad input."""

import json

import jax
import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.layers.preprocessing import image_geometry

RNG = np.random.default_rng(3)
X = RNG.uniform(0, 255, (3, 7, 9, 2)).astype("float32")
X_FIRST = np.ascontiguousarray(np.transpose(X, (0, 3, 1, 2)))
INTS = RNG.integers(0, 256, (2, 7, 9, 3)).astype("uint8")


def _both(keras, name, kwargs):
    return getattr(keras.layers, name)(**kwargs), getattr(L, name)(**kwargs)


def _assert_same(ours, theirs, atol, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    assert ours.dtype == theirs.dtype, (what, ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=0, err_msg=what)


# Seeded layers draw Keras's numbers: same outputs call after call, in training and inference, both layouts,
# batches and single images. The affine warps agree to float rounding (atol 1e-3 on 0..255 pixels).
SEEDED = [
    ("RandomFlip", dict(mode="horizontal", seed=3), 0),
    ("RandomFlip", dict(mode="vertical", seed=4), 0),
    ("RandomRotation", dict(factor=0.2, seed=3), 1e-3),
    ("RandomRotation", dict(factor=(-0.1, 0.3), fill_mode="constant", fill_value=7.0, seed=5), 1e-3),
    ("RandomRotation", dict(factor=0.5, fill_mode="wrap", interpolation="nearest", seed=6), 1e-3),
    ("RandomRotation", dict(factor=0.3, fill_mode="nearest", seed=7), 1e-3),
    ("RandomZoom", dict(height_factor=0.3, seed=3), 1e-3),
    ("RandomZoom", dict(height_factor=(-0.5, -0.2), width_factor=(0.1, 0.4), fill_mode="constant", seed=8), 1e-3),
    ("RandomTranslation", dict(height_factor=0.3, width_factor=0.2, seed=3), 1e-3),
    ("RandomTranslation", dict(height_factor=(-0.2, 0.0), width_factor=0.4, interpolation="nearest",
                               fill_mode="wrap", seed=9), 1e-3),
    ("RandomContrast", dict(factor=(0.3, 0.5), seed=3), 1e-3),
    ("RandomBrightness", dict(factor=0.3, seed=3), 0),
    ("RandomBrightness", dict(factor=(-0.6, 0.2), value_range=(0, 1), seed=3), 0),
    ("RandomCrop", dict(height=4, width=5, seed=3), 0),
    ("CenterCrop", dict(height=4, width=5), 0),
    ("CenterCrop", dict(height=9, width=4), 1e-3),  # taller than the image: smart_resize
    ("Resizing", dict(height=4, width=5), 1e-3),
]


#: channels_first runs for one case of each layer.
CASES = [(*case, "channels_last") for case in SEEDED] + [
    (*case, "channels_first") for i, case in enumerate(SEEDED) if case[0] != SEEDED[i - 1][0]]


@pytest.mark.parametrize("name, kwargs, atol, data_format", CASES,
                         ids=[f"{n}-{i}-{f}" for i, (n, _, _, f) in enumerate(CASES)])
def test_seeded_layers_match_keras_call_after_call(keras, name, kwargs, atol, data_format):
    x = X if data_format == "channels_last" else X_FIRST
    theirs, ours = _both(keras, name, {**kwargs, "data_format": data_format})
    for flag in (True, None, True):  # None: no flag given, which is training for these layers in Keras 3
        kwargs = {} if flag is None else {"training": flag}
        _assert_same(ours(x, **kwargs), theirs(x, **kwargs), atol, f"{name} training={flag}")
    _assert_same(ours(x[1], training=True), theirs(x[1], training=True), atol, f"{name} single image")
    if name != "RandomCrop":  # Keras's RandomCrop returns uncropped images in inference (checked below)
        _assert_same(ours(x, training=False), theirs(x, training=False), atol, f"{name} inference")
    assert ours.compute_output_shape((None,) + x.shape[1:]) == tuple(theirs.compute_output_shape((None,) + x.shape[1:]))
    ours_cfg = {k: v for k, v in ours.get_config().items() if k not in ("name", "dtype")}
    theirs_cfg = {k: v for k, v in theirs.get_config().items() if k not in ("name", "dtype")}
    assert json.loads(json.dumps(ours_cfg)) == json.loads(json.dumps(theirs_cfg))


RESIZE_CASES = [(i, {}, size) for i in ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
                for size in ((4, 5), (11, 6))] + [
    (i, options, (11, 6)) for i in ("bilinear", "nearest", "bicubic")
    for options in ({"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 9.0},
                    {"antialias": True})]


@pytest.mark.parametrize("interpolation, options, size", RESIZE_CASES)
def test_resizing_matches_keras_for_every_interpolation(keras, interpolation, options, size):
    kwargs = dict(height=size[0], width=size[1], interpolation=interpolation, **options)
    theirs, ours = _both(keras, "Resizing", kwargs)
    _assert_same(ours(X), theirs(X), 1e-3, str(kwargs))
    _assert_same(ours(INTS), theirs(INTS), 0, f"{kwargs} uint8")  # integer images stay integers, as in Keras


def test_keras_matrices_are_the_ones_lamina_warps_with(keras):
    """Given the same transform, each layer builds Keras's matrix and warps as Keras's ops do."""
    angles = np.array([-30.0, 0.0, 75.0], "float32")
    zooms = np.array([[0.7, 1.3], [1.0, 1.0], [1.6, 0.5]], "float32")  # (width, height) as in Keras
    shifts = np.array([[2.5, -1.0], [0.0, 0.0], [-3.0, 4.25]], "float32")  # (dx, dy)
    n = len(angles)
    theirs = keras.layers.RandomRotation(0.1)._compute_affine_matrix(
        0.5, 0.5, angles, np.zeros(n, "float32"), np.zeros(n, "float32"), np.ones(n, "float32"),
        np.zeros(n, "float32"), np.zeros(n, "float32"), 7, 9)
    ours = image_geometry.rotation_matrices(angles * np.float32(np.pi / 180), 7, 9)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    theirs_zoom = keras.layers.RandomZoom(0.1)._get_zoom_matrix(zooms, 7, 9)
    np.testing.assert_allclose(image_geometry.zoom_matrices(zooms[:, 0], zooms[:, 1], 7, 9), theirs_zoom, atol=1e-6)
    theirs_shift = keras.layers.RandomTranslation(0.1, 0.1)._get_translation_matrix(shifts)
    np.testing.assert_allclose(image_geometry.translation_matrices(shifts[:, 0], shifts[:, 1]), theirs_shift)
    for mode in ("reflect", "wrap", "constant", "nearest"):
        for interpolation in ("bilinear", "nearest"):
            layer = L.RandomRotation(0.1, fill_mode=mode, interpolation=interpolation, fill_value=3.0)
            want = keras.ops.image.affine_transform(X, np.asarray(theirs), interpolation=interpolation,
                                                    fill_mode=mode, fill_value=3.0)
            np.testing.assert_allclose(layer.warp(X, ours), want, atol=1e-3, err_msg=f"{mode} {interpolation}")


@pytest.mark.parametrize("name, kwargs", [
    ("RandomRotation", dict(factor=0.0)), ("RandomZoom", dict(height_factor=0.0, width_factor=0.0)),
    ("RandomTranslation", dict(height_factor=0.0, width_factor=0.0)), ("RandomContrast", dict(factor=0.0)),
    ("RandomBrightness", dict(factor=0.0)), ("RandomCrop", dict(height=7, width=9)),
])
def test_zero_factors_are_identities_in_training(keras, name, kwargs):
    theirs, ours = _both(keras, name, kwargs)
    np.testing.assert_array_equal(ours(X, training=True), X)  # exactly (Keras's contrast is off by rounding)
    np.testing.assert_allclose(theirs(X, training=True), X, atol=1e-4)


def test_random_flip_both_axes_draws_each_flip_independently(keras):
    x = np.arange(2 * 3 * 1, dtype="float32").reshape(1, 2, 3, 1)
    batch = np.repeat(x, 4000, axis=0)
    out = np.asarray(L.RandomFlip(seed=11)(batch, training=True))
    kinds = {"same": x[0], "mirror": x[0, :, ::-1], "upside": x[0, ::-1], "both": x[0, ::-1, ::-1]}
    counts = {k: int(np.all(out == v, axis=(1, 2, 3)).sum()) for k, v in kinds.items()}
    assert sum(counts.values()) == len(batch)
    for k, c in counts.items():
        assert abs(c / len(batch) - 0.25) < 0.03, counts
    # The horizontal decisions are Keras's for the same seed (Keras flips both axes on them).
    theirs = np.asarray(keras.layers.RandomFlip(seed=11)(batch, training=True))
    mirrored = np.all(out == kinds["mirror"], axis=(1, 2, 3)) | np.all(out == kinds["both"], axis=(1, 2, 3))
    np.testing.assert_array_equal(mirrored, np.all(theirs == kinds["both"], axis=(1, 2, 3)))
    horizontal = np.asarray(L.RandomFlip("horizontal", seed=1)(batch, training=True))
    assert abs(np.all(horizontal == kinds["mirror"], axis=(1, 2, 3)).mean() - 0.5) < 0.03


def test_brightness_and_contrast_stay_in_their_ranges_and_are_clipped():
    flat = np.full((2000, 2, 2, 1), 100.0, "float32")
    delta = np.asarray(L.RandomBrightness(0.2, seed=1)(flat, training=True))[:, 0, 0, 0] - 100.0
    assert delta.min() >= -51.0 - 1e-3 and delta.max() <= 51.0 + 1e-3
    assert delta.min() < -45 and delta.max() > 45 and abs(delta.mean()) < 3
    bright = np.asarray(L.RandomBrightness((0.5, 0.9), value_range=(0, 255), seed=2)(flat, training=True))
    assert bright.max() == 255.0 and bright.min() >= 100 + 0.5 * 255 - 1e-3  # clipped at the top
    unit = np.full((500, 2, 2, 1), 0.9, "float32")
    dark = np.asarray(L.RandomBrightness((-1.0, -0.6), value_range=(0, 1), seed=3)(unit, training=True))
    assert dark.min() == 0.0 and 0.25 < dark.max() <= 0.3 + 1e-6  # clipped at the bottom
    # Contrast: c in [1 - f, 1 + f] for a single number (Keras reads it as [1, 1 + f]).
    two = np.broadcast_to(np.array([100.0, 140.0], "float32").reshape(1, 1, 2, 1), (1000, 1, 2, 1)).copy()
    out = np.asarray(L.RandomContrast(0.5, seed=4)(two, training=True))
    c = (out[:, 0, 1, 0] - out[:, 0, 0, 0]) / 40.0
    assert c.min() >= 0.5 - 1e-5 and c.max() <= 1.5 + 1e-5 and c.min() < 0.55 and c.max() > 1.45
    strong = np.asarray(L.RandomContrast((0.0, 1.0), value_range=(0, 150), seed=5)(two, training=True))
    assert strong.max() == 150.0 and strong.min() >= 0.0


def test_random_crop_inference_and_small_images_follow_smart_resize(keras):
    layer = L.RandomCrop(4, 4, seed=1)
    want = keras.preprocessing.image.smart_resize(X, (4, 4))
    np.testing.assert_allclose(layer(X, training=False), want, atol=1e-3)
    big = L.RandomCrop(12, 10, seed=1)
    np.testing.assert_allclose(big(X, training=True), keras.preprocessing.image.smart_resize(X, (12, 10)), atol=1e-3)
    np.testing.assert_allclose(big(X, training=False), keras.preprocessing.image.smart_resize(X, (12, 10)), atol=1e-3)
    same = L.RandomCrop(7, 9)
    np.testing.assert_array_equal(same(X, training=False), X)


def test_random_crop_draws_every_window_position_even_with_one_side_equal():
    x = np.arange(5 * 8, dtype="float32").reshape(1, 5, 8, 1)
    layer = L.RandomCrop(5, 3, seed=2)  # Keras only center-crops here
    corners = {float(np.asarray(layer(x, training=True))[0, 0, 0, 0]) for _ in range(60)}
    assert corners == {float(c) for c in range(6)}


def test_stateless_call_under_jit_advances_the_seed_state():
    layer = L.RandomRotation(0.3, seed=1)
    layer.build(X.shape)
    step = jax.jit(lambda nt, x: layer.stateless_call([], nt, x, training=True))
    state = [v.value for v in layer.non_trainable_variables]
    first, state = step(state, X)
    second, state = step(state, X)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(first, L.RandomRotation(0.3, seed=1)(X, training=True), atol=1e-3)


# ----- models: compiled loop, summary, files --------------------------------------------------------------------


def _augmented_model(lib):
    model = lib.Sequential([
        lib.Input((28, 28, 1)), lib.layers.RandomFlip(seed=1), lib.layers.RandomRotation(0.1, seed=2),
        lib.layers.Conv2D(4, 3, activation="relu"), lib.layers.MaxPooling2D(4), lib.layers.Flatten(),
        lib.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy")
    return model


def test_fit_augments_every_epoch_while_predict_and_evaluate_are_deterministic():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 28, 28, 1)).astype("float32")
    x[:, :, :14] += 1.0  # asymmetric images: a flip changes what the network sees
    y = rng.integers(0, 3, 40)
    model = _augmented_model(lamina)
    seeds = [np.asarray(v.value).copy() for v in model.non_trainable_variables]
    assert len(seeds) == 2
    before = model.predict(x, verbose=0)
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    losses = history.history["loss"]
    # The learning rate is 0: the weights stay, so only the augmentation moves the training loss.
    assert len(set(np.round(losses, 6))) == 3, losses
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    clean = model.evaluate(x, y, verbose=0)
    assert clean == model.evaluate(x, y, verbose=0)
    assert all(abs(clean - loss) > 1e-6 for loss in losses)
    for old, var in zip(seeds, model.non_trainable_variables):
        assert not np.array_equal(old, np.asarray(var.value))  # the seeds advanced inside the compiled loop


def test_program_keys_are_shared_by_rebuilt_models_and_follow_the_arguments():
    from lamina.training.program_key import program_key

    first, again = _augmented_model(lamina), _augmented_model(lamina)
    key = program_key(first, "train", ())
    assert key is not None and key == program_key(again, "train", ())
    other = lamina.Sequential([lamina.Input((28, 28, 1)), L.RandomFlip(seed=1), L.RandomRotation(0.2, seed=2)])
    same = lamina.Sequential([lamina.Input((28, 28, 1)), L.RandomFlip(seed=1), L.RandomRotation(0.1, seed=2)])
    assert program_key(other, "predict", ()) != program_key(same, "predict", ())


def test_summary_shows_the_output_shapes(capsys):
    model = lamina.Sequential([lamina.Input((16, 20, 3)), L.Resizing(12, 12), L.RandomCrop(8, 10),
                               L.CenterCrop(6, 6), L.RandomZoom(0.2)])
    model.summary()
    text = capsys.readouterr().out
    for shape in ("(None, 12, 12, 3)", "(None, 8, 10, 3)", "(None, 6, 6, 3)"):
        assert shape in text
    assert model.output_shape == (None, 6, 6, 3)


ALL_LAYERS = [
    ("RandomFlip", dict(mode="horizontal", seed=1)), ("RandomRotation", dict(factor=0.1, fill_mode="constant")),
    ("RandomZoom", dict(height_factor=0.2, width_factor=(-0.1, 0.3))),
    ("RandomTranslation", dict(height_factor=0.1, width_factor=0.2, interpolation="nearest")),
    ("RandomContrast", dict(factor=(0.2, 0.4), value_range=(0, 1))), ("RandomBrightness", dict(factor=0.2)),
    ("Resizing", dict(height=10, width=10, crop_to_aspect_ratio=True)), ("CenterCrop", dict(height=8, width=8)),
]


def _file_model(lib):
    layers = [getattr(lib.layers, name)(**kwargs) for name, kwargs in ALL_LAYERS]
    return lib.Sequential([lib.Input((12, 14, 2))] + layers + [lib.layers.Conv2D(2, 3), lib.layers.Flatten()])


def test_keras_files_move_both_ways(keras, tmp_path):
    x = RNG.uniform(0, 1, (2, 12, 14, 2)).astype("float32")
    ours = _file_model(lamina)
    ours.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), ours.predict(x, verbose=0), atol=1e-5)
    assert [type(layer).__name__ for layer in theirs.layers][:len(ALL_LAYERS)] == [n for n, _ in ALL_LAYERS]
    keras_model = _file_model(keras)
    keras_model.save(tmp_path / "theirs.keras")
    back = lamina.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), keras_model.predict(x, verbose=0), atol=1e-5)
    for ours_layer, their_layer in zip(back.layers, keras_model.layers):
        mine = {k: v for k, v in ours_layer.get_config().items() if k not in ("name", "dtype")}
        other = {k: v for k, v in their_layer.get_config().items() if k not in ("name", "dtype")}
        assert json.loads(json.dumps(mine)) == json.loads(json.dumps(other)), type(ours_layer).__name__


def test_random_crop_files_move_both_ways(keras, tmp_path):
    model = lamina.Sequential([lamina.Input((12, 14, 2)), L.RandomCrop(8, 9, seed=4)])
    model.save(tmp_path / "crop.keras")
    theirs = keras.saving.load_model(tmp_path / "crop.keras")
    assert theirs.layers[0].get_config()["seed"] == 4 and theirs.output_shape == (None, 8, 9, 2)
    keras.Sequential([keras.Input((12, 14, 2)), keras.layers.RandomCrop(8, 9)]).save(tmp_path / "k.keras")
    back = lamina.models.load_model(tmp_path / "k.keras")
    assert back.output_shape == (None, 8, 9, 2)
    assert back.predict(np.zeros((1, 12, 14, 2), "float32"), verbose=0).shape == (1, 8, 9, 2)


# ----- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [L.RandomFlip(), L.RandomRotation(0.1), L.RandomContrast(0.1), L.Resizing(3, 3),
                                   L.CenterCrop(2, 2), L.RandomCrop(2, 2)], ids=lambda layer: type(layer).__name__)
@pytest.mark.parametrize("shape", [(4, 5), (2, 4, 5, 3, 1)])
def test_wrong_rank_names_the_layer(layer, shape):
    with pytest.raises(ValueError, match=rf"{layer.name}.*rank") as err:
        layer(np.zeros(shape, "float32"))
    assert "rank" in str(err.value) and str(shape).replace(" ", "").rstrip(")") in str(err.value).replace(" ", "")


def test_a_batch_without_a_channels_axis_is_refused_when_the_model_is_built():
    with pytest.raises(ValueError, match=r"'random_rotation.*' \(RandomRotation\) expects a batch of images "
                                         r"\(batch, height, width, channels\).*\(None, 28, 28\).*"
                                         r"Input\(shape=\(28, 28, 1\)\)"):
        lamina.Sequential([lamina.Input((28, 28)), L.RandomRotation(0.1)])


@pytest.mark.parametrize("build, message", [
    (lambda: L.RandomRotation(1.5), r"RandomRotation: `factor` must lie in \[-1.0, 1.0\], got factor=1.5"),
    (lambda: L.RandomRotation((0.1, 0.2, 0.3)), "RandomRotation: `factor` must be a number or a pair"),
    (lambda: L.RandomRotation("big"), "RandomRotation: `factor` must be a number"),
    (lambda: L.RandomZoom(-1.0), r"RandomZoom: `height_factor` must lie in \(-1.0, 1.0\]"),
    (lambda: L.RandomZoom(0.2, width_factor=(0.1, 2.0)), "RandomZoom: `width_factor` must lie"),
    (lambda: L.RandomTranslation(0.1, None), "RandomTranslation: `width_factor` must be"),
    (lambda: L.RandomTranslation(1.2, 0.1), "RandomTranslation: `height_factor` must lie"),
    (lambda: L.RandomContrast(-0.2), r"RandomContrast: `factor` must lie in \[0.0, 1.0\]"),
    (lambda: L.RandomContrast(0.2, value_range=(1, 1)), "RandomContrast: `value_range` must span"),
    (lambda: L.RandomBrightness(0.2, value_range=5), "RandomBrightness: `value_range` must be a pair"),
    (lambda: L.RandomBrightness(2), "RandomBrightness: `factor` must lie"),
    (lambda: L.RandomFlip("diagonal"), "RandomFlip: `mode` must be"),
    (lambda: L.RandomRotation(0.1, fill_mode="mirror"), "RandomRotation: `fill_mode` must be one of"),
    (lambda: L.RandomZoom(0.1, interpolation="bicubic"), "RandomZoom: `interpolation` must be"),
    (lambda: L.Resizing(0, 4), "Resizing: `height` must be a positive integer"),
    (lambda: L.Resizing(4, 4, interpolation="cubic"), "Resizing: `interpolation` must be one of"),
    (lambda: L.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Resizing: give only one"),
    (lambda: L.CenterCrop(4, 2.5), "CenterCrop: `width` must be a positive integer"),
    (lambda: L.RandomCrop(4, 4, seed="x"), "RandomCrop: `seed` must be an int"),
    (lambda: L.RandomFlip(data_format="nhwc"), "RandomFlip: `data_format` must be"),
])
def test_bad_arguments_are_refused_with_the_layer_and_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()
