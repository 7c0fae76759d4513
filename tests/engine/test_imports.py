"""Issue 18: the data flows one way. No import cycles among the modules of engine/ and api/
(imports inside functions count: a cycle hidden in a function still makes the order of first
use matter), and the engine imports nothing from the service. Imports under `if TYPE_CHECKING:`
do not count: they never run."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("engine", "api")

# Known edges that close a cycle, each with why it is still there. The test fails when one is
# gone (remove it here), so the list only shrinks.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` except those under `if TYPE_CHECKING:`."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))
    return out


def _imported(name: str, path: Path) -> set[str]:
    """The modules of engine/ and api/ that `name` imports, anywhere in its text. `from p import
    x` imports `p.x` when that is a module, else `p`; either way a package's `__init__` runs,
    so each enclosing package counts too."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for target in targets:
            target = target.removeprefix("lexgate.")  # the installed name of engine/ and api/
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                if candidate in MODULES and candidate != name:
                    found.add(candidate)
    # A package's own __init__ importing its submodules is how packages work, not a cycle.
    return {m for m in found if not (name.startswith(m + ".") and MODULES[m].name == "__init__.py")}


IMPORTS = {name: _imported(name, path) for name, path in MODULES.items()}
GRAPH = {
    name: {t for t in targets if (name, t) not in KNOWN_CYCLE_EDGES}
    for name, targets in IMPORTS.items()
}


def _cycle() -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(GRAPH):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_the_walk_sees_imports_inside_functions_and_skips_type_checking_ones() -> None:
    assert "engine.simulation.runner" in IMPORTS["engine.bundle"]  # inside Bundle.simulate
    assert "engine.bundle" not in IMPORTS["engine.questions"]  # under TYPE_CHECKING
    assert len(IMPORTS) == len(MODULES) > 60


def test_the_known_cycle_edges_still_exist() -> None:
    gone = {edge for edge in KNOWN_CYCLE_EDGES if edge[1] not in IMPORTS[edge[0]]}
    assert not gone, f"remove from KNOWN_CYCLE_EDGES: {gone}"


def test_no_import_cycles_in_engine_or_api() -> None:
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_the_engine_imports_nothing_from_the_service() -> None:
    wrong = {
        module: sorted(t for t in targets if t == "api" or t.startswith("api."))
        for module, targets in GRAPH.items()
        if module.startswith("engine")
    }
    assert not {m: t for m, t in wrong.items() if t}, wrong
