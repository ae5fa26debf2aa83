"""lamina's folder of compiled programs: private, verified before use, kept small. Bytes only (no JAX here).

One file per program, named by its key (64 hex digits):

    lamina-program\\n
    {"format": 2, "key": "<key>", "length": <n>, "sha256": "<hex of the body>"}\\n
    <body: n bytes> = one line of JSON metadata (the program's output tree), then the executable

Reading checks, in this order, before a byte of the body is interpreted: the file is
a regular file (not a link) owned by the user and not writable by group or others;
the header parses, names the key asked for (a collided or renamed entry is refused),
and the body has exactly its length and sha256. An entry that fails a check of its
contents is damaged: a miss, removed, with one warning.

The folder is created 0700. Like ssh with its keys, a folder, parent folder or entry
that someone else could have written (owned by another user, or writable by group or
others; sticky folders such as /tmp are fine as parents) is refused with a one-line
`ProgramCacheWarning`, and the cache is off for the rest of the process. The folder is
kept under a size limit, least recently used entries first; entries that vanish
meanwhile (another process pruning) are skipped.
"""

import errno
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import warnings

FORMAT = 2
_MAGIC = b"lamina-program\n"
_MAX_HEADER = 1024
_KEY = re.compile(r"[0-9a-f]{64}\Z")
_STALE_TMP_S = 3600  # a temporary file this old was left by a process that died while writing


class ProgramCacheWarning(UserWarning):
    """The program cache skipped an entry or turned itself off (the message says why and what to do)."""


class Refused(Exception):
    """Something in the folder may have been written by someone else: do not use the cache."""


class Damaged(Exception):
    """An entry's contents fail a check: treat it as a miss."""


_verdicts = {}  # real folder path -> None (safe) or the reason it is refused
_warned = set()


