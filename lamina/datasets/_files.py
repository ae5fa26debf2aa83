"""Where data set files are looked for, and how missing ones are downloaded.

Folders searched, in order (the first folder holding a complete copy wins):

1. every folder in `$LAMINA_DATASETS` (several may be joined with `os.pathsep`);
2. lamina's cache, `$LAMINA_HOME/datasets` (default `~/.lamina/datasets`);
3. Keras's cache, `$KERAS_HOME/datasets` (default `~/.keras/datasets`), same names as Keras;
4. Debian's `/usr/share/datasets` (packages such as `dataset-fashion-mnist`).

A data set may be present in several layouts (e.g. Keras's `boston_housing.npz` or the
original `boston_housing/housing.data`); each layout lists the relative paths it needs.
When no folder holds one, the canonical files are downloaded (sha256-checked, resumable,
atomic) into lamina's cache. Files found locally are not hash-checked (re-compressed copies
are fine; their content is validated by the parsers); downloads always are.
"""

import os
from dataclasses import dataclass

from lamina.utils.file_utils import DownloadError, download_file, keras_home, lamina_home

#: System-wide data folders (Debian installs `dataset-*` packages under /usr/share/datasets/<name>).
SYSTEM_DIRS = ["/usr/share/datasets"]


class DatasetNotFoundError(FileNotFoundError):
    """No folder holds the data set and it could not be downloaded; the message says what to put where."""


@dataclass(frozen=True)
class Layout:
    """One way a data set can lie on disk: relative paths that must all exist."""

    files: tuple
    description: str


@dataclass(frozen=True)
class Remote:
    """A canonical file to download: saved as `relpath` under lamina's cache."""

    relpath: str
    url: str
    file_hash: str  # sha256 (64 hex digits) or md5 (32)


def search_dirs():
    """`[(folder, why)]` in search order (see the module docstring)."""
    dirs = []
    for entry in os.environ.get("LAMINA_DATASETS", "").split(os.pathsep):
        if entry.strip():
            dirs.append((os.path.expanduser(entry.strip()), "$LAMINA_DATASETS"))
    dirs.append((cache_dir(), "lamina's cache"))
    dirs.append((os.path.join(keras_home(), "datasets"), "Keras's cache"))
    for d in SYSTEM_DIRS:
        dirs.append((d, "Debian's dataset-* packages"))
    return dirs


def cache_dir():
    """lamina's data set cache: `$LAMINA_HOME/datasets` (default `~/.lamina/datasets`)."""
    return os.path.join(lamina_home(), "datasets")


def locate(layouts):
    """`(layout, [absolute paths])` for the first complete copy found, or None."""
    for folder, _ in search_dirs():
        if not os.path.isdir(folder):
            continue
        for layout in layouts:
            paths = [os.path.join(folder, rel) for rel in layout.files]
            if all(os.path.isfile(p) for p in paths):
                return layout, paths
    return None


def _missing_message(title, layouts, reason):
    lines = [f"The {title} data set is not on this machine and could not be downloaded ({reason})."]
    lines.append("Put one of these sets of files")
    for layout in layouts:
        lines.append(f"  - {', '.join(layout.files)}   ({layout.description})")
    lines.append("into one of these folders (searched in this order):")
    for folder, why in search_dirs():
        lines.append(f"  - {folder}   ({why})")
    lines.append("or point $LAMINA_DATASETS at the folder that holds them.")
    return "\n".join(lines)


def fetch(title, layouts, remotes):
    """`(layout, paths)` of a local copy, downloading `remotes` into lamina's cache if needed.

    `remotes` are the files of the layout `layouts[i]` whose `files` equal their relpaths.
    Raises `DatasetNotFoundError` (naming files and folders) when offline or unreachable.
    """
    found = locate(layouts)
    if found is not None:
        return found
    if not remotes:
        raise DatasetNotFoundError(_missing_message(title, layouts, "lamina has no download source for it"))
    rels = tuple(r.relpath for r in remotes)
    layout = next(lay for lay in layouts if lay.files == rels)
    paths = []
    try:
        for remote in remotes:
            target = os.path.join(cache_dir(), remote.relpath)
            if not os.path.isfile(target):
                download_file(remote.url, target, file_hash=remote.file_hash)
            paths.append(target)
    except DownloadError as e:
        raise DatasetNotFoundError(_missing_message(title, layouts, str(e))) from e
    except PermissionError as e:
        reason = f"lamina's cache {cache_dir()} is not writable ({e}); set $LAMINA_HOME to a writable folder"
        raise DatasetNotFoundError(_missing_message(title, layouts, reason)) from e
    return layout, paths


def direct_file(path):
    """An explicit file path (one with a folder part) as an absolute path, else None.

    Loaders take Keras's `path=` argument: a bare file name is searched for in the data set
    folders; a path such as `./data/mnist.npz` is read as is.
    """
    path = os.fspath(path)
    if not os.path.dirname(path):
        return None
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise FileNotFoundError(f"path={path!r}: no such file ({full}); pass a bare file name to search the caches")
    return full


#: Where Keras downloads its prepared data set files from.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
