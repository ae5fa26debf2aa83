"""`ImageDataGenerator`: the legacy Keras image augmentation the tutorials use, with its iterators.

`flow(x, y)` and `flow_from_directory(directory)` return `NumpyArrayIterator` / `DirectoryIterator`:
Keras `Sequence`s (`len()` batches, `it[i]`, `on_epoch_end()`, and endless `next(it)`), so `fit`,
`evaluate` and `predict` take them directly. Order, labels, class indices and every deterministic step are
Keras's (`keras.src.legacy.preprocessing.image`); random transforms draw the same numbers in the same order,
so a seeded iterator gives Keras's batches pixel for pixel, with these deliberate differences:

* a seeded iterator draws from its own `np.random.RandomState` instead of re-seeding NumPy's global
  generator (the same numbers, without changing the caller's random state);
* `height_shift_range` shifts along the height and `width_shift_range` along the width (Keras swaps them);
* `brightness_range` works with channels-first data (Keras's fails there);
* `featurewise_center` / `featurewise_std_normalization` / `zca_whitening` before `fit()`, and
  `class_mode="binary"` with other than 2 class folders, are errors (Keras warns per image and returns
  unnormalised data, or yields labels 0, 1, 2, ... as "binary");
* `standardize(x)` returns a new array (Keras's changes `x` in place).
"""

import math
import os
import threading
import warnings

import numpy as np

from lamina.backend import config
from lamina.preprocessing import affine
from lamina.utils import image_utils
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize  # noqa: F401
from lamina.preprocessing.affine import (  # noqa: F401
    apply_affine_transform, apply_brightness_shift, apply_channel_shift, random_brightness, random_channel_shift,
    random_rotation, random_shear, random_shift, random_zoom)

_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"ImageDataGenerator: {name} must be a number, got {value!r}.")
    return value


def _check_positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}.")
    return int(value)


