"""Images as files and arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img` (Keras 3's
names and semantics, decoded with Pillow) and `resize_image`, a NumPy resize that gives what
`keras.ops.image.resize` gives on JAX (no antialiasing) without compiling a program per image size.

Pillow is the optional extra `images` (`pip install "lamina[images]"`); every entry point that needs
it says so when it is missing.
"""

import io
import pathlib
import warnings

import numpy as np

from lamina.backend import config

PIL_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")
COLOR_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def pil_image(what="this function"):
    """The `PIL.Image` module, or an ImportError naming the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{what} decodes images with Pillow, which is not installed. Install the `images` "
                          'extra: pip install "lamina[images]" (or pip install pillow).') from None
    return Image


def _pil_resample(Image, interpolation):
    if interpolation not in PIL_INTERPOLATIONS:
        raise ValueError(f"load_img: interpolation={interpolation!r} is not supported; expected one of "
                         f"{', '.join(PIL_INTERPOLATIONS)}.")
    return getattr(Image.Resampling, interpolation.upper())


def check_color_mode(color_mode, where):
    if color_mode not in COLOR_CHANNELS:
        raise ValueError(f'{where}: color_mode must be "grayscale", "rgb" or "rgba", got {color_mode!r}.')
    return COLOR_CHANNELS[color_mode]


def convert_mode(img, color_mode):
    """A PIL image converted to `color_mode` (grayscale keeps 16/32-bit gray images as they are, like Keras)."""
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    target = color_mode.upper()
    return img if img.mode == target else img.convert(target)


def open_image(path, what="load_img"):
    """A PIL image read fully into memory from a path or a file-like object (the file is closed at once)."""
    Image = pil_image(what)
    if isinstance(path, io.IOBase):
        return Image.open(path)
    if not isinstance(path, (str, bytes, pathlib.Path)):
        raise TypeError(f"{what}: path should be a str, bytes, pathlib.Path or io.BytesIO, got {type(path).__name__}.")
    path = pathlib.Path(path.decode() if isinstance(path, bytes) else path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no image file at {str(path)!r}.")
    data = path.read_bytes()
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as error:  # Pillow raises UnidentifiedImageError, OSError, SyntaxError ...
        raise ValueError(f"{what}: could not decode {str(path)!r} as an image ({error}).") from None
    return img


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """Load an image file into a PIL image (Keras's `keras.utils.load_img`).

    Args:
        path: a path (str, bytes, `pathlib.Path`) or an `io.BytesIO`.
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: None (keep the size) or `(height, width)`.
        interpolation: Pillow's resampling, one of "nearest", "bilinear", "bicubic", "hamming", "box",
            "lanczos" (Pillow resizes with antialiasing, as in Keras).
        keep_aspect_ratio: crop the largest centred box with the target's aspect ratio before resizing.
    """
    check_color_mode(color_mode, "load_img")
    if target_size is not None:
        target_size = _check_size(target_size, "load_img", "target_size")
    img = convert_mode(open_image(path, "load_img"), color_mode)
    if target_size is None:
        return img
    width_height = (target_size[1], target_size[0])
    if img.size == width_height:
        return img
    resample = _pil_resample(pil_image(), interpolation)
    if not keep_aspect_ratio:
        return img.resize(width_height, resample)
    width, height = img.size
    crop_height = min(height, (width * target_size[0]) // target_size[1])
    crop_width = min(width, (height * target_size[1]) // target_size[0])
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return img.resize(width_height, resample, box=[left, top, left + crop_width, top + crop_height])


def _check_size(size, where, name):
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size)):
        raise ValueError(f"{where}: {name} must be a tuple of two positive integers (height, width), got {size!r}.")
    return int(size[0]), int(size[1])


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or anything NumPy reads) as a 3-D array: (height, width, channels), or
    (channels, height, width) with data_format="channels_first". dtype defaults to `floatx()`."""
    data_format = config.standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape}; expected (height, width) or "
                         "(height, width, channels).")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array as a PIL image (Keras's `keras.utils.array_to_img`).

    scale=True maps the array's minimum to 0 and maximum to 255 first; 1 channel gives mode "L" (or
    32-bit "I" when values exceed 255), 3 "RGB", 4 "RGBA".
    """
    Image = pil_image("array_to_img")
    data_format = config.standardize_data_format(data_format)
    x = np.array(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected a rank-3 array (a single image), got shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported number of channels {channels}; expected 1, 3 or 4.")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an array as an image file (format from the file name's suffix unless `file_format` is given);
    extra keyword arguments go to `PIL.Image.save`. An RGBA image saved as JPEG is converted to RGB with a
    warning, as in Keras."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# Resizing arrays (what keras.ops.image.resize gives with antialias=False).


def _triangle(x):
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x):  # Keys' cubic convolution kernel with a = -0.5
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi ** 2 * x ** 2)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))
    return kernel


_KERNELS = {"bilinear": (_triangle, 1), "bicubic": (_keys_cubic, 2), "lanczos3": (_lanczos(3), 3),
            "lanczos5": (_lanczos(5), 5)}


def _taps(in_size, out_size, kernel, radius):
    """(indices, weights), each [out_size, 2 * radius]: the input pixels each output pixel reads and their
    weights. Output pixel centres map back into the input with half-pixel centres; the weights are normalised
    to sum to 1 over the pixels inside the input, and zero for a centre outside it (jax.image.resize's rule)."""
    centre = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    index = np.floor(centre).astype(np.int64)[:, None] + np.arange(1 - radius, radius + 1)[None, :]
    weight = np.where((index >= 0) & (index < in_size), kernel(np.abs(centre[:, None] - index)), 0.0)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps, weight / np.where(total != 0, total, 1), 0.0)
    inside = (centre >= -0.5) & (centre <= in_size - 0.5)
    return np.clip(index, 0, in_size - 1), np.where(inside[:, None], weight, 0.0).astype(np.float32)


