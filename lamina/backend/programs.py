"""Compiled XLA programs kept on disk and shared in memory, found without tracing when possible.

`CachedProgram(fn, key_fn)` is `jax.jit(fn)` whose executables are found by key:

* described programs: `key_fn(signature)` names the program from what determines it
  (for models: `lamina.training.program_key`, computed from their configuration), so a
  warm run, or a second identical model in the same process, runs it without tracing;
* traced programs: when `key_fn` cannot vouch for a key (the model holds user code), the
  function is traced and lowered, and the key is the hash of the lowered module itself;
  only XLA's compilation is skipped.

An executable is looked up in this process first (identical models share it), then in
the folder (`program_store`: private, checksummed, refused if others could write to it),
and compiled and stored last. A stored executable is JAX's serialized form, read through
an unpickler that can construct only the JAX classes named in `_PAYLOAD_GLOBALS` (names in
a file reach nothing else); its output tree is stored as JSON (`program_trees`). Programs
that hold host callbacks or other Python objects fail that check and are not stored.

The cache is lamina's alone: JAX's own persistent compilation cache and its settings are
left as the user has them (off unless the user turns it on). The folder is
`$LAMINA_COMPILATION_CACHE_DIR`, else `~/.cache/lamina/programs`; `LAMINA_COMPILATION_CACHE=0`
turns the cache off (every program is then `jax.jit(fn)`, compiled once per object).
"""

import collections
import functools
import hashlib
import io
import json
import os
import pickle
import re

import jax
import numpy as np

from lamina.backend import program_store, program_trees

#: The first jaxlib release that accepts each XLA option lamina sets; older releases lack what the option
#: turns off (their XLA has no fusion emitters, no YNNPACK fusions), so it is left out there, where
#: XLA would refuse it as unknown.
OPTION_SINCE = {"xla_cpu_use_fusion_emitters": (0, 5, 3), "xla_cpu_experimental_ynn_fusion_type": (0, 8, 1),
                "xla_cpu_copy_insertion_use_region_analysis": (0, 5, 0)}

#: The folder is pruned to this size, least recently used programs first.
MAX_BYTES = 1 << 30
#: Executables kept in memory for other models of this process (least recently used dropped).
MAX_SHARED = 64

#: How programs were obtained in this process: "shared" (in memory), "loaded" (from disk),
#: "compiled" (and stored), "traced" (keyed by their lowered module), or left to "jit" (cache off).
counts = collections.Counter()

_setting = None  # None: from the environment; False: off; a path: that folder
_shared = collections.OrderedDict()  # (key, in_tree) -> executable


def configure(path=None, enabled=True):
    """Use `path` for stored programs (None: the environment's or the default folder), or turn the cache off."""
    global _setting
    _setting = False if not enabled else (path or default_directory())


def known_options(options, version=None):
    """`options` without those this jaxlib (`version`, default the installed one) does not know (`OPTION_SINCE`)."""
    if version is None:
        version = _jaxlib_version()
    return {k: v for k, v in options.items() if version >= OPTION_SINCE.get(k, ())}


@functools.lru_cache(maxsize=None)
def _jaxlib_version():
    import jaxlib.version

    parts = [re.match(r"\d*", part).group() for part in jaxlib.version.__version__.split(".")[:3]]
    return tuple(int(p or 0) for p in parts)


def default_directory():
    return os.environ.get("LAMINA_COMPILATION_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "lamina", "programs")


def directory():
    """The folder of stored programs (created 0700 and checked), or None when the cache is off or refused."""
    if _setting is False:
        return None
    if _setting is None and os.environ.get("LAMINA_COMPILATION_CACHE", "1") == "0":
        return None
    return program_store.open_folder(_setting or default_directory())


# ----- keys ----------------------------------------------------------------------------------------


def key_for(*parts):
    """Hex key of a program described by `parts` (JSON: str, numbers, bool, None, lists, str-keyed dicts;
    a `signature`), together with everything outside its description that shapes it (`_environment`)."""
    text = json.dumps([_environment(), *parts], sort_keys=True, default=_signature_part)
    return hashlib.sha256(text.encode()).hexdigest()


def _signature_part(obj):
    if isinstance(obj, jax.tree_util.PyTreeDef):
        return f"treedef:{obj}"
    if isinstance(obj, jax.core.ShapedArray):
        return f"aval:{obj.str_short()}:{obj.weak_type}"
    if isinstance(obj, np.dtype):
        return f"dtype:{obj.str}"
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    raise TypeError(f"key_for: cannot describe {type(obj).__name__} {obj!r} exactly")


@functools.lru_cache(maxsize=1)
def _environment():
    """What outside its description shapes every program: lamina's code, versions, devices, XLA flags."""
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
            [d.device_kind for d in devices], str(jax.config.jax_default_device),
            os.environ.get("XLA_FLAGS", ""), os.environ.get("LIBTPU_INIT_ARGS", "")]


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
    return tuple(leaf.shape), np.dtype(dtype)