class Iterator:
    """Batches of indices into `n` samples: Keras's legacy `Iterator` (a `Sequence`).

    `it[i]` is batch i of the current epoch and `on_epoch_end()` draws the next order (what `fit` calls);
    `next(it)` runs through the epochs without end. With a seed, the draws for batch k come from
    `RandomState(seed + k)` where k counts every batch served, as in Keras.
    """

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n, batch_size, shuffle, seed):
        self.n = int(n)
        self.batch_size = _check_positive_int(batch_size, "batch_size", type(self).__name__)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}.")
        self.seed = seed
        self.shuffle = bool(shuffle)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self._rng = np.random  # NumPy's global generator when unseeded, as in Keras
        self.index_generator = self._flow_index()

    def _reseed(self):
        if self.seed is not None:
            self._rng = np.random.RandomState(self.seed + self.total_batches_seen)

    def _set_index_array(self):
        self.index_array = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def __getitem__(self, idx):
        if not isinstance(idx, (int, np.integer)) or not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: batch {idx!r} is out of range; the sequence has {len(self)} "
                             "batches.")
        self._reseed()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        return self._get_batches_of_transformed_samples(self.index_array[self.batch_size * idx:
                                                                         self.batch_size * (idx + 1)])

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            self._reseed()
            if self.batch_index == 0:
                self._set_index_array()
            current = 0 if self.n == 0 else (self.batch_index * self.batch_size) % self.n
            self.batch_index = self.batch_index + 1 if self.n > current + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[current:current + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    def _transform(self, x):
        """One sample through the generator's random transform and standardization."""
        generator = self.image_data_generator
        params = generator._draw_transform(x.shape, self._rng)
        return generator.standardize(generator.apply_transform(x, params))

    def _save(self, batch_x, index_array):
        if not self.save_to_dir:
            return
        for i, j in enumerate(index_array):
            img = image_utils.array_to_img(batch_x[i], self.data_format, scale=True)
            name = f"{self.save_prefix}_{j}_{self._rng.randint(self._hash_range)}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError


class NumpyArrayIterator(Iterator):
    """Batches of (transformed) images from a NumPy array (what `ImageDataGenerator.flow` returns).

    x: (n, height, width, channels) (channels first with data_format="channels_first"), or a tuple
    (images, extra) where `extra` (an array or list of arrays with n rows) is passed through untouched.
    Yields `x_batch`, `(x_batch, y_batch)` or `(x_batch, y_batch, sample_weight_batch)`.
    """

    _hash_range = 10 ** 4

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False, sample_weight=None, seed=None,
                 data_format=None, save_to_dir=None, save_prefix="", save_format="png", subset=None,
                 ignore_class_split=False, dtype=None):
        where = "ImageDataGenerator.flow"
        data_format = config.standardize_data_format(data_format)
        self.dtype = dtype or config.floatx()
        if isinstance(x, (tuple, list)):
            extras = [np.asarray(part) for part in (x[1] if isinstance(x[1], list) else [x[1]])]
            x = x[0]
            for part in extras:
                if len(part) != len(x):
                    raise ValueError(f"{where}: every array in x must have the same length; the images have "
                                     f"{len(x)} rows and an extra input has {len(part)}.")
        else:
            extras = []
        x = np.asarray(x)
        if y is not None and len(x) != len(y):
            raise ValueError(f"{where}: x (images) and y (labels) must have the same length, got x.shape = "
                             f"{x.shape} and y.shape = {np.asarray(y).shape}.")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"{where}: x (images) and sample_weight must have the same length, got x.shape = "
                             f"{x.shape} and sample_weight.shape = {np.asarray(sample_weight).shape}.")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f'{where}: subset must be "training" or "validation", got {subset!r}.')
            split = image_data_generator._validation_split
            if not split:
                raise ValueError(f"{where}: subset={subset!r} needs ImageDataGenerator(validation_split=...).")
            cut = int(len(x) * split)
            if y is not None and not ignore_class_split and not np.array_equal(np.unique(y[:cut]),
                                                                                np.unique(y[cut:])):
                raise ValueError(f"{where}: the training and validation subsets hold different classes after the "
                                 "split (the first validation_split of the rows is the validation subset). If the "
                                 "arrays are sorted by label, shuffle them first, or pass ignore_class_split=True.")
            part = slice(0, cut) if subset == "validation" else slice(cut, None)
            x, extras = x[part], [e[part] for e in extras]
            y = None if y is None else np.asarray(y)[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = extras
        if self.x.ndim != 4:
            raise ValueError(f"{where}: x must be a rank-4 array of images (samples, height, width, channels), "
                             f"got shape {self.x.shape}.")
        if len(self.x) == 0:
            raise ValueError(f"{where}: x holds no images.")
        channel_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channel_axis] not in (1, 3, 4):
            warnings.warn(f'NumpyArrayIterator is set to use the data format convention "{data_format}" (channels '
                          f"on axis {channel_axis}), i.e. expected 1, 3 or 4 channels on axis {channel_axis}, but "
                          f"got an array with shape {self.x.shape} ({self.x.shape[channel_axis]} channels).")
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            batch_x[i] = self._transform(self.x[j].astype(self.dtype))
        self._save(batch_x, index_array)
        extras = [part[index_array] for part in self.x_misc]
        inputs = [batch_x] + extras if extras else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


