"""What an expression reads: fact paths and definitions, through definitions, statically.

Both come from one walk over the IR (`ir.walk`); definitions are followed through the table the
checker builds. List fields are named `transfers[].mechanism` (the position is not known
statically).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine import ir

DefineTable = Mapping[tuple[str, str], "ir.Node | str"]


def facts_read(nodes: Iterable[ir.Node], defines: DefineTable) -> tuple[str, ...]:
    """Every fact path the expressions may read, through definitions. Static, so the trace
    costs nothing at evaluation time."""
    found: set[str] = set()
    seen: set[tuple[str, str]] = set()
    pending = [(n, {}) for n in nodes]  # (node, loop variable -> list path)
    while pending:
        node, loops = pending.pop()
        if isinstance(node, ir.Fact):
            found.add(node.path)
        elif isinstance(node, ir.Field):
            path = _field_path(node, loops)
            if path:
                found.add(path)
        elif isinstance(node, ir.Define):
            key = (node.scope, node.name)
            body = defines.get(key)
            if isinstance(body, ir.Node) and key not in seen:
                seen.add(key)
                pending.append((body, {}))  # a definition sees no loop variable of its user
        elif isinstance(node, ir.Loop):
            inner = dict(loops)
            if isinstance(node.collection, ir.Fact):
                inner[node.variable] = node.collection.path + "[]"
            pending.append((node.collection, loops))
            pending.extend((child, inner) for child in (node.condition, node.value) if child)
        else:
            pending.extend((child, loops) for child in node.children())
    return tuple(sorted(found))


def defines_read(nodes: Iterable[ir.Node], defines: DefineTable) -> tuple[str, ...]:
    """The definitions the expressions read, each after the ones it depends on, so a fine's
    intermediate figures can be shown in the order a reader computes them."""
    ordered: list[str] = []

    def visit(node: ir.Node) -> None:
        for current in ir.walk(node):
            if isinstance(current, ir.Define) and current.name not in ordered:
                body = defines.get((current.scope, current.name))
                if isinstance(body, ir.Node):
                    visit(body)
                    if current.name not in ordered:
                        ordered.append(current.name)

    for n in nodes:
        visit(n)
    return tuple(ordered)


def uses_knownness(nodes: Iterable[ir.Node], defines: DefineTable) -> bool:
    """Whether `is known` / `is missing` is used, directly or through a definition."""
    pending, seen = list(nodes), set()
    while pending:
        for current in ir.walk(pending.pop()):
            if isinstance(current, ir.Op) and current.op in (ir.OpCode.KNOWN, ir.OpCode.MISSING):
                return True
            if isinstance(current, ir.Define) and (current.scope, current.name) not in seen:
                seen.add((current.scope, current.name))
                body = defines.get((current.scope, current.name))
                if isinstance(body, ir.Node):
                    pending.append(body)
    return False


def _field_path(node: ir.Node, loops: Mapping[str, str]) -> str | None:
    if isinstance(node, ir.Var):
        return loops.get(node.name)
    if isinstance(node, ir.Field):
        base = _field_path(node.target, loops)
        return f"{base}.{node.name}" if base else None
    return None
