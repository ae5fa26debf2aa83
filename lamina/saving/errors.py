"""Errors of the file formats: every problem with a file is reported once, naming the file.

`FileError` (a `ValueError`) is raised for files that cannot be read as asked. `reading(source)`
turns whatever a damaged file makes h5py, zipfile or json raise deep inside into a `FileError`
that names the file and says it is damaged, so callers never see a crash from a library's
internals. Missing files stay `FileNotFoundError` (an `OSError`).
"""

import contextlib
import json
import struct
import zipfile
import zlib


class FileError(ValueError):
    """A model or weights file that cannot be read or written as asked (the message names the file)."""


# What h5py, zipfile, zlib and json raise on truncated or corrupted bytes.
_DAMAGE = (OSError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError,
           json.JSONDecodeError, struct.error, OverflowError, IndexError, RecursionError, MemoryError,
           SystemError)


def describe(error):
    text = str(error) or type(error).__name__
    return text if len(text) <= 400 else text[:400] + "..."


@contextlib.contextmanager
def reading(source, what="a model"):
    """Re-raise any error met while loading `what` from `source` as a `FileError` naming the file."""
    try:
        yield
    except (FileError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except _DAMAGE as error:
        raise FileError(
            f"Cannot load {what} from '{source}': the file is damaged or truncated, or not a file this "
            f"format writes ({type(error).__name__}: {describe(error)})."
        ) from error
    except ValueError as error:  # a config naming something wrong: the message says what
        raise FileError(f"Cannot load {what} from '{source}': {describe(error)}") from error
    except Exception as error:  # noqa: BLE001 - a value of the wrong type in a config, a user class failing
        raise FileError(f"Cannot load {what} from '{source}': {type(error).__name__}: {describe(error)}") from error
