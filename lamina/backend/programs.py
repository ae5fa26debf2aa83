"""Compiled XLA programs kept on disk, found without tracing.

JAX's persistent compilation cache names a program by its lowered module, so
even a warm run traces and lowers it first (0.1-0.3 s for a training loop).
`CachedProgram` names a program by a key its caller computes from what
determines the program (for models: `lamina.training.program_key`), so a warm
run loads the executable straight from disk.

An executable that JAX itself loaded from its cache cannot be serialized again
(it lacks its kernels), so a program is compiled under a module name that
holds the key, which JAX's cache has never seen, and JAX is kept from storing
a second copy. A stored program that fails to load is deleted and compiled
anew.

Entries are executables (machine code this process runs), so like JAX's cache
the folder must be private to the user; it is created with mode 0700. It is
kept under `MAX_BYTES`, dropping the least recently used programs.
"""

import collections
import functools
import hashlib
import json
import os
import tempfile

import jax

_FORMAT = b"lamina-program-1\n"

#: The folder is pruned to this size, least recently used programs first.
MAX_BYTES = 1 << 30

#: How programs were obtained in this process: "loaded" from disk, "compiled" and stored, or left to "jit".
counts = collections.Counter()


def directory():
    """The folder of stored programs (inside JAX's cache folder), or None when caching is off."""
    if not jax.config.jax_compilation_cache_dir or not jax.config.jax_enable_compilation_cache:
        return None
    return os.path.join(jax.config.jax_compilation_cache_dir, "lamina-programs")


def key_for(*parts):
    """Hex key of a program made of lamina's code and described by `parts` (JSON-able; others by repr)."""
    text = json.dumps([_environment(), *parts], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _environment():
    """What outside its description shapes every program: lamina's code, versions, device, XLA flags."""
    import jaxlib

    digest = hashlib.sha256()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the lamina package folder
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    devices = jax.devices()
    return [digest.hexdigest(), jax.__version__, jaxlib.__version__, devices[0].platform,
            [d.device_kind for d in devices], os.environ.get("XLA_FLAGS", "")]


def signature(args):
    """What a compiled program is specialised to: tree structure, shapes, dtypes, weak types."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    return treedef, tuple(_leaf_signature(leaf) for leaf in leaves)


def _leaf_signature(leaf):
    aval = getattr(leaf, "aval", None)  # a JAX array: shape, dtype and weak type in one cached object
    if aval is not None:
        return aval
    dtype = getattr(leaf, "dtype", None)
    if dtype is None:
        return type(leaf).__name__  # a Python scalar: weakly typed
    return leaf.shape, dtype


class CachedProgram:
    """`jax.jit(fn)`, called through executables stored under `key_fn(signature)`.

    `key_fn` returns a hex string naming the program for that signature, or None
    when it cannot vouch for one (then `jax.jit(fn)` runs as usual, with JAX's cache).
    """

    def __init__(self, fn, key_fn):
        self.fn = fn
        self.jitted = jax.jit(fn)
        self.key_fn = key_fn
        self._programs = {}  # signature -> callable

    def __call__(self, *args):
        if jax.config.jax_disable_jit:
            return self.jitted(*args)
        sig = signature(args)
        program = self._programs.get(sig)
        if program is None:
            program = self._programs[sig] = self._obtain(sig, args)
        return program(*args)

    def _obtain(self, sig, args):
        folder = directory()
        key = self.key_fn(sig) if folder else None
        if key is None:
            counts["jit"] += 1
            return self.jitted
        path = os.path.join(folder, key)
        program = _load(path, jax.tree_util.tree_structure((args, {})))
        if program is not None:
            counts["loaded"] += 1
            return program
        with _jax_cache_not_written():
            program = jax.jit(_named(self.fn, key)).lower(*args).compile()
        _store(path, program, folder)
        counts["compiled"] += 1
        return program


def _named(fn, key):
    """`fn` under a name holding `key`, so its lowered module is new to JAX's cache."""
    def program(*args):
        return fn(*args)

    program.__name__ = program.__qualname__ = f"lamina_{key[:24]}"
    return program


class _jax_cache_not_written:
    """Keep JAX from storing the next compile in its own cache (this one stores it)."""

    def __enter__(self):
        self.before = jax.config.jax_persistent_cache_min_compile_time_secs
        jax.config.update("jax_persistent_cache_min_compile_time_secs", float("inf"))

    def __exit__(self, *exc):
        jax.config.update("jax_persistent_cache_min_compile_time_secs", self.before)


def _load(path, in_tree):
    """The program stored at `path`, or None; `in_tree` is the structure of `(args, {})`."""
    import pickle

    from jax.experimental import serialize_executable

    try:
        with open(path, "rb") as f:
            if f.readline() != _FORMAT:
                raise ValueError("not a lamina program")
            payload, out_tree = pickle.load(f)
        program = serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
    except FileNotFoundError:
        return None
    except Exception:  # an entry from another jaxlib or a damaged file: drop it, compile anew
        _remove(path)
        return None
    try:
        os.utime(path)  # recently used: kept longest when the folder is pruned
    except OSError:  # a read-only cache still serves its programs
        pass
    return program


def _store(path, compiled, folder):
    """Write `compiled` to `path` atomically; a program that cannot be serialized is simply not kept."""
    import pickle

    from jax.experimental import serialize_executable

    try:
        payload, _, out_tree = serialize_executable.serialize(compiled)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(_FORMAT)
            pickle.dump((payload, out_tree), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except Exception:
        if "tmp" in locals():
            _remove(tmp)
        return
    _prune(folder)


def _prune(folder, limit=None):
    """Delete the least recently used programs while the folder holds more than `limit` bytes."""
    limit = MAX_BYTES if limit is None else limit
    entries = []
    for entry in os.scandir(folder):
        if entry.is_file() and not entry.name.startswith("."):
            stat = entry.stat()
            entries.append((stat.st_mtime, stat.st_size, entry.path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        _remove(path)
        total -= size


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
