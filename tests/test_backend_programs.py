"""Compiled programs kept on disk and shared in memory: stored once, loaded without tracing, never trusted blindly.

Attacks and accidents covered: planted entries (pickles that would run code), flipped bytes,
truncated and collided entries, world-writable or foreign folders and entries, symbolic
links, concurrent pruning by another process, programs that cannot be stored; and that
lamina leaves JAX's own settings alone.
"""

import hashlib
import json
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.backend import program_store, program_trees, programs


@pytest.fixture
def fresh(monkeypatch):
    """A process-like fresh state: nothing shared in memory, no verdicts on folders, no warnings given."""
    monkeypatch.setattr(programs, "_shared", type(programs._shared)())
    monkeypatch.setattr(program_store, "_verdicts", {})
    monkeypatch.setattr(program_store, "_warned", set())


@pytest.fixture
def folder(tmp_path, monkeypatch, fresh):
    path = tmp_path / "programs"
    monkeypatch.setattr(programs, "_setting", str(path))
    return path


def forget_in_memory():
    """What a new process would have: no executables shared from earlier calls."""
    programs._shared.clear()


def hexkey(name):
    """A valid program key (64 hex digits) standing for `name`."""
    return hashlib.sha256(name.encode()).hexdigest()


def traced_counter():
    """A function that counts how often JAX traces it."""
    calls = []

    def fn(a, b):
        calls.append(1)
        return jnp.tanh(a) @ b + 1.0

    return fn, calls


X = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
W = np.ones((4, 2), np.float32)
EXPECTED = np.tanh(X) @ W + 1.0


def run_keyed(name="k1", x=X, w=W):
    """(result, trace calls, program) of the tanh program stored under `hexkey(name)`."""
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: hexkey(name))
    return program(x, w), calls, program


def entry(folder, name="k1"):
    return folder / hexkey(name)


def counts_delta(before):
    return {k: v - before.get(k, 0) for k, v in programs.counts.items() if v != before.get(k, 0)}


# ----- storing, loading, sharing -------------------------------------------------------------------


def test_a_stored_program_is_loaded_without_tracing(folder):
    out, calls, _ = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert len(calls) == 1 and entry(folder).is_file()
    forget_in_memory()
    before = dict(programs.counts)
    out, calls, program = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    np.testing.assert_allclose(program(X * 2, W), np.tanh(X * 2) @ W + 1.0, rtol=1e-6)
    assert calls == [] and counts_delta(before) == {"loaded": 1}


def test_identical_programs_in_one_process_share_one_executable(folder):
    run_keyed()
    before = dict(programs.counts)
    out, calls, _ = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert calls == [] and counts_delta(before) == {"shared": 1}


def test_an_entry_is_a_header_then_checksummed_json_and_the_executable(folder):
    run_keyed()
    data = entry(folder).read_bytes()
    magic, header, body = data.split(b"\n", 2)
    header = json.loads(header)
    assert magic == b"lamina-program" and header["format"] == 2 and header["key"] == hexkey("k1")
    assert header["length"] == len(body) and header["sha256"] == hashlib.sha256(body).hexdigest()
    meta = json.loads(body.split(b"\n", 1)[0])
    assert meta == {"out_tree": "*"}  # the tanh program returns one array


def test_the_folder_is_created_private(tmp_path, monkeypatch, fresh):
    path = tmp_path / "a" / "b" / "programs"
    monkeypatch.setattr(programs, "_setting", str(path))
    run_keyed()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry(path).stat().st_mode) == 0o600


def test_a_cache_that_cannot_be_touched_still_serves_its_programs(folder, monkeypatch):
    run_keyed()
    forget_in_memory()

    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "utime", refuse)
    out, calls, _ = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert calls == []


def test_each_signature_gets_its_own_program(folder):
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: hexkey(f"k{sig[1][0][0][0]}"))
    program(X, W)
    program(X[:2], W)
    program(X[:1], W)
    program(X[:2], W)
    assert len(calls) == 3
    assert sorted(os.listdir(folder)) == sorted(hexkey(f"k{n}") for n in (1, 2, 3))


