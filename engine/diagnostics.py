"""Diagnostics as data: every problem lexgate finds in a policy or an operation is a `Diagnostic`.

Editors, the playground and the API consume the data (code, message, span, help); the CLI renders
it in the style of shared/STYLE.md (Cedar/rustc): lowercase message, user text in backticks, the
source line with a caret under the span, advice on a separate `help:` line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }


NO_SPAN = Span("<none>", 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    help: str | None = None
    severity: str = "error"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "span": self.span.to_dict(),
            "help": self.help,
            "notes": list(self.notes),
        }


class LexgateError(Exception):
    """The one error type lexgate raises for bad input; it carries diagnostics, never a trace."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(f"{d.span}: {d.message}" for d in self.diagnostics))


class PolicyError(LexgateError):
    """A policy bundle failed to parse or check; nothing was loaded."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help:` suggestion for a misspelt name, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def render(diagnostic: Diagnostic, sources: dict[str, str] | None = None) -> str:
    """Render one diagnostic as text: header, location, source line with caret, help."""
    span = diagnostic.span
    lines = [f"{diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"]
    if span is NO_SPAN or span.line == 0:
        lines += [f"  = help: {diagnostic.help}"] if diagnostic.help else []
        return "\n".join(lines)
    lines.append(f"  --> {span.file}:{span.line}:{span.col}")
    text = (sources or {}).get(span.file)
    if text is None:
        try:
            with open(span.file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = None
    if text is not None:
        source_lines = text.splitlines()
        if 0 < span.line <= len(source_lines):
            source_line = source_lines[span.line - 1]
            gutter = " " * len(str(span.line))
            end_col = span.end_col if span.end_line == span.line else len(source_line) + 1
            width = max(1, end_col - span.col)
            lines.append(f"{gutter} |")
            lines.append(f"{span.line} | {source_line}")
            lines.append(f"{gutter} | {' ' * (span.col - 1)}{'^' * width}")
    pad = " " * len(str(span.line))
    for note in diagnostic.notes:
        lines.append(f"{pad} = note: {note}")
    if diagnostic.help:
        lines.append(f"{pad} = help: {diagnostic.help}")
    return "\n".join(lines)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None) -> str:
    return "\n\n".join(render(d, sources) for d in diagnostics)
