"""`image_dataset_from_directory`: batches of images (and labels) read from class folders.

The file list, its labels, its shuffle and its training/validation split are Keras 3's
(`keras.utils.image_dataset_from_directory`): the same files in the same order for the same seed.
Images are decoded with Pillow and resized like Keras's TensorFlow-free (`format="grain"`) path, i.e.
`keras.ops.image.resize` without antialiasing. What comes back is an `ImageDataset`: a re-iterable stream
of NumPy batches that `fit`, `evaluate` and `predict` take directly.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lamina.backend import config
from lamina.utils import image_utils

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_DATASET_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                           "mitchellcubic")


def _check_directory(directory, where):
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"{where}: directory must be a path (str or os.PathLike), got {type(directory).__name__}.")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        what = "is a file, not a directory" if os.path.exists(directory) else "does not exist"
        raise FileNotFoundError(f"{where}: the directory {directory!r} {what}.")
    return directory


def _valid_files(directory, follow_links, formats):
    """(root, file name) of every file with an allowed suffix under `directory`, walked in sorted order."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield root, name


def class_subdirectories(directory):
    """The class folders of `directory`: its sub-directories not starting with ".", sorted by name."""
    return [name for name in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True, where="image_dataset_from_directory"):
    """(file_paths, labels, class_names) in Keras's order (`keras.src.utils.dataset_utils.index_directory`).

    Files are listed class folder by class folder, each walked in sorted order; with `shuffle`, paths and
    labels are permuted together by `np.random.RandomState(seed).shuffle`, as in Keras. Unlike Keras, a
    labels list passed in is not shuffled in place.
    """
    directory = _check_directory(directory, where)
    if labels == "inferred":
        subdirs = class_subdirectories(directory)
        if class_names is not None:
            class_names = list(class_names)
            missing = [name for name in class_names if name not in subdirs]
            if missing:
                raise ValueError(f"{where}: class_names {missing} are not sub-directories of {directory!r}; "
                                 f"its sub-directories are {subdirs}.")
            subdirs = class_names
    else:
        if class_names is not None:
            raise ValueError(f"{where}: class_names can only be given with labels='inferred' (with explicit "
                             "labels the class names are the sorted distinct labels; with labels=None there are "
                             "none).")
        subdirs = [""]
    paths, inferred = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        for root, name in _valid_files(folder, follow_links, formats):
            paths.append(os.path.join(directory, subdir, os.path.relpath(os.path.join(root, name), folder)))
            inferred.append(index)
    if labels == "inferred":
        labels = np.asarray(inferred, dtype="int32")
        if not paths and not subdirs and any(True for _ in _valid_files(directory, False, formats)):
            raise ValueError(f"{where}: labels='inferred' needs one sub-directory per class in {directory!r}, "
                             "but its images lie directly in it. Put them in class folders, or pass labels=None "
                             "(no labels) or a list of labels.")
        class_names = list(subdirs)
    elif labels is None:
        class_names = None
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
            raise ValueError(f"{where}: labels must be 'inferred', None, or a list/tuple of integers; got an array "
                             f"of dtype {labels.dtype} and shape {labels.shape}.")
        if len(labels) != len(paths):
            raise ValueError(f"{where}: len(labels) is {len(labels)} but {len(paths)} image files were found in "
                             f"{directory!r}; give one label per file, in the sorted order of the file paths.")
        class_names = [str(label) for label in sorted(set(labels.tolist()))]
    if verbose:
        if labels is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle and paths:
        if seed is None:
            seed = np.random.randint(1e6)
        order = np.arange(len(paths))
        np.random.RandomState(seed).shuffle(order)
        paths = [paths[i] for i in order]
        if labels is not None:
            labels = labels[order]
    return paths, labels, class_names