class DirectoryIterator(Iterator):
    """Batches of images read from class folders (what `ImageDataGenerator.flow_from_directory` returns).

    `directory/<class>/...` files (png, jpg, jpeg, bmp, ppm, tif, tiff; sub-folders walked in sorted order)
    are listed class by class. Attributes as in Keras: `class_indices` ({name: index}), `classes` (the
    label of every file), `filenames` (relative to `directory`), `filepaths`, `samples`, `num_classes`,
    `image_shape`. Labels per `class_mode`: "categorical" one-hot, "binary"/"sparse" one float per image,
    "input" the images themselves, None no labels.
    """

    _hash_range = 10 ** 7

    def __init__(self, directory, image_data_generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png", follow_links=False, subset=None,
                 interpolation="nearest", keep_aspect_ratio=False, dtype=None):
        where = "flow_from_directory"
        self.data_format = config.standardize_data_format(data_format)
        self.dtype = dtype or config.floatx()
        self.image_data_generator = image_data_generator
        self.target_size = image_utils._check_size(target_size, where, "target_size")
        channels = image_utils.check_color_mode(color_mode, where)
        self.color_mode = color_mode
        self.image_shape = (self.target_size + (channels,) if self.data_format == "channels_last"
                            else (channels,) + self.target_size)
        if interpolation not in image_utils.PIL_INTERPOLATIONS:
            raise ValueError(f"{where}: interpolation must be one of {image_utils.PIL_INTERPOLATIONS}, got "
                             f"{interpolation!r}.")
        self.interpolation = interpolation
        self.keep_aspect_ratio = keep_aspect_ratio
        if class_mode not in _CLASS_MODES:
            raise ValueError(f"{where}: class_mode must be one of {_CLASS_MODES}, got {class_mode!r}.")
        self.class_mode = class_mode
        if subset is None:
            self.split = None
        elif subset in ("training", "validation"):
            fraction = image_data_generator._validation_split if image_data_generator else 0.0
            if not fraction:
                raise ValueError(f"{where}: subset={subset!r} needs ImageDataGenerator(validation_split=...).")
            self.split = (0, fraction) if subset == "validation" else (fraction, 1)
        else:
            raise ValueError(f'{where}: subset must be "training", "validation" or None, got {subset!r}.')
        self.subset = subset
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        self.directory = _existing_directory(directory, where)
        if classes:
            classes = list(classes)
            absent = [c for c in classes if not os.path.isdir(os.path.join(self.directory, c))]
            if absent:
                raise ValueError(f"{where}: classes {absent} are not sub-directories of {self.directory!r}.")
        else:
            classes = [c for c in sorted(os.listdir(self.directory)) if os.path.isdir(os.path.join(self.directory, c))]
        if class_mode == "binary" and len(classes) != 2:
            raise ValueError(f'{where}: class_mode="binary" needs exactly 2 class folders, found {len(classes)}: '
                             f'{classes}. Use class_mode="categorical" or "sparse".')
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames, labels = [], []
        for name in classes:
            files = self._list_class(os.path.join(self.directory, name), follow_links)
            self.filenames += files
            labels += [self.class_indices[name]] * len(files)
        self.samples = len(self.filenames)
        self.classes = np.asarray(labels, dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        if self.samples == 0:
            loose = [f for f in os.listdir(self.directory) if f.lower().endswith(self.white_list_formats)]
            hint = (" The images lie directly in it; flow_from_directory needs one sub-folder per class." if loose
                    and not classes else "")
            raise ValueError(f"{where}: no images found in {self.directory!r} (formats: "
                             f"{', '.join(self.white_list_formats)}).{hint}")
        self._filepaths = [os.path.join(self.directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _list_class(self, folder, follow_links):
        """The class folder's image files (relative to the parent directory), its `split` part only."""
        found = []
        for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0]):
            for name in sorted(files):
                if name.lower().endswith(self.white_list_formats):
                    found.append(os.path.join(os.path.basename(folder),
                                              os.path.relpath(os.path.join(root, name), folder)))
        if self.split:
            found = found[int(self.split[0] * len(found)):int(self.split[1] * len(found))]
        return found

    @property
    def filepaths(self):
        return self._filepaths

    @property
    def labels(self):
        return self.classes

    @property
    def sample_weight(self):
        return None

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            img = image_utils.load_img(self._filepaths[j], color_mode=self.color_mode, target_size=self.target_size,
                                       interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio)
            x = image_utils.img_to_array(img, data_format=self.data_format, dtype=self.dtype)
            img.close()
            batch_x[i] = self._transform(x) if self.image_data_generator else x
        self._save(batch_x, index_array)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, self.classes[index_array].astype(self.dtype)
        if self.class_mode == "categorical":
            return batch_x, np.eye(self.num_classes, dtype=self.dtype)[self.classes[index_array]]
        return batch_x


def _existing_directory(directory, where):
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"{where}: directory must be a path (str or os.PathLike), got {type(directory).__name__}.")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        what = "is a file, not a directory" if os.path.exists(directory) else "does not exist"
        raise FileNotFoundError(f"{where}: the directory {directory!r} {what}.")
    return directory


