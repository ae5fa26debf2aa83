"""Atomic file writes: a process killed during a save leaves the previous file whole; and a background
writer for saves a training loop should not wait for.

    with atomic_write("model.keras") as tmp:     # tmp: a new file in the same folder
        write_everything_to(tmp)
    # here "model.keras" is the new file; on an exception it is untouched and tmp is gone

The new content goes to a temporary file beside the target (same file system, so the
rename is atomic), is flushed to disk with fsync, then renamed over the target with
`os.replace`, and the folder is fsynced so the rename itself survives a crash. A
killed process can leave a stray `.<name>.*.tmp` file, never a half-written target.
"""

import contextlib
import math
import os
import tempfile
import threading
import time


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


class BackgroundWriter:
    """Writes files on a worker thread so a training loop does not wait for the disk.

    `submit(path, write)` queues `write()` (which writes `path`, atomically) and returns at once. A newer
    request for a path still waiting replaces the older one, and a path is rewritten at most every
    `min_interval` seconds unless someone waits for it: a "best so far" checkpoint saved every epoch of a fast
    fit costs a few writes, and its last version is always written. At most `max_pending` requests wait; a
    further `submit` blocks until one is written. `wait(paths)` writes those paths (all when None) now, blocks
    until they are on disk and raises the first error a write hit. The worker is not a daemon: the process
    finishes its writes before it exits.
    """

    def __init__(self, max_pending=2, min_interval=1.0):
        self.max_pending = max_pending
        self.min_interval = min_interval
        self._lock = threading.Condition()
        self._queue = {}  # path -> write, in submission order
        self._busy = None  # the path being written
        self._urgent = []  # a set of paths per waiter ({None}: all)
        self._written_at = {}
        self._errors = {}
        self._worker = None

    def submit(self, path, write):
        path = os.path.abspath(os.fspath(path))
        with self._lock:
            self._raise(path)
            while path not in self._queue and len(self._queue) >= self.max_pending:
                self._written_at.pop(next(iter(self._queue)), None)  # make room: the oldest goes now
                self._lock.notify_all()
                self._lock.wait()
            replaced = self._queue.pop(path, None) is not None  # a newer version of a waiting write replaces it
            self._queue[path] = write
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="lamina-writer")
                self._worker.start()
            elif not replaced:  # a replaced write keeps its due time: the worker need not wake for it
                self._lock.notify_all()

    def _next(self):
        """The next path to write (under the lock), waiting out `min_interval`; None when the queue is empty."""
        while self._queue:
            now = time.monotonic()
            due = {p: self._written_at.get(p, -math.inf) + self.min_interval for p in self._queue}
            urgent = set().union(*self._urgent)
            ready = [p for p in self._queue if due[p] <= now or p in urgent or None in urgent]
            if ready:
                return ready[0]
            self._lock.wait(timeout=min(due.values()) - now)
        return None

    def _run(self):
        while True:
            with self._lock:
                path = self._next()
                if path is None:
                    self._worker = None
                    self._lock.notify_all()
                    return
                write = self._queue.pop(path)
                self._busy = path
            try:
                write()
            except BaseException as err:  # kept for the caller of wait() / submit()
                with self._lock:
                    self._errors[path] = err
            finally:
                with self._lock:
                    self._busy = None
                    self._written_at[path] = time.monotonic()
                    self._lock.notify_all()

    def pending(self, path):
        path = os.path.abspath(os.fspath(path))
        with self._lock:
            return path in self._queue or path == self._busy

    def wait(self, paths=None):
        """Write `paths` (an iterable of paths; None: everything) now and block until they are on disk; raise
        the error a write of them hit."""
        wanted = None if paths is None else {os.path.abspath(os.fspath(p)) for p in paths}
        urgent = {None} if wanted is None else wanted
        with self._lock:
            self._urgent.append(urgent)
            self._lock.notify_all()
            try:
                while True:
                    waiting = set(self._queue) | ({self._busy} if self._busy else set())
                    if not (waiting if wanted is None else waiting & wanted):
                        break
                    self._lock.wait()
            finally:
                self._urgent.remove(urgent)
            for path in list(self._errors) if wanted is None else [p for p in self._errors if p in wanted]:
                self._raise(path)

    def _raise(self, path):
        err = self._errors.pop(path, None)
        if err is not None:
            err.add_note(f"(raised while writing '{path}' in the background)")
            raise err


#: The process's background writer (ModelCheckpoint's saves; readers of a file wait for its pending write).
background = BackgroundWriter()
