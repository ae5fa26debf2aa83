"""Shared reader for the CIFAR python distributions (CIFAR-10, CIFAR-100).

Each ships as `<name>-python.tar.gz` holding one folder of pickled batches. The batches are
found extracted (Keras 3's `<folder>-target/<folder>/`, Keras 2's `<folder>/`) or read
straight from the archive (its own name, or `<folder>-target_archive` as Keras 3 saves it).
"""

import contextlib
import pickle
import tarfile
import zlib

import numpy as np

from lamina.datasets._files import Layout, Remote, fetch
from lamina.datasets._readers import read_cifar_batch


class Distribution:
    """One CIFAR archive: its title, URL, sha256, inner folder, batch names and Keras 3's target name."""

    def __init__(self, title, url, sha256, folder, batches, target):
        self.title, self.url, self.sha256 = title, url, sha256
        self.folder, self.batches, self.target = folder, tuple(batches), target

    @property
    def archive(self):
        return self.url.rsplit("/", 1)[-1]

    def layouts(self):
        extracted = tuple(f"{self.folder}/{b}" for b in self.batches)
        return [
            Layout(tuple(f"{self.target}/{rel}" for rel in extracted), "Keras 3's extracted cache folder"),
            Layout(extracted, "the extracted official archive (Keras 2's cache)"),
            Layout((self.archive,), f"the official archive, from {self.url}"),
            Layout((f"{self.target}_archive",), "the official archive as Keras 3 saves it"),
        ]

    def read(self, label_key):
        """`[(data uint8 (n, 3, 32, 32), labels list)]` in the order of `batches`, found or downloaded."""
        _, paths = fetch(self.title, self.layouts(), [Remote(self.archive, self.url, self.sha256)])
        if len(paths) == 1:
            return self._read_tar(paths[0], label_key)
        batches = []
        for path in paths:
            with _named_errors(path, f"a {self.title} python batch"):
                with open(path, "rb") as f:
                    batches.append(read_cifar_batch(f, label_key))
        return batches

    def _read_tar(self, path, label_key):
        """The batches from the archive, read in one pass over it (members in any order).

        The compressed stream is read to its end, so that its checksum is verified: a copy
        found on disk is not hash-checked, and a damaged one must not give wrong pixels.
        """
        wanted = {f"{self.folder}/{name}": name for name in self.batches}
        found = {}
        with _named_errors(path, f"the {self.title} python archive"):
            with tarfile.open(path) as archive:
                for member in archive:
                    name = wanted.get(member.name)
                    if name is None or not member.isfile():
                        continue
                    with _named_errors(f"{path} (member {member.name})", f"a {self.title} python batch"):
                        with archive.extractfile(member) as f:
                            found[name] = read_cifar_batch(f, label_key)
                while archive.fileobj.read(1 << 20):
                    pass
        missing = [n for n in self.batches if n not in found]
        if missing:
            raise ValueError(
                f"{path} lacks {', '.join(missing)} under {self.folder}/: it is truncated or not the "
                f"{self.title} python archive; delete it to fetch it again"
            )
        return [found[n] for n in self.batches]


class DamagedFileError(ValueError):
    """A batch or archive that cannot be parsed; the message names the file (and member)."""


@contextlib.contextmanager
def _named_errors(where, what):
    """Turn a parse failure inside the block into a ValueError naming `where` (the innermost name wins)."""
    try:
        yield
    except (DamagedFileError, FileNotFoundError):
        raise
    except (OSError, EOFError, zlib.error, tarfile.TarError, pickle.UnpicklingError, ValueError, TypeError, KeyError,
            IndexError) as err:  # fmt: skip
        raise DamagedFileError(f"{where}: cannot be read as {what}: {err}; the file is damaged, delete it to "
                                "fetch it again") from None


def keras_arrays(batches, n_train):
    """Keras's arrays from the batches: the first `n_train` batches are train, the rest test.

    Images are `(n, 32, 32, 3)` (channels-first when `image_data_format()` says so); labels
    `(n, 1)` in the dtype numpy gives the batch's label list (the caller casts when Keras does).
    """
    x_train = np.concatenate([b[0] for b in batches[:n_train]])
    x_test = np.concatenate([b[0] for b in batches[n_train:]])
    y_train = np.concatenate([np.asarray(b[1]) for b in batches[:n_train]]).reshape(-1, 1)
    y_test = np.concatenate([np.asarray(b[1]) for b in batches[n_train:]]).reshape(-1, 1)
    if image_data_format() == "channels_last":
        x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)


def image_data_format():
    # lamina.backend.config imports jax; read the setting only if that module is already loaded.
    import sys

    config = sys.modules.get("lamina.backend.config")
    return config.image_data_format() if config is not None else "channels_last"