def check_validation_split(validation_split, subset, shuffle, seed, where="image_dataset_from_directory"):
    """Keras's rules for `validation_split` and `subset`, with the fix in each message."""
    if validation_split is not None and not isinstance(validation_split, (int, float)):
        raise TypeError(f"{where}: validation_split must be a float in (0, 1), got {validation_split!r}.")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{where}: validation_split must be between 0 and 1 (exclusive), got {validation_split}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'{where}: subset must be "training", "validation", "both" or None, got {subset!r}.')
    if validation_split and not subset:
        raise ValueError(f"{where}: validation_split={validation_split} is set but subset is not; pass "
                         'subset="training", "validation" or "both".')
    if subset and not validation_split:
        raise ValueError(f"{where}: subset={subset!r} needs validation_split (a float in (0, 1)).")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{where}: with validation_split and shuffle=True, pass a seed, so that the training and "
                         "validation subsets (made by separate calls) do not overlap.")


def split_files(paths, labels, validation_split, subset, verbose=True, where="image_dataset_from_directory"):
    """The training (all but the last `int(validation_split * n)` files) or validation (those) part."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if n_val == 0 or n_val == len(paths):
        raise ValueError(f"{where}: validation_split={validation_split} of {len(paths)} files leaves "
                         f"{'no validation' if n_val == 0 else 'no training'} files; use a "
                         f"{'larger' if n_val == 0 else 'smaller'} validation_split or more files.")
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        return paths[:-n_val], None if labels is None else labels[:-n_val]
    if verbose:
        print(f"Using {n_val} files for validation.")
    return paths[-n_val:], None if labels is None else labels[-n_val:]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 format="tf", verbose=True):
    """Batches of images from a folder tree, labelled by class folder (Keras's function of the same name).

    `directory/<class>/<image>` gives label index `sorted(classes).index(<class>)` (or the order of
    `class_names`). Supported files: .bmp .gif .jpeg .jpg .png (a GIF's first frame).

    Returns an `ImageDataset` (or, with subset="both", a (training, validation) pair) yielding
    `images` float32 (batch, height, width, channels) in [0, 255] (channels first with
    data_format="channels_first") and, unless label_mode is None, `labels`: int32 (batch,) for "int",
    float32 (batch, num_classes) for "categorical", float32 (batch, 1) for "binary".

    Same file order, labels and split as Keras for the same seed (`dataset.file_paths`). The batch order
    of later epochs is lamina's own reshuffle (Keras's comes from tf.data's shuffle buffer); unlike Keras, a
    validation_split too small to hold a file is an error, not an empty dataset. `format` ("tf" or "grain",
    Keras's choice of returned type) is accepted for compatibility; lamina always returns an `ImageDataset`.
    """
    where = "image_dataset_from_directory"
    if format not in ("tf", "grain"):
        raise ValueError(f'{where}: format must be "tf" or "grain" (either gives lamina\'s ImageDataset), got '
                         f"{format!r}.")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"{where}: labels must be 'inferred', None or a list/tuple of integer labels (one per "
                         f"image file, in sorted path order), got {labels!r}.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'{where}: label_mode must be "int", "categorical", "binary" or None, got {label_mode!r}.')
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    num_channels = image_utils.check_color_mode(color_mode, where)
    image_size = image_utils._check_size(image_size, where, "image_size")
    if not isinstance(interpolation, str) or interpolation.lower() not in _DATASET_INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation must be one of {_DATASET_INTERPOLATIONS}, got {interpolation!r}.")
    interpolation = interpolation.lower()
    if interpolation not in image_utils.RESIZE_INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation={interpolation!r} exists only in TensorFlow's resize (Keras on JAX "
                         f"refuses it too); use one of {image_utils.RESIZE_INTERPOLATIONS}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{where}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"{where}: batch_size must be a positive integer or None, got {batch_size!r}.")
    data_format = config.standardize_data_format(data_format)
    check_validation_split(validation_split, subset, shuffle, seed, where)
    image_utils.pil_image(where)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(directory, labels, ALLOWLIST_FORMATS, class_names=class_names,
                                                 shuffle=shuffle, seed=seed, follow_links=follow_links,
                                                 verbose=verbose)
    if not paths:
        raise ValueError(f"{where}: no images found in directory {os.fspath(directory)!r}. Allowed formats: "
                         f"{ALLOWLIST_FORMATS}.")
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'{where}: label_mode="binary" needs exactly 2 classes, found {len(class_names)}: '
                         f'{class_names}. Use label_mode="int" or "categorical".')
    num_classes = len(class_names) if class_names else 0
    if label_mode in ("categorical", "binary") and labels is not None and len(labels):
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"{where}: label_mode={label_mode!r} needs labels in 0..{num_classes - 1} (one per "
                             f"class), got labels from {labels.min()} to {labels.max()}.")

    def make(subset_paths, subset_labels, subset_shuffle):
        return ImageDataset(subset_paths, subset_labels, label_mode=label_mode, num_classes=num_classes,
                            class_names=class_names, image_size=image_size, color_mode=color_mode,
                            interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio,
                            pad_to_aspect_ratio=pad_to_aspect_ratio, data_format=data_format, batch_size=batch_size,
                            shuffle=subset_shuffle, seed=seed)

    if subset == "both":
        train = split_files(paths, labels, validation_split, "training", verbose, where)
        val = split_files(paths, labels, validation_split, "validation", verbose, where)
        return make(*train, shuffle), make(*val, False)
    return make(*split_files(paths, labels, validation_split, subset, verbose, where), shuffle)


class _Shared:
    """What the views of one dataset share: decoded images when cached, the decoding threads."""

    def __init__(self):
        self.cache = None
        self.lock = threading.Lock()
        self._pool = None

    def pool(self):
        with self.lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1)), "lamina-images")
            return self._pool


class ImageDataset:
    """A re-iterable stream of image batches (what `image_dataset_from_directory` returns).

    `len(ds)` is the number of batches per epoch; `ds[i]` is batch i of the current epoch; iterating
    yields one epoch of `(images, labels)` NumPy batches (`images` alone when there are no labels).
    With `shuffle`, the first epoch follows `file_paths` and each later one (after an iteration, or
    `on_epoch_end()` as `fit` calls it) is a fresh permutation drawn from the seed.

    Attributes: `class_names`, `file_paths`, `batch_size`. Methods of tf.data that tutorials chain:
    `take`, `skip`, `map`, `shuffle`, `cache`, `prefetch`, `cardinality`, `as_numpy_iterator`.
    """

    def __init__(self, file_paths, labels, *, label_mode, num_classes, class_names, image_size, color_mode,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format, batch_size, shuffle, seed):
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self.batch_size = batch_size
        self._labels = None if labels is None else np.asarray(labels)
        self._label_mode = label_mode
        self._num_classes = num_classes
        self._image_size = tuple(image_size)
        self._color_mode = color_mode
        self._interpolation = interpolation
        self._crop = crop_to_aspect_ratio
        self._pad = pad_to_aspect_ratio
        self._data_format = data_format
        self._shuffle = bool(shuffle)
        self._seed = int(seed) if seed is not None else int(np.random.randint(1e6))
        self._epoch = 0
        self._start, self._stop = 0, None  # batch range (take/skip)
        self._maps = ()
        self._shared = _Shared()

    # -- views ------------------------------------------------------------------------------------------
    def _view(self, **changes):
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._epoch = 0
        view.__dict__.update(changes)
        return view

    def take(self, count):
        """The first `count` batches (all of them when count is -1)."""
        count = int(count)
        if count < 0:
            return self._view()
        return self._view(_stop=min(len(self), count) + self._start)

    def skip(self, count):
        """All but the first `count` batches."""
        return self._view(_start=min(self._start + max(0, int(count)), self._end()))

    def map(self, function, num_parallel_calls=None, deterministic=None):
        """Apply `function(images, labels)` (or `function(images)` without labels) to every batch, in order
        (tf.data's `num_parallel_calls` and `deterministic` are accepted and have nothing to tune here)."""
        del num_parallel_calls, deterministic
        if not callable(function):
            raise TypeError(f"ImageDataset.map: expected a callable, got {type(function).__name__}.")
        return self._view(_maps=self._maps + (function,))

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True):
        """Reshuffle the samples every epoch (all of them: a full shuffle, whatever `buffer_size`)."""
        del buffer_size, reshuffle_each_iteration
        return self._view(_shuffle=True, _seed=self._seed if seed is None else int(seed))

    def cache(self, filename=""):
        """Keep decoded images in memory after the first time each is read (`filename` is not supported)."""
        if filename:
            raise ValueError("ImageDataset.cache: caching to a file is not supported; call cache() to cache "
                             "in memory.")
        view = self._view()
        if view._shared.cache is None:
            view._shared = _Shared()
            view._shared.cache = {}
        return view

    def prefetch(self, buffer_size=None):
        """This dataset itself: `fit` already reads the next batches on a background thread."""
        del buffer_size
        return self

    def cardinality(self):
        return len(self)

    def as_numpy_iterator(self):
        return iter(self)

    # -- batches ----------------------------------------------------------------------------------------
    def _batches_total(self):
        n = len(self.file_paths)
        return n if self.batch_size is None else math.ceil(n / self.batch_size)

    def _end(self):
        total = self._batches_total()
        return total if self._stop is None else min(self._stop, total)

    def __len__(self):
        return max(0, self._end() - self._start)

    def _order(self):
        n = len(self.file_paths)
        if not self._shuffle or self._epoch == 0:
            return np.arange(n)
        return np.random.RandomState([self._seed % (2 ** 32), self._epoch]).permutation(n)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)) and index < 0:
            index += len(self)
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self):
            raise IndexError(f"ImageDataset: batch index {index} is out of range for {len(self)} batches.")
        return self._batch(self._order(), int(index) + self._start)

    def on_epoch_end(self):
        """Move to the next epoch (a new order when shuffling)."""
        self._epoch += 1

    def __iter__(self):
        order = self._order()
        for index in range(self._start, self._end()):
            yield self._batch(order, index)
        self.on_epoch_end()

    def _batch(self, order, index):
        if self.batch_size is None:
            rows = order[index:index + 1]
        else:
            rows = order[index * self.batch_size:(index + 1) * self.batch_size]
        images = np.stack(list(self._shared.pool().map(self._image, rows)))
        if self.batch_size is None:
            images = images[0]
        if self._label_mode is None:
            out = images
            for function in self._maps:
                out = _to_numpy(function(out))
            return out
        labels = self._encode(self._labels[rows])
        if self.batch_size is None:
            labels = labels[0]
        out = (images, labels)
        for function in self._maps:
            out = _to_numpy(function(*out) if isinstance(out, tuple) else function(out))
        return out

    def _encode(self, labels):
        if self._label_mode == "int":
            return labels.astype("int32")
        if self._label_mode == "binary":
            return labels.astype("float32")[:, None]
        return np.eye(self._num_classes, dtype="float32")[labels]

    def _image(self, row):
        cache = self._shared.cache
        if cache is not None and row in cache:
            return cache[row]
        image = self.load(self.file_paths[row])
        if cache is not None:
            cache[row] = image
        return image

    def load(self, path):
        """One file decoded, converted to the color mode and resized: float32 (h, w, c) or (c, h, w)."""
        img = image_utils.convert_mode(image_utils.open_image(path, "image_dataset_from_directory"), self._color_mode)
        array = np.asarray(img, dtype=np.float32)
        if array.ndim == 2:
            array = array[:, :, None]
        if self._crop:
            array = image_utils.crop_to_aspect(array, self._image_size)
        elif self._pad:
            array = image_utils.pad_to_aspect(array, self._image_size)
        array = image_utils.resize_image(array, self._image_size, self._interpolation)
        return array.transpose(2, 0, 1) if self._data_format == "channels_first" else array

    def __repr__(self):
        return (f"<ImageDataset: {len(self.file_paths)} files, {len(self)} batches of {self.batch_size}, "
                f"classes={self.class_names}>")


def _to_numpy(tree):
    """A mapped batch back to NumPy (a map may call layers or ops that return JAX arrays)."""
    if isinstance(tree, tuple):
        return tuple(_to_numpy(part) for part in tree)
    if isinstance(tree, list):
        return [_to_numpy(part) for part in tree]
    if isinstance(tree, dict):
        return {key: _to_numpy(value) for key, value in tree.items()}
    return tree if tree is None else np.asarray(tree)