def test_the_folder_is_pruned_least_recently_used_first(folder, monkeypatch):
    for i, name in enumerate(["old", "used", "new"]):
        run_keyed(name, X[: i + 1])
        os.utime(entry(folder, name), (1000 + i, 1000 + i))
    size = entry(folder, "new").stat().st_size
    forget_in_memory()
    run_keyed("used", X[:2])  # loading marks it used
    monkeypatch.setattr(programs, "MAX_BYTES", 2 * size + size // 2)
    run_keyed("newest", X[:3] * 1, W[:, :1])
    assert sorted(os.listdir(folder)) == sorted([hexkey("newest"), hexkey("used")])


def test_without_a_cache_folder_nothing_is_written_or_keyed(monkeypatch, fresh):
    monkeypatch.setattr(programs, "_setting", False)
    fn, calls = traced_counter()
    keys = []
    program = programs.CachedProgram(fn, lambda sig: keys.append(sig) or hexkey("k"))
    program(X, W)
    assert keys == [] and len(calls) == 1


FAST = {"xla_cpu_use_fusion_emitters": False}


def test_compiler_options_are_part_of_the_key_and_reach_xla(folder):
    plain, _, _ = run_keyed()
    before = dict(programs.counts)
    fn, calls = traced_counter()
    fast = programs.CachedProgram(fn, lambda sig: hexkey("k1"), compiler_options=FAST)
    np.testing.assert_allclose(fast(X, W), plain, rtol=1e-6)
    assert len(calls) == 1 and counts_delta(before) == {"compiled": 1}  # not the plain program's executable
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == 2
    forget_in_memory()
    before = dict(programs.counts)
    fn, calls = traced_counter()
    np.testing.assert_allclose(programs.CachedProgram(fn, lambda sig: hexkey("k1"), compiler_options=FAST)(X, W),
                               plain, rtol=1e-6)
    assert calls == [] and counts_delta(before) == {"loaded": 1}
    for key_fn in (lambda sig: hexkey("k2"), lambda sig: None):  # described and traced programs
        bad = programs.CachedProgram(traced_counter()[0], key_fn, compiler_options={"xla_cpu_use_fusion_emitters": "x"})
        with pytest.raises(Exception, match="xla_cpu_use_fusion_emitters"):
            bad(X, W)


def test_compiler_options_without_a_cache_folder(monkeypatch, fresh):
    monkeypatch.setattr(programs, "_setting", False)
    np.testing.assert_allclose(programs.CachedProgram(traced_counter()[0], None, compiler_options=FAST)(X, W),
                               EXPECTED, rtol=1e-6)
    bad = programs.CachedProgram(traced_counter()[0], None, compiler_options={"xla_cpu_use_fusion_emitters": "x"})
    with pytest.raises(Exception, match="xla_cpu_use_fusion_emitters"):
        bad(X, W)


def test_disabled_jit_runs_the_python_function(folder):
    fn, calls = traced_counter()
    program = programs.CachedProgram(fn, lambda sig: hexkey("k1"))
    with jax.disable_jit():
        program(X, W)
        program(X, W)
    assert len(calls) == 2 and not folder.exists()


def test_the_signature_tells_shapes_dtypes_and_weak_types_apart():
    base = programs.signature((np.zeros((2, 3), np.float32), 1))
    assert base == programs.signature((np.ones((2, 3), np.float32), 5))
    assert base != programs.signature((np.zeros((2, 4), np.float32), 1))
    assert base != programs.signature((np.zeros((2, 3), np.int32), 1))
    assert base != programs.signature((np.zeros((2, 3), np.float32), 1.0))
    assert base != programs.signature((np.zeros((2, 3), np.float32), jnp.int32(1)))
    assert programs.key_for("p", base) != programs.key_for("p", programs.signature((jnp.zeros((2, 3)), 1)))


# ----- programs of code lamina cannot describe: keyed by their lowered module ------------------------------


def test_an_undescribed_program_is_traced_but_compiled_once(folder):
    fn, calls = traced_counter()
    programs.CachedProgram(fn, lambda sig: None)(X, W)
    assert len(os.listdir(folder)) == 1
    forget_in_memory()
    before = dict(programs.counts)
    again, calls = traced_counter()  # the same code in a new function object, as in a new process
    out = programs.CachedProgram(again, lambda sig: None)(X, W)
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert len(calls) == 1 and counts_delta(before) == {"traced": 1, "loaded": 1}


def test_undescribed_programs_are_told_apart_by_their_whole_constants(folder):
    big = np.zeros(5000, np.float32)
    other = big.copy()
    other[2500] = 1.0  # repr() of both arrays is the same ("0., 0., ..., 0.")
    assert repr(big) == repr(other)

    def closing_over(constant):
        return lambda a: a + jnp.sum(jnp.asarray(constant))

    x = np.zeros(3, np.float32)
    assert programs.CachedProgram(closing_over(big), lambda sig: None)(x).tolist() == [0, 0, 0]
    forget_in_memory()
    assert programs.CachedProgram(closing_over(other), lambda sig: None)(x).tolist() == [1, 1, 1]
    assert len(os.listdir(folder)) == 2


def test_undescribed_programs_using_different_arguments_are_told_apart(folder):
    x, y = np.ones(3, np.float32), np.full(3, 2.0, np.float32)
    assert programs.CachedProgram(lambda a, b: a * 3, lambda sig: None)(x, y).tolist() == [3, 3, 3]
    forget_in_memory()
    assert programs.CachedProgram(lambda a, b: b * 3, lambda sig: None)(x, y).tolist() == [6, 6, 6]


def test_a_program_with_a_host_callback_runs_but_is_not_stored(folder):
    seen = []

    def fn(a):
        jax.debug.callback(lambda v: seen.append(float(v)), a.sum())
        return a * 2

    before = dict(programs.counts)
    out = programs.CachedProgram(fn, lambda sig: hexkey("callback"))(np.ones(3, np.float32))
    jax.effects_barrier()
    assert out.tolist() == [2, 2, 2] and seen == [3.0]
    assert counts_delta(before).get("not stored") == 1 and not entry(folder, "callback").exists()


def test_an_executable_naming_an_unexpected_class_is_not_stored_and_said_once(folder, monkeypatch):
    monkeypatch.setattr(programs, "_PAYLOAD_GLOBALS", programs._PAYLOAD_GLOBALS - {("jax._src.core", "ShapedArray")})
    before = dict(programs.counts)
    with pytest.warns(program_store.ProgramCacheWarning, match="not stored.*jax._src.core.ShapedArray"):
        out, _, _ = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert counts_delta(before) == {"compiled": 1, "not stored": 1} and not folder.joinpath(hexkey("k1")).exists()


# ----- damaged, planted and collided entries --------------------------------------------------------------


def assert_recompiled_after_warning(folder, match):
    forget_in_memory()
    before = dict(programs.counts)
    with pytest.warns(program_store.ProgramCacheWarning, match=match):
        out, calls, _ = run_keyed()
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert len(calls) == 1 and counts_delta(before) == {"compiled": 1}
    program_store.parse(entry(folder).read_bytes(), hexkey("k1"))  # a good entry replaced the bad one


@pytest.mark.parametrize("where", ["magic", "header", "out_tree", "executable", "last byte"])
def test_a_flipped_byte_anywhere_is_a_miss_removed_before_deserializing(folder, monkeypatch, where):
    run_keyed()
    data = bytearray(entry(folder).read_bytes())
    first, second = data.index(b"\n"), data.index(b"\n", data.index(b"\n") + 1)
    position = {"magic": 3, "header": first + 5, "out_tree": second + 3, "executable": len(data) // 2,
                "last byte": len(data) - 1}[where]
    data[position] ^= 0x01
    entry(folder).write_bytes(bytes(data))
    checked = []
    monkeypatch.setattr(programs, "_check_payload", lambda payload: checked.append(1))
    assert_recompiled_after_warning(folder, "damaged")
    assert checked == [1]  # only the fresh program's payload was ever looked at, never the damaged one


def test_a_truncated_entry_is_a_miss(folder):
    run_keyed()
    data = entry(folder).read_bytes()
    entry(folder).write_bytes(data[: len(data) - 100])
    assert_recompiled_after_warning(folder, "bytes where its header says")


def test_an_entry_stored_under_another_key_is_refused(folder):
    run_keyed("other", X[:2])
    entry(folder, "other").rename(entry(folder))  # a collided (or renamed) entry: its header names its key
    assert_recompiled_after_warning(folder, "holds the program of key")


def test_a_damaged_entry_is_reported_once(folder):
    for _ in range(2):
        entry(folder).parent.mkdir(exist_ok=True)
        entry(folder).write_bytes(b"lamina-program\nnot json\n")
        forget_in_memory()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_keyed()
        messages = [w for w in caught if issubclass(w.category, program_store.ProgramCacheWarning)]
        assert len(messages) == (1 if _ == 0 else 0)


class _RunsCode:
    """Pickled, this would create `marker` when loaded (pickle calls `open(marker, "w")`)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(folder, key, payload, meta=None):
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / key).write_bytes(program_store.encode(key, meta or {"out_tree": "*"}, payload))
    os.chmod(folder / key, 0o600)


def test_a_planted_pickle_with_a_valid_header_and_checksum_never_runs(folder, tmp_path):
    marker = tmp_path / "planted-code-ran"
    plant(folder, hexkey("k1"), pickle.dumps(_RunsCode(str(marker))))
    assert_recompiled_after_warning(folder, "may not name [a-z_]*.open")
    assert not marker.exists()


def test_code_hidden_in_an_object_array_never_runs(folder, tmp_path):
    """Stored programs for several devices hold NumPy object arrays (a mesh's grid of devices): the arrays'
    elements are read through the same allowlist."""
    marker = tmp_path / "planted-code-ran"
    grid = np.empty((1,), dtype=object)
    grid[0] = _RunsCode(str(marker))
    plant(folder, hexkey("k1"), pickle.dumps(grid))
    assert_recompiled_after_warning(folder, "may not name [a-z_]*.open")
    assert not marker.exists()


def test_a_planted_entry_of_the_old_pickle_format_never_runs(folder, tmp_path):
    marker = tmp_path / "planted-code-ran"
    folder.mkdir(mode=0o700)
    entry(folder).write_bytes(b"lamina-program-1\n" + pickle.dumps((_RunsCode(str(marker)), None)))
    assert_recompiled_after_warning(folder, "not a lamina program entry")
    assert not marker.exists()


def test_an_output_tree_naming_a_class_outside_the_allowlist_is_refused(folder):
    run_keyed()
    meta, payload = program_store.parse(entry(folder).read_bytes(), hexkey("k1"))
    plant(folder, hexkey("k1"), payload, {"out_tree": {"namedtuple": "os.system", "fields": []}})
    assert_recompiled_after_warning(folder, "unknown tree class 'os.system'")


# ----- folders and entries others could have written ---------------------------------------------------


def refused(folder, match):
    """Run the program and check the cache refused the folder: one warning, nothing loaded or stored."""
    forget_in_memory()
    before = dict(programs.counts)
    with pytest.warns(program_store.ProgramCacheWarning, match=match) as caught:
        out, calls, _ = run_keyed()
        run_keyed("k2")
    np.testing.assert_allclose(out, EXPECTED, rtol=1e-6)
    assert len([w for w in caught if issubclass(w.category, program_store.ProgramCacheWarning)]) == 1
    assert len(str(caught[0].message).splitlines()) == 1
    assert counts_delta(before).get("loaded", 0) == 0 and counts_delta(before).get("shared", 0) == 0
    return counts_delta(before)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_folder_others_can_write_to_is_refused(folder, mode):
    folder.mkdir()
    os.chmod(folder, mode)
    delta = refused(folder, "writable by group or others")
    assert delta == {"jit": 2} and os.listdir(folder) == []


def test_a_folder_inside_a_folder_others_can_write_to_is_refused(tmp_path, monkeypatch, fresh):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setattr(programs, "_setting", str(shared / "programs"))
    refused(shared / "programs", "which others can write to")


def test_a_sticky_parent_such_as_tmp_is_fine(tmp_path, monkeypatch, fresh):
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    monkeypatch.setattr(programs, "_setting", str(sticky / "programs"))
    run_keyed()
    assert entry(sticky / "programs").is_file()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_folder_owned_by_another_user_is_refused(folder):
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    refused(folder, "belongs to uid 65534")


def test_a_folder_or_entry_owned_by_another_user_is_refused_by_uid(folder, monkeypatch):
    run_keyed()
    monkeypatch.setattr(program_store, "_verdicts", {})
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(folder).st_uid + 1)  # as seen by another user
    refused(folder, "not to you")


def test_an_entry_others_can_write_to_turns_the_cache_off(folder):
    run_keyed()
    os.chmod(entry(folder), 0o666)
    delta = refused(folder, "writable by group or others")
    assert delta == {"compiled": 1, "jit": 1}  # k1 refused (compiled without storing), then the cache is off
    assert stat.S_IMODE(entry(folder).stat().st_mode) == 0o666  # the evidence is left in place


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_entry_owned_by_another_user_turns_the_cache_off(folder):
    run_keyed()
    os.chown(entry(folder), 65534, 65534)
    refused(folder, "belongs to uid 65534")


def test_an_entry_that_is_a_symbolic_link_turns_the_cache_off(folder, tmp_path):
    run_keyed("elsewhere")
    entry(folder).symlink_to(entry(folder, "elsewhere"))
    refused(folder, "symbolic link")


# ----- output trees as JSON ----------------------------------------------------------------------------------


def test_output_trees_round_trip_through_json():
    from lamina.training.state import EvalState, TrainState

    tree = (TrainState([1, 2], [], [3], [4, 5]), {"loss": 1, "accuracy": 2, "nested": [None, (6,)]})
    treedef = jax.tree_util.tree_structure(tree)
    description = program_trees.describe(treedef)
    assert program_trees.rebuild(json.loads(json.dumps(description))) == treedef
    assert description["tuple"][0]["namedtuple"] == "lamina.training.state.TrainState"
    assert program_trees.rebuild(program_trees.describe(jax.tree_util.tree_structure(EvalState([], [], [])))) == \
        jax.tree_util.tree_structure(EvalState([], [], []))


def test_output_trees_with_other_classes_are_not_described():
    import collections

    Point = collections.namedtuple("Point", "x y")
    with pytest.raises(program_trees.Undescribable):
        program_trees.describe(jax.tree_util.tree_structure(Point(1, 2)))
    with pytest.raises(program_trees.Undescribable):
        program_trees.describe(jax.tree_util.tree_structure({1: 2}))
    with pytest.raises(program_trees.Undescribable):
        program_trees.rebuild({"namedtuple": "collections.OrderedDict", "fields": []})
    with pytest.raises(program_trees.Undescribable):
        program_trees.rebuild({"pickle": "cos\nsystem\n"})
    with pytest.raises(ValueError, match="only lamina's own"):
        program_trees.register_namedtuple(Point)


# ----- pruning while another process prunes ----------------------------------------------------------------


def test_an_entry_removed_between_listing_and_stat_is_skipped(folder, monkeypatch):
    for i in range(3):
        run_keyed(f"k{i}", X[: i + 1])
    real_scandir = os.scandir

    def racing_scandir(path):
        listing = list(real_scandir(path))
        for item in listing[:2]:
            os.remove(item.path)  # another process prunes these after our listing
        return iter(listing)

    monkeypatch.setattr(os, "scandir", racing_scandir)
    program_store.prune(str(folder), 0)
    assert os.listdir(folder) == []


_PRUNER = textwrap.dedent("""
    import sys
    import numpy as np
    from lamina.backend import programs

    programs.MAX_BYTES = 4 * 12000  # room for a few entries: every store prunes the folder
    keys = range(24) if sys.argv[1] == "up" else reversed(range(24))
    for _ in range(2):
        programs._shared.clear()
        for k in keys:  # the same program under the same key in both processes, in opposite orders
            program = programs.CachedProgram(lambda a, k=k: a * k, lambda sig, k=k: programs.key_for("race", k))
            assert program(np.ones(2, np.float32)).tolist() == [k, k]
    print("ok", dict(programs.counts))
""")


def test_two_processes_storing_and_pruning_one_folder_both_finish(tmp_path):
    env = {**os.environ, "LAMINA_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", _PRUNER, str(start)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for start in ("up", "down")]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.startswith("ok"), err[-3000:]


# ----- whole runs in fresh processes ------------------------------------------------------------------------


_SCRIPT = textwrap.dedent("""
    import json
    import jax
    import numpy as np
    import lamina as keras
    from lamina.backend import programs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    loss = model.evaluate(x, y, verbose=0)[0]
    predicted = model.predict(np.repeat(x, 20, axis=0), batch_size=256, verbose=0)  # a compiled predict
    jax.jit(lambda a: a * 3)(np.ones(3))  # the user's own function: JAX's business, not lamina's
    settings = {name: str(getattr(jax.config, name)) for name in (
        "jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes", "jax_enable_compilation_cache")}
    print(json.dumps({"weights": [w.tolist() for w in model.get_weights()], "loss": history.history["loss"],
                      "eval": float(loss), "predicted": predicted[::97].tolist(), "counts": dict(programs.counts),
                      "settings": settings}))
""")


def _run_script(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300,
                         env={**env, "LAMINA_COMPILATION_CACHE_DIR": str(tmp_path / "cache"), **extra})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_trains_from_the_stored_programs_with_identical_results(tmp_path):
    fresh_run = _run_script(tmp_path)
    files = sorted(os.listdir(tmp_path / "cache"))
    warm = _run_script(tmp_path)
    uncached = _run_script(tmp_path, LAMINA_COMPILATION_CACHE="0")
    assert fresh_run["counts"].get("compiled", 0) >= 2 and fresh_run["counts"].get("loaded", 0) == 0
    assert warm["counts"].get("loaded", 0) == fresh_run["counts"]["compiled"]
    assert warm["counts"].get("compiled", 0) == 0
    assert uncached["counts"].get("loaded", 0) == 0 and uncached["counts"].get("compiled", 0) == 0
    for other in (warm, uncached):
        assert other["weights"] == fresh_run["weights"]
        assert other["loss"] == fresh_run["loss"] and other["eval"] == fresh_run["eval"]
        assert other["predicted"] == fresh_run["predicted"]
    # JAX's own settings stay JAX's defaults, and the user's jax.jit function left nothing in lamina's folder
    defaults = {"jax_compilation_cache_dir": "None", "jax_persistent_cache_min_compile_time_secs": "1.0",
                "jax_persistent_cache_min_entry_size_bytes": "0", "jax_enable_compilation_cache": "True"}
    assert fresh_run["settings"] == defaults
    assert sorted(os.listdir(tmp_path / "cache")) == files and len(files) == fresh_run["counts"]["compiled"]


def test_a_fresh_process_survives_a_tampered_folder_with_identical_results(tmp_path):
    """Flipped, planted and collided entries, then a world-writable folder, each met by a new process."""
    first = _run_script(tmp_path)
    cache = tmp_path / "cache"
    names = sorted(os.listdir(cache))
    assert len(names) >= 4
    flipped, planted, collided, source = (cache / n for n in names[:4])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x10
    flipped.write_bytes(bytes(data))
    marker = tmp_path / "planted-code-ran"
    planted.write_bytes(program_store.encode(planted.name, {"out_tree": "*"}, pickle.dumps(_RunsCode(str(marker)))))
    collided.write_bytes(source.read_bytes())

    out = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c", _SCRIPT], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "LAMINA_COMPILATION_CACHE_DIR": str(cache)})
    assert out.returncode == 0, out.stderr[-3000:]
    second = json.loads(out.stdout.strip().splitlines()[-1])
    for expected in ("sha256 mismatch", "may not name", "holds the program of key"):
        assert expected in out.stderr
    assert not marker.exists()
    assert second["counts"].get("compiled") == 3 and second["counts"].get("loaded") == len(names) - 3
    assert (second["weights"], second["loss"], second["eval"]) == (first["weights"], first["loss"], first["eval"])

    os.chmod(cache, 0o777)
    out = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c", _SCRIPT], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "LAMINA_COMPILATION_CACHE_DIR": str(cache)})
    assert out.returncode == 0, out.stderr[-3000:]
    third = json.loads(out.stdout.strip().splitlines()[-1])
    assert "program cache off" in out.stderr and "writable by group or others" in out.stderr
    assert set(third["counts"]) == {"jit"} and third["weights"] == first["weights"]


def test_the_gemm_warm_up_runs_once_per_process(folder, monkeypatch):
    from lamina.training import warmup

    monkeypatch.setattr(warmup, "_started", False)
    before = sum(programs.counts.values())
    warmup.start()
    warmup.start()
    assert sum(programs.counts.values()) == before + 1
    assert len(os.listdir(folder)) == 1


def test_xla_options_this_jaxlib_does_not_know_are_left_out():
    options = {"xla_cpu_use_fusion_emitters": False, "xla_cpu_experimental_ynn_fusion_type": ""}
    assert programs.known_options(options, (0, 8, 1)) == options
    assert programs.known_options(options, (0, 7, 2)) == {"xla_cpu_use_fusion_emitters": False}
    assert programs.known_options(options, (0, 5, 1)) == {}
    assert programs.known_options({"xla_other": 1}, (0, 4, 30)) == {"xla_other": 1}  # not in the table: kept
    installed = programs.known_options(options)
    compiled = jax.jit(lambda a: a + 1).lower(1.0).compile(compiler_options=installed)  # XLA accepts them all
    assert float(compiled(1.0)) == 2.0
    assert programs.CachedProgram(lambda a: a, lambda sig: None, compiler_options=options).compiler_options == installed