# ----- the program ---------------------------------------------------------------------------------


class CachedProgram:
    """`jax.jit(fn)`, called through executables found by key (see the module docstring).

    `key_fn(signature)` returns a hex key naming the program for that signature, or None
    when it cannot vouch for one (then the program is traced and keyed by its lowered module).
    `layout` (under a distribution): `place(args)` puts the arguments on the mesh,
    `jit_kwargs(args)` gives `in_shardings` / `out_shardings`, `describe()` the mesh (JSON; in
    every key, so a program for a mesh is never taken for a one-device run, nor for another
    mesh), `storable` whether executables may go to disk. `compiler_options` (XLA debug options, in
    every key) are passed to XLA when the program is compiled.
    """

    def __init__(self, fn, key_fn, layout=None, compiler_options=None):
        self.fn = fn
        self.compiler_options = known_options(compiler_options or {})
        self.jitted = jax.jit(fn)
        self.key_fn = key_fn
        self.layout = layout
        self._programs = {}  # signature -> callable

    def __call__(self, *args):
        if jax.config.jax_disable_jit:
            return self.jitted(*args)
        sig = memo = None
        if self.layout is not None:  # the same shapes laid out otherwise are another program
            args = self.layout.place(args)
            sig = signature(args)
            memo = (sig, tuple(getattr(leaf, "sharding", None) for leaf in jax.tree_util.tree_leaves(args)))
        else:
            sig = memo = signature(args)
            spread = _spread(args)
            if spread:  # arguments laid out over several devices (a distribution or a Population placed them)
                memo = (sig, spread)
                program = self._programs.get(memo)
                if program is None:
                    program = self._programs[memo] = self._obtain_spread(sig, args, spread)
                return program(*args)
        program = self._programs.get(memo)
        if program is None:
            program = self._programs[memo] = self._obtain(sig, args)
        return program(*args)

    def _obtain_spread(self, sig, args, spread):
        """The program for arguments spread over this process's devices as they are (a Population placed them):
        shared in memory by key, and stored in the folder like any other (it is loaded onto the same devices, in
        the same order, which its key names)."""
        options = self.compiler_options or None
        folder = directory()
        key = self.key_fn(sig) if folder is not None else None
        if key is None:
            counts["jit"] += 1
            return jax.jit(self.fn).lower(*args).compile(compiler_options=options) if options else jax.jit(self.fn)
        key = key_for(key, [[str(s), _device_ids(s)] for s in spread], {"compiler_options": options})
        devices = _devices_in_order(spread)
        return _find_or_compile(folder if devices else None, key, jax.tree_util.tree_structure((args, {})), None,
                                lambda: jax.jit(self.fn).lower(*args).compile(compiler_options=options),
                                devices=devices)

    def _obtain(self, sig, args):
        folder = directory()
        jit_kwargs, extra = {}, []
        if self.layout is not None:
            jit_kwargs = self.layout.jit_kwargs(args)
            extra = [self.layout.describe(), _describe_shardings(jit_kwargs)]
            if not self.layout.storable:
                folder = None
        options = self.compiler_options or None
        if options:
            extra.append({"compiler_options": options})
        if folder is None:
            counts["jit"] += 1
            if options:
                return jax.jit(self.fn, **jit_kwargs).lower(*args).compile(compiler_options=options)
            return jax.jit(self.fn, **jit_kwargs) if jit_kwargs else self.jitted
        in_tree = jax.tree_util.tree_structure((args, {}))
        key = self.key_fn(sig)
        if key is not None:
            fn = self.fn
            key = key_for(key, *extra) if extra else key
            return _find_or_compile(
                folder, key, in_tree, None,
                lambda: jax.jit(_named(fn, key), **jit_kwargs).lower(*args).compile(compiler_options=options))
        # keep_unused: a pruned argument is invisible in the module's text, so which ones were kept
        # would be missing from the key.
        lowered = jax.jit(self.fn, keep_unused=True, **jit_kwargs).lower(*args)
        key = key_for("traced", lowered.as_text(debug_info=False), str(in_tree), str(lowered.out_tree), *extra)
        counts["traced"] += 1
        return _find_or_compile(folder, key, in_tree, lowered.out_tree,
                                lambda: lowered.compile(compiler_options=options))


