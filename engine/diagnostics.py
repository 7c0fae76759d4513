"""Diagnostics as data: every problem lexgate finds in a policy or an operation is a `Diagnostic`.

Editors, the playground and the API consume the data (code, message, span, help); the CLI renders
it in the style of shared/STYLE.md (Cedar/rustc): lowercase message, user text in backticks, the
source line with a caret under the span, advice on a separate `help:` line.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Any


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


class Severity(StrEnum):
    ERROR = "error"  # the bundle does not load
    WARNING = "warning"  # it loads; `lexgate check` shows it


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    _: KW_ONLY  # what, why, where read well in order; the rest by name
    help: str | None = None
    severity: Severity = Severity.ERROR
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


# Names longer than this get no suggestion: comparing them costs more and helps no one.
_SUGGEST_MAX_LENGTH = 80


@functools.lru_cache(maxsize=64)
def _suggestion_index(candidates: tuple[str, ...]) -> tuple[tuple[str, ...], Any, Any]:
    """(candidates, their lengths, their letter counts as a matrix), once per candidate list."""
    import numpy as np

    kept = tuple(c for c in candidates if len(c) <= _SUGGEST_MAX_LENGTH)
    counts = np.zeros((len(kept), 128), dtype=np.int16)
    for row, candidate in enumerate(kept):
        for code in candidate.encode("ascii", "replace"):
            counts[row, min(code, 127)] += 1
    return kept, np.array([len(c) for c in kept], dtype=np.int32), counts


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help:` suggestion for a misspelt name, or None when nothing is close.

    difflib's ratio costs tens of microseconds per pair, and a file with thousands of unknown
    names asks once per name, against every known name. The letters two names share bound
    that ratio from above (2 × shared / total length, difflib's own `quick_ratio`); computed
    for all candidates at once on a cached letter-count matrix, it leaves difflib only the
    few candidates that could reach 0.6."""
    if len(name) > _SUGGEST_MAX_LENGTH:
        return None
    import numpy as np

    kept, lengths, counts = _suggestion_index(tuple(candidates))
    if not kept:
        return None
    mine = np.zeros(128, dtype=np.int16)
    for code in name.encode("ascii", "replace"):
        mine[min(code, 127)] += 1
    shared = np.minimum(counts, mine).sum(axis=1)
    bound = 2 * shared >= 0.6 * (lengths + len(name))
    plausible = [kept[i] for i in np.flatnonzero(bound)]
    matches = difflib.get_close_matches(name, plausible, n=1, cutoff=0.6)
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
