"""The house's rules, checked on the code: imports only go down the floors, and no module imports itself
back through another (no import circles), counting imports inside functions too."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_imports_only_go_down_the_floors():
    """The import-linter `layers` contract in pyproject.toml (the floors are listed in the README)."""
    pytest.importorskip("importlinter", reason="import-linter is a dev dependency")
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
         "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_package_is_on_a_floor():
    """A package missing from the contract would escape the floors; `lamina.distribution` sits right above
    the backend (meshes and layouts are infrastructure the engine consults)."""
    import tomllib

    floors = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]
    listed = {name.strip() for floor in floors for name in floor.split("|")}
    listed = {name if name.startswith("lamina.") else f"lamina.{name}" for name in listed}
    packages = {f"lamina.{p.stem}" for p in (ROOT / "lamina").iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and not p.stem.startswith("__"))}
    assert packages - listed == set(), f"not on any floor of pyproject.toml's contract: {sorted(packages - listed)}"
    assert floors[-2:] == ["lamina.distribution", "lamina.backend"]


def _imports(path, package_of):
    """The lamina modules `path` imports anywhere in it (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lamina"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lamina") and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name in package_of}


def test_no_import_circles_between_modules():
    files = {p: ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "lamina").rglob("*.py")}
    modules = {name.removesuffix(".__init__"): path for path, name in files.items()}
    package_of = set(modules)
    graph = {name: {m for m in _imports(path, package_of) if m != name and not name.startswith(m + ".")
                    and not path.name == "__init__.py"}
             for name, path in modules.items()}
    # A package's __init__ only re-exports what lies below it; a module importing its own package's
    # face is the usual Python idiom, so edges into a package's __init__ from inside it are not circles.
    state, cycle = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycle.extend(stack[stack.index(nxt):] + [nxt])
                return True
            if nxt not in state and visit(nxt, stack + [nxt]):
                return True
        state[node] = "done"
        return False

    for module in sorted(graph):
        if module not in state and visit(module, [module]):
            break
    assert not cycle, " -> ".join(cycle)
