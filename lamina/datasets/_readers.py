"""Parsers for the file formats the data sets come in: IDX, text tables, .npz, CIFAR batches.

No code from a data file is ever run. `.npz` members are read with pickling disabled; the
Keras/CIFAR files that do contain pickles (ragged IMDB and Reuters sequences, CIFAR batches) are
read with an unpickler that can build nothing but NumPy arrays, lists, dicts and bytes.
"""

import gzip
import io
import pickle
import zipfile
import zlib

import numpy as np

_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


#: An IDX file declaring more data than this is refused before anything is read (MNIST's largest is 47 MB).
MAX_IDX_BYTES = 4 << 30


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Read an IDX file (MNIST format), gzipped or not, into an array of its declared shape.

    Header: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, then
    one big-endian uint32 per dimension. Returns the data in native byte order. The file is
    streamed: the header is checked (and the declared size bounded) before the data is
    decompressed, so a damaged or hostile file cannot make it allocate without limit, and
    a truncated or corrupt gzip stream is an error that names the file.
    """
    try:
        with _open_maybe_gzip(path) as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
                raise ValueError(f"{path} is not an IDX file (bad magic number {head!r})")
            dtype, ndim = _IDX_DTYPES[head[2]], head[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(f"{path}: the IDX header is cut short ({ndim} dimensions declared)")
            shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
            expected = dtype.itemsize
            for d in shape:
                expected *= d
            if expected > MAX_IDX_BYTES:
                raise ValueError(f"{path}: the IDX header declares shape {shape} ({expected:,} bytes), more than "
                                 f"the {MAX_IDX_BYTES:,} bytes an IDX data set may hold; the file is corrupt")
            data = f.read(expected)
            extra = f.read(1)
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path}: cannot be read as a (gzipped) IDX file: {err}; the download is damaged, "
                         "delete it to fetch it again") from None
    if len(data) != expected or extra:
        raise ValueError(
            f"{path}: the IDX header declares shape {shape} ({expected} bytes of data) "
            f"but the file holds {'more' if extra else len(data)}; it is truncated or corrupt"
        )
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def read_table(path, delimiter=None):
    """Numeric text table (comma- or whitespace-separated) as float64; a non-numeric first line is skipped."""
    with open(path, "rb") as f:
        first = f.readline().decode("utf-8", "replace")
    fields = first.replace(",", " ").split() if delimiter == "," else first.split(delimiter)
    try:
        [float(v) for v in fields]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(path, delimiter=delimiter, skiprows=skip, dtype=np.float64, ndmin=2)


def _numpy_multiarray(name):
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray
    return getattr(multiarray, name)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Builds only NumPy arrays, dtypes and scalars (plus pickle's own lists, dicts, bytes, numbers)."""

    def find_class(self, module, name):
        if (module, name) in (("numpy", "ndarray"), ("numpy", "dtype")):
            return getattr(np, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
            return _numpy_multiarray(name)
        if (module, name) == ("_codecs", "encode"):  # how Python 3 writes bytes at pickle protocol < 3
            import codecs

            return codecs.encode
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a data set file: only NumPy arrays are allowed "
            "(the file is corrupt or was tampered with)"
        )


def load_pickled_arrays(fileobj, encoding="ASCII"):
    """Unpickle a stream that may contain only NumPy arrays and plain containers."""
    return _ArrayOnlyUnpickler(fileobj, encoding=encoding).load()


def _read_npy(raw):
    fp = io.BytesIO(raw)
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:
        pass
    # An object array (ragged IMDB or Reuters sequences): skip the .npy header, then unpickle safely.
    fp.seek(0)
    major, _ = np.lib.format.read_magic(fp)
    if major == 1:
        np.lib.format.read_array_header_1_0(fp)
    elif major in (2, 3):
        np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {major}")
    return load_pickled_arrays(fp, encoding="latin1")


def load_npz(path):
    """All members of an `.npz` archive as a dict of arrays (object arrays read safely)."""
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    out[member[: -len(".npy")]] = _read_npy(archive.read(member))
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, pickle.UnpicklingError) as err:
        raise ValueError(f"{path}: cannot be read as an .npz archive: {err}; the file is damaged, delete it to "
                         "fetch it again") from None
    return out


def read_cifar_batch(fileobj, label_key="labels"):
    """One CIFAR python batch: `(data uint8 [n, 3, 32, 32], labels list)`.

    The official CIFAR distribution stores each batch as a Python 2 pickle of a dict; it is
    read with the array-only unpickler (`encoding="bytes"` for the Python 2 strings).
    """
    batch = load_pickled_arrays(fileobj, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"not a CIFAR batch: expected a dict, got {type(batch).__name__}")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", label_key) if k not in batch]
    if missing:
        raise ValueError(f"not a CIFAR batch with {label_key!r}: no {', '.join(map(repr, missing))} among its keys "
                         f"{sorted(map(str, batch))}")
    data, labels = np.asarray(batch["data"]), batch[label_key]
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"not a CIFAR batch: expected uint8 data (n, 3072) and n labels, got {data.dtype} data "
                         f"{data.shape} and {len(labels)} labels")
    return data.reshape(data.shape[0], 3, 32, 32), labels


def shuffle_split(x, y, test_split, seed):
    """Keras's loader split: shuffle with `RandomState(seed)`, first `int(n * (1 - test_split))` = train."""
    if not 0 <= test_split < 1:
        raise ValueError(f"`test_split` must be in [0, 1), got {test_split}")
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