def warn_once(message):
    """Emit `message` as a `ProgramCacheWarning`, once per process."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, ProgramCacheWarning, stacklevel=3)


# ----- the folder ----------------------------------------------------------------------------------


def open_folder(path):
    """`path` resolved, created 0700 if absent, and checked once per process; None if refused (warned)."""
    real = os.path.realpath(os.path.expanduser(path))
    if real not in _verdicts:
        reason = _verdicts[real] = _folder_problem(real)
        if reason is not None:
            warn_once(f"lamina: program cache off: {real} {reason}")
    return real if _verdicts[real] is None else None


def usable(folder):
    """Whether `folder` (as `open_folder` returned it) has not been refused since."""
    return _verdicts.get(folder) is None


def refuse(folder, reason):
    """Turn the cache in `folder` off for this process, with one warning naming `reason`."""
    _verdicts[os.path.realpath(folder)] = reason
    warn_once(f"lamina: program cache off: {reason}")


def _folder_problem(real):
    if not hasattr(os, "geteuid"):  # no POSIX owners (Windows): the user's profile folder is private
        os.makedirs(real, exist_ok=True)
        return None
    try:
        os.makedirs(real, mode=0o700, exist_ok=True)
        st = os.lstat(real)
    except OSError as err:
        return f"cannot be created or read ({err.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    problem = _ownership_problem(st)
    if problem:
        return f"{problem}; {_fix(real, st)}"
    parent = os.path.dirname(real)
    while True:
        try:
            st = os.stat(parent)
        except OSError as err:
            return f"cannot be checked: its parent {parent} is unreadable ({err.strerror})"
        if st.st_uid not in (os.geteuid(), 0):
            return (f"is inside {parent}, which belongs to uid {st.st_uid}; choose a folder of your own with "
                    "LAMINA_COMPILATION_CACHE_DIR")
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return (f"is inside {parent}, which others can write to (mode {oct(st.st_mode & 0o7777)}); "
                    f"run `chmod go-w {parent}` or choose another folder with LAMINA_COMPILATION_CACHE_DIR")
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def _ownership_problem(st):
    """Why a folder or entry with this stat could have been written by someone else, or None."""
    if st.st_uid != os.geteuid():
        return f"belongs to uid {st.st_uid}, not to you (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        return f"is writable by group or others (mode {oct(st.st_mode & 0o7777)})"
    return None


def _fix(path, st):
    if st.st_uid != os.geteuid():
        return "remove it or choose a folder of your own with LAMINA_COMPILATION_CACHE_DIR"
    return f"run `chmod 700 {path}`"


# ----- entries -------------------------------------------------------------------------------------


def path_of(folder, key):
    if not _KEY.match(key):
        raise ValueError(f"a program key is 64 lowercase hex digits, got {key!r}")
    return os.path.join(folder, key)


def read(folder, key):
    """(metadata dict, executable bytes) stored under `key`, or None.

    Raises `Refused` for an entry someone else could have written; a damaged entry is
    removed, warned about once, and reported as None.
    """
    path = path_of(folder, key)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise Refused(f"{path} is a symbolic link") from None
        return None  # unreadable (a cache on a read-only share we may not read): simply a miss
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{path} is not a regular file")
        if hasattr(os, "geteuid"):
            problem = _ownership_problem(st)
            if problem:
                raise Refused(f"{path} {problem}; {_fix(path, st)}")
        data = f.read()
    try:
        meta, payload = parse(data, key)
    except Damaged as err:
        remove(path)
        warn_once(f"lamina: removed damaged program cache entry {path} ({err}); it is compiled again")
        return None
    try:
        os.utime(path)  # recently used: kept longest when the folder is pruned
    except OSError:  # a read-only cache still serves its programs
        pass
    return meta, payload


def parse(data, key):
    """(metadata, executable bytes) of an entry's `data` stored under `key`; raises `Damaged`."""
    if not data.startswith(_MAGIC):
        raise Damaged("not a lamina program entry")
    end = data.find(b"\n", len(_MAGIC), len(_MAGIC) + _MAX_HEADER)
    if end < 0:
        raise Damaged("no header line")
    try:
        header = json.loads(data[len(_MAGIC):end])
    except ValueError:
        raise Damaged("unreadable header") from None
    if not isinstance(header, dict) or set(header) != {"format", "key", "length", "sha256"}:
        raise Damaged("unreadable header")
    if header["format"] != FORMAT:
        raise Damaged(f"format {header['format']!r}, this lamina reads format {FORMAT}")
    if header["key"] != key:
        raise Damaged(f"it holds the program of key {str(header['key'])[:16]}..., not {key[:16]}...")
    start = end + 1
    if len(data) - start != header["length"]:
        raise Damaged(f"{len(data) - start} bytes where its header says {header['length']}")
    if hashlib.sha256(memoryview(data)[start:]).hexdigest() != header["sha256"]:
        raise Damaged("sha256 mismatch")
    split = data.find(b"\n", start)
    try:
        meta = json.loads(data[start:split]) if split >= 0 else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise Damaged("unreadable metadata")
    return meta, data[split + 1:]


def encode(key, meta, payload):
    """The bytes of an entry (see the module docstring)."""
    body = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode() + b"\n" + payload
    header = {"format": FORMAT, "key": key, "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body


def write(folder, key, meta, payload):
    """Store an entry atomically (a private temporary file renamed into place)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(encode(key, meta, payload))
        os.replace(tmp, path_of(folder, key))
    except BaseException:
        remove(tmp)
        raise


def prune(folder, limit):
    """Delete the least recently used entries while `folder` holds more than `limit` bytes.

    Entries removed by another process between the listing and their `stat` are skipped;
    temporary files left by a process that died while writing are removed after an hour.
    """
    entries = []
    try:
        listing = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in listing:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:  # gone already (another process pruned it) or unreadable
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if _KEY.match(entry.name):
            entries.append((st.st_mtime, st.st_size, entry.path))
        elif entry.name.startswith(".tmp-") and now - st.st_mtime > _STALE_TMP_S:
            remove(entry.path)
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        remove(path)
        total -= size


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
