"""The package's shape: no import cycle between its modules, no module over 400 lines, no folder over 12 modules.

Imports are read with ``ast`` (at module level and inside functions; relative imports resolved). An import of a
package counts as an import of its ``__init__``; ``from pkg import name`` where ``name`` is a submodule counts as
an import of that submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vowelcam"
MAX_LINES = 400
MAX_MODULES = 12


def module_name(path: Path) -> str:
    """``vowelcam/explain/cam.py`` -> ``vowelcam.explain.cam``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names (before looking at the imported names)."""
    if node.level == 0:
        return node.module or ""
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that module ``name`` imports anywhere in its body."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, path.name == "__init__.py")
            subs = [f"{base}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in modules]
            if len(targets) < len(subs):  # names that are not submodules come from the module itself
                targets.append(base)
        else:
            continue
        for target in targets:
            while target and target not in modules:  # import a.b.c of a non-module: its nearest module
                target = target.rpartition(".")[0]
            if target.startswith("vowelcam") and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other round a loop (Tarjan), each sorted; single modules left out."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return components


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The shortest import loop through each module that sits on one, each loop once, as closed paths."""
    cycles: dict[frozenset[tuple[str, str]], list[str]] = {}
    for component in strongly_connected(graph):
        for start in component:
            cycle = _shortest_cycle(graph, set(component), start)
            cycles.setdefault(frozenset(zip(cycle, cycle[1:])), _rotated(cycle))
    return sorted(cycles.values(), key=lambda c: (len(c), c))


def _rotated(cycle: list[str]) -> list[str]:
    """The closed path started at its alphabetically first module (so one loop always prints the same)."""
    ring = cycle[:-1]
    i = ring.index(min(ring))
    ring = ring[i:] + ring[:i]
    return [*ring, ring[0]]


def _shortest_cycle(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest closed path from ``start`` back to it inside the component (breadth-first)."""
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def test_the_graph_reader_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    assert "vowelcam.rundir" in graph["vowelcam.learn.loop"]  # from ..rundir import atomic_path
    assert "vowelcam.config" in graph["vowelcam.learn.loop"]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_the_package():
    graph = import_graph()
    groups, cycles = strongly_connected(graph), find_cycles(graph)
    loops = "\n".join(" -> ".join(c) for c in cycles)
    tangles = "\n".join(f"{len(g)} modules: {', '.join(g)}" for g in groups)
    assert not cycles, (
        f"{len(cycles)} import loop(s) inside vowelcam/ (imports inside functions count too):\n{loops}\n"
        f"modules tied together by loops:\n{tangles}"
    )


def test_no_module_over_400_lines():
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    listing = "\n".join(f"{p}: {n} lines" for p, n in long.items())
    assert not long, f"modules over {MAX_LINES} lines (split them by what they do):\n{listing}"


def test_no_package_folder_holds_more_than_12_modules():
    crowded = {}
    for folder in sorted(p for p in [PACKAGE, *PACKAGE.rglob("*")] if p.is_dir() and (p / "__init__.py").is_file()):
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_MODULES:
            crowded[str(folder.relative_to(PACKAGE.parent))] = len(modules)
    listing = "\n".join(f"{f}/: {n} modules" for f, n in crowded.items())
    assert not crowded, f"package folders with more than {MAX_MODULES} modules (give them floors):\n{listing}"


def test_every_package_folder_is_installed():
    """The installed (non-editable) package lists its subpackages by hand in pyproject.toml: a folder missing there
    would be missing from every installation although the tests of an editable checkout pass."""
    from vowelcam.config import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "vowelcam").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert folders <= listed, f"not in pyproject.toml's packages: {sorted(folders - listed)}"