@functools.cache
def _several_devices():
    return jax.device_count() > 1


def _spread(args):
    """The shardings of the arguments that live on more than one device (empty when all are on one): a
    program compiled for them is another program (`CachedProgram._obtain_spread`)."""
    if not _several_devices():
        return ()
    return tuple(leaf.sharding for leaf in jax.tree_util.tree_leaves(args)
                 if isinstance(leaf, jax.Array) and len(leaf.sharding.device_set) > 1)


def _devices_in_order(spread):
    """The devices a program for `spread` runs on, in the order its executable lists them (that of the one mesh
    all its spread arguments share), or None when they share no mesh or span other processes (not stored)."""
    meshes = {getattr(s, "mesh", None) for s in spread}
    if len(meshes) != 1 or not hasattr(next(iter(meshes)), "device_ids"):
        return None
    local = {d.id: d for d in jax.local_devices()}
    ids = _device_ids(spread[0])
    return [local[i] for i in ids] if all(i in local for i in ids) else None


def _device_ids(sharding):
    """The ids of a sharding's devices, in its mesh's order when it has one (its text names no devices)."""
    mesh = getattr(sharding, "mesh", None)
    if mesh is not None and hasattr(mesh, "device_ids"):
        return np.asarray(mesh.device_ids).ravel().tolist()
    return sorted(d.id for d in sharding.device_set)


def _describe_shardings(jit_kwargs):
    """The shardings a program is compiled with, as text for its key (the mesh's devices are described apart)."""
    return {name: [str(getattr(s, "spec", s)) for s in jax.tree_util.tree_leaves(value)]
            for name, value in sorted(jit_kwargs.items())}


def _find_or_compile(folder, key, in_tree, out_tree, compile, devices=None):
    """The executable of `key`: shared in memory, loaded from `folder`, or compiled and stored (`folder` None:
    kept in memory only).

    `out_tree` is None for described programs (it is read from the entry, or written to it). `devices`: those
    of a program compiled for several (in its order); None: one, the default device.
    """
    memo = (key, in_tree, out_tree)
    program = _shared.get(memo)
    if program is not None:
        _shared.move_to_end(memo)
        counts["shared"] += 1
        return program
    program = None if folder is None else _load(folder, key, in_tree, out_tree, devices)
    if program is not None:
        counts["loaded"] += 1
    else:
        with _jax_cache_not_written():
            program = compile()
        counts["compiled"] += 1
        if folder is not None and program_store.usable(folder):
            _store(folder, key, program, with_tree=out_tree is None)
    _shared[memo] = program
    while len(_shared) > MAX_SHARED:
        _shared.popitem(last=False)
    return program


def _named(fn, key):
    """`fn` under a name holding `key`, so its lowered module is new to JAX's own cache if the user enabled it."""
    def program(*args):
        return fn(*args)

    program.__name__ = program.__qualname__ = f"lamina_{key[:24]}"
    return program


class _jax_cache_not_written:
    """Keep JAX's own persistent cache (when the user turned it on) from storing a second copy."""

    def __enter__(self):
        self.before = None
        if jax.config.jax_compilation_cache_dir:
            self.before = jax.config.jax_persistent_cache_min_compile_time_secs
            jax.config.update("jax_persistent_cache_min_compile_time_secs", float("inf"))

    def __exit__(self, *exc):
        if self.before is not None:
            jax.config.update("jax_persistent_cache_min_compile_time_secs", self.before)


# ----- executables on disk -----------------------------------------------------------------------