def _resample(image, axis, out_size, kernel, radius):
    index, weight = _taps(image.shape[axis], out_size, kernel, radius)
    shape = [1] * image.ndim
    shape[axis] = out_size
    out = np.zeros(image.shape[:axis] + (out_size,) + image.shape[axis + 1:], np.float32)
    for tap in range(index.shape[1]):  # a few taps: gather and accumulate, no dense weight matrix
        out += np.take(image, index[:, tap], axis=axis) * weight[:, tap].reshape(shape)
    return out


def _nearest_index(in_size, out_size):
    return np.floor(((np.arange(out_size, dtype=np.float32) + 0.5) * in_size / out_size).astype(np.float32)).astype(int)


def resize_image(image, size, interpolation="bilinear"):
    """Resize one (height, width, channels) image to `size` = (height, width); float32 out.

    Same numbers as `keras.ops.image.resize(image, size, interpolation)` on JAX (half-pixel centres,
    no antialiasing), computed in NumPy (a few taps per output pixel) so images of many sizes cost no
    compilation.
    """
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise ValueError(f"interpolation={interpolation!r} is not supported for resizing arrays; expected one of "
                         f"{RESIZE_INTERPOLATIONS}.")
    image = np.asarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    out_h, out_w = size
    if interpolation == "nearest":
        return image[_nearest_index(height, out_h)][:, _nearest_index(width, out_w)]
    kernel, radius = _KERNELS[interpolation]
    if out_h != height:
        image = _resample(image, 0, out_h, kernel, radius)
    if out_w != width:
        image = _resample(image, 1, out_w, kernel, radius)
    return image


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize an image (h, w, c) or a batch (n, h, w, c) to `size` without distorting it: the largest centred
    crop with the target's aspect ratio, then `resize_image` (Keras's `keras.preprocessing.image.smart_resize`;
    NumPy in, NumPy out)."""
    x = np.asarray(x)
    size = _check_size(size, "smart_resize", "size")
    if x.ndim not in (3, 4):
        raise ValueError(f"smart_resize: expected an image (height, width, channels) or a batch of them, got shape "
                         f"{x.shape}.")
    if data_format == "channels_first":
        x = np.moveaxis(x, -3, -1)
    one = lambda image: resize_image(crop_to_aspect(image, size), size, interpolation)  # noqa: E731
    out = one(x) if x.ndim == 3 else np.stack([one(image) for image in x])
    return np.moveaxis(out, -1, -3) if data_format == "channels_first" else out


def crop_to_aspect(image, size):
    """The largest centred (height, width, c) crop with the aspect ratio of `size` (Keras's rule)."""
    height, width = image.shape[:2]
    crop_h = max(min(height, int(float(width * size[0]) / size[1])), 1)
    crop_w = max(min(width, int(float(height * size[1]) / size[0])), 1)
    top, left = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
    return image[top:top + crop_h, left:left + crop_w]


def pad_to_aspect(image, size, fill_value=0.0):
    """`image` padded with `fill_value` towards the aspect ratio of `size`, the same margin on both sides
    (Keras's rule: with an odd difference the result is one row/column short of the exact ratio)."""
    height, width = image.shape[:2]
    top = int(float(max(height, int(float(width * size[0]) / size[1])) - height) / 2)
    left = int(float(max(width, int(float(height * size[1]) / size[0])) - width) / 2)
    if top > 0:
        return np.pad(image, ((top, top), (0, 0), (0, 0)), constant_values=fill_value)
    if left > 0:
        return np.pad(image, ((0, 0), (left, left), (0, 0)), constant_values=fill_value)
    return image
