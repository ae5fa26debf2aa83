"""Guarded reading of HDF5 files: nothing is allocated or followed that the file merely claims.

`Reader(h5file, source, size)` wraps an open `h5py.File` and refuses, with a `FileError`
naming the file and the entry:

* soft and external links, external and virtual datasets (a file may only hold data, never
  point at other files or objects);
* datasets that are not plain numbers (strings, objects, compound types);
* datasets whose declared size is far more than the bytes stored for them (a "shape bomb":
  a chunked dataset of a few bytes that claims terabytes), or whose contiguous data would lie
  past the end of the file (a truncated file);
* text attributes larger than `MAX_TEXT_BYTES`.

Callers compare a dataset's shape with the variable it is meant for *before* reading it, so a
dataset of the wrong size is never read at all.
"""

import io
import math
import mmap
import os

import h5py
import numpy as np

from lamina.saving.errors import FileError

#: Datasets up to this size are read without questions.
EXPANSION_FLOOR = 1 << 20
#: Larger ones must store at least 1/MAX_EXPANSION of what they declare.
MAX_EXPANSION = 1000
#: Largest JSON text (model_config, training_config) read from an attribute.
MAX_TEXT_BYTES = 64 << 20
_NUMBER_KINDS = "biuf"


def open_file(path_or_bytes, source):
    """An `h5py.File` of a path or of bytes in memory, opened read-only (without file locking, which
    reading never needs), after `check_global_heaps`."""
    if isinstance(path_or_bytes, bytes):
        check_global_heaps(path_or_bytes, source)
        path_or_buffer = io.BytesIO(path_or_bytes)
    else:
        path_or_buffer = path_or_bytes
        with open(path_or_bytes, "rb") as f:
            if os.fstat(f.fileno()).st_size:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    check_global_heaps(view, source)
    try:
        return h5py.File(path_or_buffer, "r", locking=False)
    except TypeError:  # h5py < 3.5 has no `locking`
        return h5py.File(path_or_buffer, "r")


_HEAP_HEADER = 16  # "GCOL", version, 3 reserved bytes, collection size (8 bytes)
_OBJECT_HEADER = 16  # index (2), reference count (2), reserved (4), object size (8)


