"""What an expression reads: fact paths and definitions, through definitions, statically.

Both come from one walk over the IR (`ir.walk`); definitions are followed through the table the
checker builds. List fields are named `transfers[].mechanism` (the position is not known
statically).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from . import ir
from .types import BOOL

DefineTable = Mapping[tuple[str, str], "ir.Node | str"]


def facts_read(nodes: Iterable[ir.Node], defines: DefineTable) -> tuple[str, ...]:
    """Every fact path the expressions may read, through definitions. Static, so the trace
    costs nothing at evaluation time."""
    found: set[str] = set()
    seen: set[tuple[str, str]] = set()
    # (node, loop variable -> the list path it walks)
    pending: list[tuple[ir.Node, dict[str, str]]] = [(n, {}) for n in nodes]
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


def kleene_exact(
    nodes: Iterable[ir.Node],
    defines: Mapping[str, ir.Node],
    finite: Callable[[str], bool],
) -> bool:
    """Whether three-valued logic alone already answers exactly (engine/completion.py need not
    try completions): every finite fact occurs once, and only as the operand of a truth-valued
    atom (`x is consent`, `a = b`, `x in s`) under `and`, `or`, `not` and truth-valued `if`.
    Then each atom depends on facts no other atom reads, and Kleene evaluation of such a
    read-once formula is exact. `defines` maps a definition's name to its body."""
    counts: dict[str, int] = {}
    safe = True

    def visit(node: ir.Node, in_value: bool, seen: frozenset[str], loops: dict[str, str]) -> None:
        nonlocal safe
        if isinstance(node, ir.Fact | ir.Field):
            path = node.path if isinstance(node, ir.Fact) else _field_path(node, loops)
            if path and finite(path):
                counts[path] = counts.get(path, 0) + 1
                safe &= not in_value
            return
        if isinstance(node, ir.Define):
            body = defines.get(node.name)
            if body is not None and node.name not in seen:
                visit(body, in_value, seen | {node.name}, {})
            return
        if isinstance(node, ir.Loop):
            inner = dict(loops)
            if isinstance(node.collection, ir.Fact):
                inner[node.variable] = node.collection.path + "[]"
            for child in node.children():
                # a quantifier is an `or`/`and` over entries, but the same field is read once
                # per entry: counted twice here, so a loop never passes for read-once
                visit(child, True if child is node.value else in_value, seen, inner)
                visit(child, True if child is node.value else in_value, seen, inner)
            return
        if isinstance(node, ir.Op):
            truth_valued = node.type == BOOL
            if node.op in (ir.OpCode.AND, ir.OpCode.OR, ir.OpCode.NOT) or (
                node.op is ir.OpCode.IF and truth_valued
            ):
                for child in node.args:
                    visit(child, in_value, seen, loops)
            elif truth_valued:  # an atom: its operands are values, read once each
                for child in node.args:
                    visit(child, in_value or _is_computed(child), seen, loops)
            else:
                for child in node.args:
                    visit(child, True, seen, loops)
            return
        for child in node.children():
            visit(child, in_value, seen, loops)

    for n in nodes:
        visit(n, False, frozenset(), {})
    return safe and all(c == 1 for c in counts.values())


def _is_computed(node: ir.Node) -> bool:
    """An atom's operand that is more than a fact, a field, a constant or a parameter."""
    return not isinstance(node, ir.Fact | ir.Field | ir.Const | ir.Param | ir.Var)
