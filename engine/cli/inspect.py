"""`lexgate inspect ast|ir FILE`: the stages made visible (as `opa parse` and Jinja's
Environment do). `ast` prints one file's parsed declarations; `ir` the checked, folded form of
the rules, fines and definitions of the bundle the file belongs to, with their operators."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import ir
from ..bundle import find_policy_root
from .common import EXIT_POLICY, EXIT_USAGE, fail, load, print_diagnostics


class Stage(StrEnum):
    ast = "ast"
    ir = "ir"


def inspect(
    stage: Annotated[Stage, typer.Argument(help="`ast` (parsed) or `ir` (checked and folded).")],
    file: Annotated[Path, typer.Argument(help="A .policy file.")],
) -> None:
    """Show a policy file as the parser (ast) or the checker (ir) sees it, as JSON."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        fail(EXIT_USAGE, f"cannot read `{file}`: {error.strerror}")
    if stage is Stage.ast:
        from ..parser import parse_module  # Lark: only for this stage (issue 16, cold start)

        module, diagnostics = parse_module(text, str(file))
        if diagnostics:
            print_diagnostics(diagnostics, {str(file): text})
            raise typer.Exit(EXIT_POLICY)
        print(json.dumps(_plain(module), indent=2, ensure_ascii=False))
        return
    root, _ = find_policy_root(file.parent)
    bundle = load(root)
    shown: dict[str, Any] = {}
    for regime in bundle.checked.regimes.values():
        for kind, table in (
            ("rules", regime.rules),
            ("fines", regime.fines),
            ("defines", regime.defines),
        ):
            for name, item in table.items():
                if item.span.file.endswith(file.name) and _same(item.span.file, file):
                    shown.setdefault(regime.name, {}).setdefault(kind, {})[name] = _plain(item)
    print(json.dumps(shown, indent=2, ensure_ascii=False))


def _same(span_file: str, file: Path) -> bool:
    return Path(span_file).resolve() == file.resolve()


def _plain(value: Any) -> Any:
    """Dataclasses as dicts (node kinds named), enums by value, other values as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {"node": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name == "span":
                data["at"] = str(getattr(value, f.name))
            else:
                data[f.name] = _plain(getattr(value, f.name))
        if isinstance(value, ir.Node):
            data["type"] = str(value.type)
        return data
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    if isinstance(value, StrEnum):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
