"""The legacy image transforms of `ImageDataGenerator` on one image: affine warps (rotation, shift, shear,
zoom) with `scipy.ndimage.affine_transform`, channel shifts, brightness (Pillow's `ImageEnhance`), flips.

Same matrices, interpolation and fill as Keras's `keras.src.legacy.preprocessing.image` functions, so a
transform with the same parameters gives the same pixels. `row_axis`, `col_axis`, `channel_axis` index
a single (3-D) image.
"""

import numpy as np

from lamina.utils import image_utils

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _scipy_ndimage():
    try:
        from scipy import ndimage
    except ImportError:
        raise ImportError("ImageDataGenerator's rotations, shifts, shears and zooms use SciPy, which is not "
                          'installed. Install the `images` extra: pip install "lamina[images]" (or pip install '
                          "scipy).") from None
    return ndimage


def flip_axis(x, axis):
    """`x` reversed along `axis`."""
    return np.flip(np.asarray(x), axis)


def transform_matrix_offset_center(matrix, x, y):
    """`matrix` (3x3, in pixel units) conjugated so that it acts about the centre of an x-by-y image."""
    o_x, o_y = float(x) / 2 - 0.5, float(y) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def affine_matrix(theta=0, tx=0, ty=0, shear=0, zx=1, zy=1):
    """The 3x3 map from output to input pixel coordinates in (x, y) = (column, row) order, or None for the
    identity.

    theta and shear in degrees; tx/ty shifts in pixels along x (columns) / y (rows) of the image; zx/zy zoom
    factors (> 1 zooms out) along x / y.
    """
    parts = []
    if theta != 0:
        t = np.deg2rad(theta)
        parts.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]))
    if tx != 0 or ty != 0:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not parts:
        return None
    matrix = parts[0]
    for part in parts[1:]:
        matrix = matrix @ part
    return matrix


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2, channel_axis=0,
                           fill_mode="nearest", cval=0.0, order=1):
    """Rotate/shift/shear/zoom one 3-D image about its centre (Keras's function of the same name).

    fill_mode: "constant" (with `cval`), "nearest", "reflect" or "wrap"; order: spline order (0 nearest,
    1 bilinear).
    """
    x = np.asarray(x)
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2]:
        raise ValueError(f"apply_affine_transform: row_axis, col_axis and channel_axis must be 0, 1 and 2 in some "
                         f"order, got {row_axis}, {col_axis}, {channel_axis}.")
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: expected one multi-channel 2-D image (rank 3), got shape {x.shape}.")
    if channel_axis not in (0, 2):
        raise ValueError(f"apply_affine_transform: channels must be the first or last axis, got channel_axis="
                         f"{channel_axis}.")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"apply_affine_transform: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}.")
    matrix = affine_matrix(theta, tx, ty, shear, zx, zy)
    if matrix is None:
        return x
    ndimage = _scipy_ndimage()
    matrix = transform_matrix_offset_center(matrix, x.shape[row_axis], x.shape[col_axis])
    channels = np.moveaxis(x, channel_axis, 0)
    if col_axis > row_axis:  # the matrix is in (row, col) order; scipy indexes the 2-D slices (row, col) too
        matrix[:, [0, 1]] = matrix[:, [1, 0]]
        matrix[[0, 1]] = matrix[[1, 0]]
    out = np.stack([ndimage.affine_transform(c, matrix[:2, :2], matrix[:2, 2], order=order, mode=fill_mode,
                                             cval=cval) for c in channels])
    return np.moveaxis(out, 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add `intensity` to every channel, clipped to the image's original min and max."""
    x = np.asarray(x)
    low, high = np.min(x), np.max(x)
    return np.clip(x + intensity, low, high)


def apply_brightness_shift(x, brightness, scale=True, data_format=None):
    """Scale brightness by `brightness` with Pillow's `ImageEnhance.Brightness` (the image passes through
    8-bit RGB, as in Keras; with scale=False values outside [0, 255] are mapped back to their range).
    `data_format` says where the channels are (Keras assumes the global setting, which breaks
    channels-first generators)."""
    from PIL import ImageEnhance

    low, high = np.min(x), np.max(x)
    local_scale = (low < 0) or (high > 255)
    img = image_utils.array_to_img(x, data_format=data_format, scale=local_scale or scale)
    out = image_utils.img_to_array(ImageEnhance.Brightness(img).enhance(brightness), data_format=data_format)
    if not scale and local_scale:
        out = out / 255 * (high - low) + low
    return out


def _rng(seed_or_rng):
    return seed_or_rng if seed_or_rng is not None else np.random


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                    interpolation_order=1, rng=None):
    """A rotation by a uniform angle in [-rg, rg] degrees."""
    theta = _rng(rng).uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1, rng=None):
    """A shift by uniform fractions of the height (hrg, along rows) and width (wrg, along columns)."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    ty = _rng(rng).uniform(-hrg, hrg) * h  # apply_affine_transform's ty moves rows, tx columns
    tx = _rng(rng).uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1, rng=None):
    """A shear by a uniform angle in [-intensity, intensity] degrees."""
    shear = _rng(rng).uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                interpolation_order=1, rng=None):
    """A zoom by factors drawn uniformly from zoom_range = (low, high), independently per axis."""
    if len(zoom_range) != 2:
        raise ValueError(f"random_zoom: zoom_range must be a tuple or list of two floats, got {zoom_range!r}.")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = _rng(rng).uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
                                  fill_mode=fill_mode, cval=cval, order=interpolation_order)


def random_channel_shift(x, intensity_range, channel_axis=0, rng=None):
    return apply_channel_shift(x, _rng(rng).uniform(-intensity_range, intensity_range), channel_axis)


def random_brightness(x, brightness_range, scale=True, rng=None):
    if len(brightness_range) != 2:
        raise ValueError(f"random_brightness: brightness_range must be a tuple or list of two floats, got "
                         f"{brightness_range!r}.")
    return apply_brightness_shift(x, _rng(rng).uniform(brightness_range[0], brightness_range[1]), scale)
