"""The checker's diagnostics as LSP diagnostics, grouped by the file they are in.

Each keeps its code (linked to nothing: the codes are listed in engine/error_codes.py), its
message and its `help:` line (appended, as the command line prints it), at the exact range of
its span. A diagnostic with no file (a bundle-wide problem) is shown on the document that was
being edited, at its first character, so it is never lost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from ..diagnostics import Diagnostic, Severity
from .ranges import span_range

SOURCE = "lexgate"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
}


def to_lsp(diagnostic: Diagnostic, text: str, codec: PositionCodec) -> types.Diagnostic:
    message = diagnostic.message
    for note in diagnostic.notes:
        message += f"\nnote: {note}"
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    return types.Diagnostic(
        range=span_range(diagnostic.span, text.split("\n"), codec),
        message=message,
        severity=_SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Error),
        code=diagnostic.code,
        source=SOURCE,
    )


def by_file(
    diagnostics: Iterable[Diagnostic],
    sources: Mapping[str, str],
    fallback: str,
    codec: PositionCodec,
) -> dict[str, list[types.Diagnostic]]:
    """{file: its LSP diagnostics} for the files of `sources`; one whose file is not a file of
    the bundle goes to `fallback` (the document being edited)."""
    grouped: dict[str, list[types.Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        file = diagnostic.span.file
        if file not in sources:
            file = fallback
        grouped[file].append(to_lsp(diagnostic, sources.get(file, ""), codec))
    return dict(grouped)


__all__ = ["SOURCE", "by_file", "to_lsp"]