def check_global_heaps(view, source):
    """Refuse a file whose global heap collections (where HDF5 keeps variable-length strings such as
    `model_config`) would send the HDF5 library into an endless loop.

    HDF5 walks a collection object by object, stepping by each object's recorded size; a damaged
    free-space entry of size 0 makes it step by nothing, forever (found by fuzzing). This walks every
    collection the way HDF5 will, before HDF5 does, and refuses any step that would not advance by at
    least one object header. Only 8-byte lengths (what h5py and Keras write) are understood; anything else
    is left to HDF5, which reports it as an error.
    """
    size = len(view)
    pos = view.find(b"GCOL")
    while pos != -1:
        if pos + _HEAP_HEADER <= size and view[pos + 4] == 1:
            end = min(size, pos + int.from_bytes(view[pos + 8:pos + 16], "little"))
            at = pos + _HEAP_HEADER
            while at + _OBJECT_HEADER <= end:
                index = int.from_bytes(view[at:at + 2], "little")
                length = int.from_bytes(view[at + 8:at + 16], "little")
                step = _OBJECT_HEADER + -(-length // 8) * 8 if index else length
                if step < _OBJECT_HEADER:
                    raise FileError(f"'{source}': the global heap at byte {pos} is damaged (an entry of {length} "
                                    f"bytes at byte {at}); HDF5 cannot read it.")
                at += step
        pos = view.find(b"GCOL", pos + 4)


class Reader:
    """Guarded access to an open HDF5 file (see the module docstring).

    Args:
        h5file: the open `h5py.File`.
        source: how errors name the file (its path, or "archive.keras/model.weights.h5").
        size: the file's size in bytes (contiguous datasets must lie inside it).
    """

    def __init__(self, h5file, source, size):
        self.file = h5file
        self.source = source
        self.size = int(size)

    def error(self, message):
        return FileError(f"'{self.source}': {message}")

    # ----- groups and datasets -------------------------------------------------------------

    def _child(self, parent, name, where):
        link = parent.get(name, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise self.error(f"'{where}' is a {type(link).__name__}; links to other objects or files are refused.")
        return parent[name]

    def group(self, path, parent=None):
        """The group at `path` (slash-separated, below `parent` or the root), or None if absent."""
        node = self.file if parent is None else parent
        for part in path.split("/"):
            if not part:
                raise self.error(f"invalid group path '{path}'.")
            if not isinstance(node, h5py.Group):
                return None
            node = self._child(node, part, path)
            if node is None:
                return None
        if not isinstance(node, h5py.Group):
            raise self.error(f"'{path}' should be a group but is a {type(node).__name__}.")
        return node

    def dataset(self, parent, path):
        """The dataset at `path` below `parent` (may contain slashes), or None if absent; checked to be
        plain numbers stored in this file."""
        *folders, name = path.split("/")
        group = self.group("/".join(folders), parent) if folders else parent
        if group is None or not name:
            return None
        node = self._child(group, name, path)
        if node is None:
            return None
        if not isinstance(node, h5py.Dataset):
            raise self.error(f"'{path}' should be a dataset (an array) but is a {type(node).__name__}.")
        if node.is_virtual:
            raise self.error(f"'{path}' is a virtual dataset; data from other files is refused.")
        if node.external:
            raise self.error(f"'{path}' stores its data in external files; refused.")
        dtype = node.dtype
        is_bfloat16 = dtype.kind == "V" and dtype.itemsize == 2 and node.attrs.get("dtype") in ("bfloat16", b"bfloat16")
        if dtype.kind not in _NUMBER_KINDS and not is_bfloat16:
            raise self.error(f"'{path}' holds {dtype} values, not numbers.")
        if node.shape is None:
            raise self.error(f"'{path}' is an empty (null) dataset.")
        return node

    def required_dataset(self, parent, path, where=None):
        """`dataset`, with a `FileError` when the dataset is absent (a group listed it)."""
        found = self.dataset(parent, path)
        if found is None:
            raise self.error(f"'{where or path}' is listed but cannot be found or read.")
        return found

    def dataset_names(self, group):
        """Names of the datasets directly in `group`, sorted numerically when they are numbers."""
        names = [name for name in group.keys()]
        return sorted(names, key=lambda n: (0, int(n), "") if n.isdigit() else (1, 0, n))

    def read(self, dataset, where):
        """The dataset's values as a NumPy array, after the size guards (see the module docstring)."""
        declared = math.prod(dataset.shape) * dataset.dtype.itemsize
        if declared > EXPANSION_FLOOR:
            stored = dataset.id.get_storage_size()
            if declared > MAX_EXPANSION * max(stored, 1):
                raise self.error(
                    f"'{where}' declares {_size(declared)} but stores only {_size(stored)}; refusing a "
                    "possible decompression / shape bomb.")
            offset = dataset.id.get_offset()
            if offset is not None and offset + declared > self.size:
                raise self.error(
                    f"'{where}' declares {_size(declared)} at byte {offset}, past the end of the file "
                    f"({_size(self.size)}): the file is truncated.")
            if offset is None and stored > self.size:
                raise self.error(f"'{where}' claims {_size(stored)} of storage in a file of {_size(self.size)}.")
        value = np.asarray(dataset[()])
        if dataset.dtype.kind == "V":
            import ml_dtypes

            value = value.view(ml_dtypes.bfloat16)
        return value

    # ----- attributes -------------------------------------------------------------------------

    def text_attr(self, node, name):
        """A text attribute (e.g. "model_config") as str, or None if absent."""
        if name not in node.attrs:
            return None
        size = _attr_size(node, name)
        if size > MAX_TEXT_BYTES:
            raise self.error(f"attribute '{name}' is {_size(size)}; refusing text over {_size(MAX_TEXT_BYTES)}.")
        value = node.attrs[name]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise self.error(f"attribute '{name}' should be text but holds {type(value).__name__}.")
        return value

    def names_attr(self, node, name):
        """A list-of-names attribute (e.g. "weight_names"), also in Keras's chunked form `name0`, `name1`, ..."""
        if name in node.attrs:
            parts = [name]
        else:
            parts = []
            while f"{name}{len(parts)}" in node.attrs:
                parts.append(f"{name}{len(parts)}")
        out = []
        for part in parts:
            size = _attr_size(node, part)
            if size > MAX_TEXT_BYTES:
                raise self.error(f"attribute '{part}' is {_size(size)}; refusing more than {_size(MAX_TEXT_BYTES)}.")
            values = np.asarray(node.attrs[part])
            if values.ndim > 1:
                raise self.error(f"attribute '{part}' should be a list of names, got shape {values.shape}.")
            for value in values.reshape(-1):
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                if not isinstance(value, str):
                    if values.size == 0 or isinstance(value, (float, np.floating)):  # Keras writes [] as float64
                        continue
                    raise self.error(f"attribute '{part}' should hold names, got {type(value).__name__}.")
                out.append(value)
        return out


def _attr_size(node, name):
    """Bytes an attribute stores (HDF5 reports an error, not 0, for an empty one)."""
    attr = node.attrs.get_id(name)
    if attr.shape is not None and math.prod(attr.shape) == 0:
        return 0
    return attr.get_storage_size()


def write_names_attr(node, name, names):
    """Write a list of names like Keras: chunked into `name0`, `name1`, ... when over HDF5's 64 KB header limit."""
    data = np.asarray([n.encode("utf-8") for n in names]) if names else np.asarray([], dtype=np.float64)
    chunks = 1
    limit = 64512
    too_long = [n for n in names if len(n.encode("utf-8")) > limit]
    if too_long:
        raise ValueError(f"Cannot write the name {too_long[0][:80]!r}...: HDF5 attributes hold names of up to "
                         f"{limit} bytes.")
    while any(c.nbytes > limit for c in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        node.attrs[name] = data
        return
    for i, chunk in enumerate(np.array_split(data, chunks)):
        node.attrs[f"{name}{i}"] = chunk


def _size(n):
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