def _load(folder, key, in_tree, out_tree, devices=None):
    """The executable stored under `key`, loaded onto `devices` (None: the default device), or None (a damaged
    or foreign entry is a miss, removed)."""
    try:
        found = program_store.read(folder, key)
    except program_store.Refused as err:
        program_store.refuse(folder, str(err))
        return None
    if found is None:
        return None
    meta, payload = found
    from jax.experimental import serialize_executable

    try:
        if out_tree is None:
            out_tree = program_trees.rebuild(meta.get("out_tree"))
        _check_payload(payload)
        if devices is None:  # one device: by default JAX would load the program for every local device
            device = jax.config.jax_default_device
            devices = [device if isinstance(device, jax.Device) else jax.devices(device)[0]]  # None or a platform
        return serialize_executable.deserialize_and_load(payload, in_tree, out_tree, execution_devices=devices)
    except Exception as err:  # verified bytes that still do not load (checked names, another jaxlib): drop
        path = program_store.path_of(folder, key)
        program_store.remove(path)
        program_store.warn_once(f"lamina: removed program cache entry {path} that does not load "
                                f"({type(err).__name__}: {str(err)[:200]}); it is compiled again")
        return None


def _store(folder, key, compiled, with_tree):
    """Write `compiled` under `key`; a program that cannot be stored safely is simply not kept."""
    from jax.experimental import serialize_executable

    try:
        payload, _, out_tree = serialize_executable.serialize(compiled)
        meta = {"out_tree": program_trees.describe(out_tree) if with_tree else None}
    except Exception:  # host callbacks, closed-over constants, nodes JSON cannot hold: compiled per process
        counts["not stored"] += 1
        return
    try:
        _check_payload(payload)
    except pickle.UnpicklingError as err:  # JAX's format changed: say so rather than recompile silently
        counts["not stored"] += 1
        program_store.warn_once(f"lamina: compiled programs are not stored: this JAX's executables hold more "
                                f"than lamina's program cache reads ({err}); please report it")
        return
    try:
        program_store.write(folder, key, meta, payload)
        program_store.prune(folder, MAX_BYTES)
    except OSError as err:  # a full or read-only disk: the program still runs
        program_store.warn_once(f"lamina: cannot write to the program cache {folder} ({err.strerror})")


#: The only globals a stored executable may name: JAX's classes for an executable's description.
_PAYLOAD_GLOBALS = frozenset({
    ("jax", "P"),
    ("jax._src.core", "ManualAxisType"),
    ("jax._src.core", "MemorySpace"),
    ("jax._src.core", "ShapedArray"),
    ("jax._src.interpreters.pxla", "AllArgsInfo"),
    ("jax._src.interpreters.pxla", "UnloadedMeshExecutable"),
    ("jax._src.layout", "Layout"),
    ("jax._src.linear_util", "DebugInfo"),
    ("jax._src.mesh", "AbstractDevice"),
    ("jax._src.mesh", "AbstractMesh"),
    ("jax._src.mesh", "AxisType"),
    ("jax._src.mesh", "Mesh"),  # of a program for several devices: which ones (ids), in which order
    ("jax._src.named_sharding", "_unpickle_named_sharding"),
    ("jax._src.sharding_impls", "_unpickle_single_device_sharding"),
    ("jax._src.stages", "ArgInfo"),
    ("jaxlib._jax", "DeviceList"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),  # a mesh's grid of devices (each one a checked reference by id)
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),  # NumPy 1's name
})


def _allowed_global(module, name):
    if (module, name) in _PAYLOAD_GLOBALS:
        return True
    if module == "ml_dtypes" and not name.startswith("_"):  # dtypes such as bfloat16
        import ml_dtypes

        found = getattr(ml_dtypes, name, None)
        return isinstance(found, type) and issubclass(found, np.generic)
    return False


class _CheckingUnpickler(pickle.Unpickler):
    """Reads a payload with every global checked against `_PAYLOAD_GLOBALS`; the executable is not loaded."""

    def find_class(self, module, name):
        if not _allowed_global(module, name):
            raise pickle.UnpicklingError(f"a stored program may not name {module}.{name}")
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and pid and pid[0] == "device" and len(pid) == 2:
            return _devices_by_id()[pid[1]]
        if isinstance(pid, tuple) and pid and pid[0] in ("exec", "client"):
            return None
        raise pickle.UnpicklingError(f"unknown reference {str(pid)[:40]}")


def _devices_by_id():
    return {d.id: d for d in jax.devices()}


def _check_payload(payload):
    """Raise unless `payload` (JAX's serialized executable) names only allowed globals.

    JAX's format is a pickle stream; reading it once with a checking unpickler (which never
    loads the executable) before JAX reads it means a name planted in a file reaches nothing.
    """
    _CheckingUnpickler(io.BytesIO(payload)).load()
