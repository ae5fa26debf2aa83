"""`save_model` / `load_model` / `save_weights` / `load_weights`: formats chosen by name and content.

Saving picks the format from the file name, as Keras 3 does (`.keras`; `.h5` / `.hdf5` for the
legacy format; `.weights.h5` for weights) and writes atomically (`utils.atomic.atomic_write`).
Loading recognizes the format from the file's first bytes (zip or HDF5), so a file with a
misleading name still loads, and everything that goes wrong reading it is one `ValueError`
(`errors.FileError`) naming the file, or `FileNotFoundError`.
"""

import os

from lamina.saving import h5_file, keras_file, weights_file
from lamina.saving.errors import FileError, reading
from lamina.utils.atomic import atomic_write, background

_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _path(filepath, what):
    if hasattr(filepath, "read") or hasattr(filepath, "write"):
        raise TypeError(f"{what}: pass a file path (str or pathlib.Path); file objects are not supported.")
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"{what}: `filepath` must be a str or pathlib.Path, got {type(filepath).__name__}.") from None


def _kind(path):
    """"zip", "hdf5" or None, from the file's signature (HDF5 may sit after a 512 * 2^k byte user block)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: '{path}'.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"'{path}' is a folder, not a model file. (lamina reads .keras archives and .h5 "
                                "files, not unzipped Keras folders or TensorFlow SavedModels.)")
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:4] == _ZIP_MAGIC:
            return "zip"
        offset = 0
        while head:
            if head == _HDF5_MAGIC:
                return "hdf5"
            offset = 512 if offset == 0 else offset * 2
            f.seek(offset)
            head = f.read(8)
    return None


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' exists and overwrite=False. (Keras would ask on the console; lamina "
                              "refuses so that scripts never hang.) Pass overwrite=True to replace it.")


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
    """Save `model` to `filepath`: `.keras` (Keras 3's zip archive) or `.h5` / `.hdf5` (legacy).

    The file is written atomically: a crash mid-save leaves any previous file whole.
    `include_optimizer` applies to `.h5` files (`.keras` files always hold the optimizer).
    `overwrite=False` raises `FileExistsError` if the file exists (Keras prompts instead).
    """
    path = _path(filepath, "save_model")
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise ValueError(f"save_model: argument(s) not supported: {sorted(kwargs)}.")
    if save_format not in (None, "keras", "h5", "tf"):
        raise ValueError(f"save_model: `save_format` is not used by Keras 3; got {save_format!r}. Name the file "
                         "'*.keras' or '*.h5' instead.")
    if zipped is False:
        raise ValueError("save_model: zipped=False (an unzipped folder) is not supported; save to a '.keras' file.")
    if path.endswith(".weights.h5"):
        raise ValueError(f"save_model: '{path}' names a weights file; use model.save_weights(...) for weights, or "
                         "save the model to a '.keras' file.")
    if path.endswith(".keras"):
        writer = keras_file.write
    elif path.endswith((".h5", ".hdf5")):
        def writer(m, p):
            h5_file.write(m, p, include_optimizer=include_optimizer)
    else:
        raise ValueError(f"save_model: cannot tell the format from '{path}': name it '*.keras' (Keras 3's format, "
                         "recommended) or '*.h5' (legacy).")
    _check_overwrite(path, overwrite)
    with atomic_write(path) as tmp:
        writer(model, tmp)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved as `.keras` or `.h5` by lamina, Keras 3 or tf.keras 2.

    Args:
        filepath: the file (its format is recognized from its content).
        custom_objects: {name: class or function} for the user's own layers, losses, ... used in the file.
        compile: compile the model as it was saved (with its optimizer state), when the file says how.
        safe_mode: refuse to load Python code stored in the file (a `Lambda` layer's lambda).
            Pass False only for files you trust.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a model file, is damaged, names a class that is neither
            lamina's nor given / registered, holds code while safe_mode is on, or its weights
            do not fit its config. The message names the file.
    """
    path = _path(filepath, "load_model")
    background.wait([path])  # a checkpoint still being written in the background
    kind = _kind(path)
    with reading(path, "a model"):
        if kind == "zip":
            return keras_file.read_model(path, custom_objects, compile, safe_mode)
        if kind == "hdf5":
            return h5_file.read_model(path, custom_objects, compile, safe_mode)
    raise FileError(f"Cannot load a model from '{path}': it is neither a .keras archive (zip) nor an .h5 (HDF5) "
                    "file.")


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the model's weights (and optimizer state) to a `.weights.h5` file, in Keras 3's layout."""
    path = _path(filepath, "save_weights")
    if max_shard_size is not None:
        raise ValueError("save_weights: sharded weights (max_shard_size) are not supported.")
    if not path.endswith(".weights.h5"):
        raise ValueError(f"save_weights: the file name must end in '.weights.h5' (as in Keras 3); got '{path}'.")
    if not model.built:
        raise ValueError(f"save_weights: model '{model.name}' is not built, so it has no weights yet. Call it on "
                         "data, or give its first layer an input shape.")
    _check_overwrite(path, overwrite)
    import h5py

    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            weights_file.write(f, model)


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Load weights into `model` from a `.weights.h5`, `.keras` or legacy `.h5` file.

    Matched by structure (the same layers and shapes); the first layer that does not fit is
    named with both shapes and nothing is changed. `skip_mismatch=True` skips (with a warning)
    the layers that do not fit. `by_name` matches legacy `.h5` layers by name.
    """
    path = _path(filepath, "load_weights")
    if kwargs:
        raise ValueError(f"load_weights: argument(s) not supported: {sorted(kwargs)}.")
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built, so it has no weights to set yet. "
                         "Call it on data, or give its first layer an input shape, first.")
    background.wait([path])
    kind = _kind(path)
    with reading(path, "weights"):
        if kind == "zip":
            keras_file.read_weights(model, path, skip_mismatch=skip_mismatch)
            return
        if kind == "hdf5":
            reader = h5_file.open_reader(path)
            try:
                keras3_layout = "layer_names" not in reader.file.attrs and reader.group("model_weights") is None
                if keras3_layout:
                    if by_name:
                        raise FileError(f"'{path}': by_name applies to legacy .h5 files only, not to Keras 3's "
                                        "'.weights.h5' layout (which is matched by structure).")
                    weights_file.plan_load(reader, model, skip_mismatch=skip_mismatch, strict_optimizer=False).apply()
                    return
            finally:
                reader.file.close()
            h5_file.read_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
            return
    raise FileError(f"Cannot load weights from '{path}': it is neither an HDF5 (.h5) file nor a .keras archive.")
