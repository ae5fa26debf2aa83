"""The `.keras` format: a zip archive of `metadata.json`, `config.json` and `model.weights.h5`.

Written as Keras 3 writes it (members stored uncompressed; `config.json` holds the model's
config with its `build_config` and `compile_config`; `model.weights.h5` is the weights layout
of `weights_file`), so either library loads the other's archives. Reading is guarded: members
must be regular names, the JSON members are capped at `MAX_JSON_BYTES`, and a member that
declares far more bytes than the archive stores for it (a zip bomb) is refused before anything
is decompressed.
"""

import json
import os
import tempfile
import zipfile

import h5py

from lamina.saving import hdf5, model_config, weights_file
from lamina.saving.errors import FileError

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
MAX_JSON_BYTES = 64 << 20
#: A member larger than this must not declare more than MAX_EXPANSION times what it stores.
BOMB_FLOOR = 1 << 20
MAX_EXPANSION = 100


def write(model, path):
    """Write `model` to the (temporary) file `path`: config first, so nothing is written for a model
    whose config cannot be made."""
    config_json = model_config.to_json(model_config.serialize_model(model))
    metadata_json = model_config.to_json(model_config.metadata())
    fd, weights_tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".weights.h5.tmp")
    os.close(fd)
    try:
        with h5py.File(weights_tmp, "w") as f:
            weights_file.write(f, model)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA, metadata_json)
            zf.writestr(CONFIG, config_json)
            zf.write(weights_tmp, WEIGHTS)
    finally:
        os.remove(weights_tmp)


class Archive:
    """A `.keras` archive opened for reading, with its members checked."""

    def __init__(self, path):
        self.path = str(path)
        self.zip = zipfile.ZipFile(path, "r")
        self.members = {}
        for info in self.zip.infolist():
            if info.filename in self.members:
                raise FileError(f"'{self.path}': the archive holds '{info.filename}' twice.")
            self.members[info.filename] = info
        if CONFIG not in self.members:
            found = ", ".join(list(self.members)[:5]) or "nothing"
            raise FileError(f"'{self.path}' is a zip archive but not a Keras model: it has no {CONFIG} (it holds "
                            f"{found}).")

    def close(self):
        self.zip.close()

    def _checked(self, name, limit=None):
        info = self.members[name]
        if limit is not None and info.file_size > limit:
            raise FileError(f"'{self.path}': member '{name}' declares {hdf5._size(info.file_size)}; refusing "
                            f"more than {hdf5._size(limit)}.")
        if info.file_size > BOMB_FLOOR and info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise FileError(
                f"'{self.path}': member '{name}' declares {hdf5._size(info.file_size)} but stores only "
                f"{hdf5._size(info.compress_size)}; refusing a possible zip bomb.")
        return info

    def read_bytes(self, name, limit=None):
        info = self._checked(name, limit)
        with self.zip.open(info) as member:
            data = member.read(info.file_size + 1)
        if len(data) != info.file_size:
            raise FileError(f"'{self.path}': member '{name}' holds {len(data)} bytes, not the "
                            f"{info.file_size} it declares.")
        return data

    def config(self):
        try:
            config = json.loads(self.read_bytes(CONFIG, MAX_JSON_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise FileError(f"'{self.path}': {CONFIG} is not valid JSON ({error}).") from None
        if not isinstance(config, dict):
            raise FileError(f"'{self.path}': {CONFIG} should hold a model config (a JSON object), "
                            f"got {type(config).__name__}.")
        return config

    def weights_reader(self):
        """A `hdf5.Reader` over `model.weights.h5` (read into memory after the guards)."""
        if WEIGHTS not in self.members:
            other = [n for n in self.members if n.startswith("model.weights")]
            detail = f" (it has {other[0]}, which lamina does not read)" if other else ""
            raise FileError(f"'{self.path}' has no {WEIGHTS}{detail}.")
        data = self.read_bytes(WEIGHTS)
        source = f"{self.path}/{WEIGHTS}"
        return hdf5.Reader(hdf5.open_file(data, source), source, len(data))


def read_model(path, custom_objects=None, compile=True, safe_mode=True):
    """The model saved in the `.keras` archive at `path`, with its weights and optimizer state."""
    archive = Archive(path)
    try:
        config = archive.config()
        compile_config = config.get("compile_config") if compile else None
        stored = archive.members[WEIGHTS].file_size if WEIGHTS in archive.members else 0
        budget = model_config.weight_budget(stored, f"its {WEIGHTS}")
        try:
            model = model_config.model_from_config(config, custom_objects, safe_mode, compile_config, budget)
        except ValueError as error:
            raise FileError(f"Cannot load a model from '{path}': {error}") from error
        reader = archive.weights_reader()
        # Keras 3 drops the optimizer from a model's compile config when it saves it to .h5, so a .keras
        # saved afterwards compiles with the default optimizer: then the saved state is skipped with a
        # warning (as Keras does) instead of refusing the file.
        strict = bool(compile_config) and "optimizer" in compile_config
        try:
            weights_file.plan_load(reader, model, strict_optimizer=strict).apply()
        finally:
            reader.file.close()
    finally:
        archive.close()
    return model


def read_weights(model, path, skip_mismatch=False):
    """Load the weights (and optimizer state) of the `.keras` archive at `path` into `model`."""
    archive = Archive(path)
    try:
        reader = archive.weights_reader()
        try:
            weights_file.plan_load(reader, model, skip_mismatch=skip_mismatch, strict_optimizer=False).apply()
        finally:
            reader.file.close()
    finally:
        archive.close()