class ImageDataGenerator:
    """Real-time image augmentation and normalisation (Keras's legacy `ImageDataGenerator`).

    Per image, in order: a random affine warp (`rotation_range` degrees, `width_shift_range` /
    `height_shift_range` as fractions of the size when < 1 or pixels when >= 1, `shear_range` degrees,
    `zoom_range` float or [low, high]) filled per `fill_mode` ("nearest", "constant" with `cval`, "reflect",
    "wrap"), `channel_shift_range`, `horizontal_flip` / `vertical_flip` (each with probability 1/2),
    `brightness_range` [low, high]; then `standardize`: `preprocessing_function`, `rescale`, samplewise then
    featurewise centring / std normalisation (featurewise statistics from `fit(x)`), ZCA whitening.
    `validation_split` with `subset="training"|"validation"` in `flow` / `flow_from_directory` splits
    the data (arrays: the first fraction is validation; folders: the first fraction of each class).
    """

    def __init__(self, featurewise_center=False, samplewise_center=False, featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        self.data_format = config.standardize_data_format(data_format)
        self.dtype = dtype or config.floatx()
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = _number(rotation_range, "rotation_range")
        self.width_shift_range = self._shift_range(width_shift_range, "width_shift_range")
        self.height_shift_range = self._shift_range(height_shift_range, "height_shift_range")
        self.shear_range = _number(shear_range, "shear_range")
        self.channel_shift_range = _number(channel_shift_range, "channel_shift_range")
        if fill_mode not in affine.FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {affine.FILL_MODES}, got {fill_mode!r}.")
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(f"ImageDataGenerator: preprocessing_function must be callable, got "
                            f"{preprocessing_function!r}.")
        self.preprocessing_function = preprocessing_function
        self.interpolation_order = interpolation_order
        last = self.data_format == "channels_last"
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if last else (1, 2, 3)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be strictly between 0 and 1, got "
                             f"{validation_split}.")
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None
        if isinstance(zoom_range, (float, int)) and not isinstance(zoom_range, bool):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif (isinstance(zoom_range, (tuple, list)) and len(zoom_range) == 2
              and all(isinstance(v, (float, int)) for v in zoom_range)):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"ImageDataGenerator: zoom_range must be a float or a tuple/list of two floats, got "
                             f"{zoom_range!r}.")
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides setting of "
                              "`featurewise_center`.")
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("This ImageDataGenerator specifies `zca_whitening` which overrides setting of "
                              "`featurewise_std_normalization`.")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, which overrides "
                          "setting of `featurewise_center`.")
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, which overrides "
                          "setting of `samplewise_center`.")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError(f"ImageDataGenerator: brightness_range must be a tuple or list of two floats, got "
                             f"{brightness_range!r}.")
        self.brightness_range = brightness_range

    @staticmethod
    def _shift_range(value, name):
        if isinstance(value, (list, tuple, np.ndarray)):
            if len(value) == 0:
                raise ValueError(f"ImageDataGenerator: {name} must not be empty.")
            return value
        return _number(value, name)

    # -- iterators --------------------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None, save_to_dir=None,
             save_prefix="", save_format="png", ignore_class_split=False, subset=None):
        """A `NumpyArrayIterator` over (x, y[, sample_weight]) with this generator's transforms."""
        self._check_fitted("flow")
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None, save_to_dir=None,
                            save_prefix="", save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """A `DirectoryIterator` over `directory/<class>/<image>` files with this generator's transforms.

        Images are loaded with `load_img(target_size=..., interpolation=...)` (Pillow's resampling, default
        "nearest", as in Keras).
        """
        self._check_fitted("flow_from_directory")
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 data_format=self.data_format, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def _check_fitted(self, where):
        needs = [name for name, on, stat in (("featurewise_center", self.featurewise_center, self.mean),
                                             ("featurewise_std_normalization", self.featurewise_std_normalization,
                                              self.std),
                                             ("zca_whitening", self.zca_whitening, self.zca_whitening_matrix))
                 if on and stat is None]
        if needs:
            raise ValueError(f"ImageDataGenerator.{where}: {', '.join(needs)} needs statistics of the training "
                             "images; call datagen.fit(x_train) first (Keras only warns and returns unnormalised "
                             "images).")

    # -- per-image steps --------------------------------------------------------------------------------
    def standardize(self, x):
        """`preprocessing_function`, `rescale`, samplewise and featurewise normalisation, ZCA, on one image
        or a batch (returns a new array; Keras changes `x` in place)."""
        x = np.array(x, dtype=self.dtype if np.asarray(x).dtype.kind in "biu" else None, copy=True)
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        self._check_fitted("standardize")
        if self.featurewise_center:
            x -= self.mean
        if self.featurewise_std_normalization:
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(-1, math.prod(x.shape[-3:]))
            x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    def get_random_transform(self, img_shape, seed=None):
        """The random parameters for one image of shape `img_shape` (a dict: theta, tx (pixels along the
        width), ty (pixels along the height), shear, zx, zy, flip_horizontal, flip_vertical,
        channel_shift_intensity, brightness). A seed draws from `RandomState(seed)` (Keras re-seeds NumPy's
        global generator); None draws from the global one.

        Keras's bug, fixed here: Keras puts the height shift in `tx`, so its `height_shift_range` shifts
        images horizontally (by a fraction of their height) and `width_shift_range` vertically. lamina draws
        the same numbers but shifts each along its own axis, so a seeded stream equals Keras's except that
        the two shifts trade places."""
        return self._draw_transform(img_shape, np.random if seed is None else np.random.RandomState(seed))

    def _draw_transform(self, img_shape, rng):
        # The order and kind of draws is Keras's, so that seeded streams agree.
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        # Keras draws the height shift first and stores it as `tx`, which `apply_affine_transform` applies
        # along the width (and the width shift along the height): height_shift_range moves images sideways.
        # lamina draws the same numbers in the same order but stores each where it moves its own axis.
        ty = self._draw_shift(self.height_shift_range, rows, rng)
        tx = self._draw_shift(self.width_shift_range, cols, rng)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (rng.random() < 0.5) * self.horizontal_flip
        flip_vertical = (rng.random() < 0.5) * self.vertical_flip
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    @staticmethod
    def _draw_shift(shift_range, size, rng):
        """A shift in pixels: a float range is a uniform draw (a fraction of `size` when < 1); an int n or
        a list is a value picked by `choice` (from range(n) for an int, as in Keras) with a random sign."""
        if not isinstance(shift_range, (list, tuple, np.ndarray)) and not shift_range:
            return 0
        if isinstance(shift_range, (float, np.floating)):
            shift = rng.uniform(-shift_range, shift_range)
        else:
            shift = rng.choice(shift_range) * rng.choice([-1, 1])
        if np.max(shift_range) < 1:
            shift *= size
        return shift

    def apply_transform(self, x, transform_parameters):
        """Apply the parameters from `get_random_transform` to one 3-D image."""
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        p = transform_parameters
        x = affine.apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                                          p.get("zx", 1), p.get("zy", 1), row_axis=row, col_axis=col,
                                          channel_axis=channel, fill_mode=self.fill_mode, cval=self.cval,
                                          order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = affine.apply_channel_shift(x, p["channel_shift_intensity"], channel)
        if p.get("flip_horizontal", False):
            x = affine.flip_axis(x, col)
        if p.get("flip_vertical", False):
            x = affine.flip_axis(x, row)
        if p.get("brightness") is not None:
            x = affine.apply_brightness_shift(x, p["brightness"], False, data_format=self.data_format)
        return x

    def random_transform(self, x, seed=None):
        """One image through a random transform (a seed draws from `RandomState(seed)`)."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the featurewise mean/std and ZCA matrix from images `x` (rank 4), after `rescale` and,
        with `augment`, `rounds` random transforms of every image."""
        x = np.array(x, dtype=self.dtype, copy=True)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must be a rank-4 array of images, got shape {x.shape}.")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f'Expected input to be images (as Numpy array) following the data format convention '
                          f'"{self.data_format}" (channels on axis {self.channel_axis}), i.e. expected either 1, 3 '
                          f"or 4 channels on axis {self.channel_axis}. However, it was passed an array with shape "
                          f"{x.shape} ({x.shape[self.channel_axis]} channels).")
        rng = np.random if seed is None else np.random.RandomState(seed)
        if self.rescale:
            x *= self.rescale
        if augment:
            grown = np.zeros((rounds * x.shape[0],) + x.shape[1:], dtype=self.dtype)
            for r in range(rounds):
                for i in range(x.shape[0]):
                    grown[i + r * x.shape[0]] = self.apply_transform(x[i], self._draw_transform(x[i].shape, rng))
            x = grown
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=(0, self.row_axis, self.col_axis)), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=(0, self.row_axis, self.col_axis)), shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            n = len(x)
            u, s, _ = np.linalg.svd(np.reshape(x, (n, -1)).T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(n) / (s + self.zca_epsilon))) @ u.T
