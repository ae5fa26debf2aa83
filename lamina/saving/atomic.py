"""Atomic file writes: a process killed during a save leaves the previous file whole.

    with atomic_write("model.keras") as tmp:     # tmp: a new file in the same folder
        write_everything_to(tmp)
    # here "model.keras" is the new file; on an exception it is untouched and tmp is gone

The new content goes to a temporary file beside the target (same file system, so the
rename is atomic), is flushed to disk with fsync, then renamed over the target with
`os.replace`, and the folder is fsynced so the rename itself survives a crash. A
killed process can leave a stray `.<name>.*.tmp` file, never a half-written target.
"""

import contextlib
import os
import tempfile


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_path(path):
    """Flush a file's (or a folder's) content to disk."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if os.path.isdir(path) else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # some platforms cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path in `path`'s folder; on success it replaces `path` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to '{path}': the folder '{folder}' does not exist.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to '{path}': it is a folder; give a file name.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # the permissions a plain open() would give
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    fsync_path(folder)
