"""What every subcommand shares: consoles, exit codes, loading a bundle, reporting errors.

Output is for people and for pipes alike: no emoji codes (`:100:` in a source line stays text),
no wrapping of long lines (a piped or 80-column terminal gets whole numbers and paths).

Exit codes a script can rely on:
  0  success; for `eval`: allowed, allowed_with_obligations or not_applicable
  1  policy errors (`check`, and any command that loads a broken bundle), failing examples
  2  bad usage or a bad operation (unreadable file, invalid JSON, a field that does not fit)
  3  `eval`: the decision is denied
  4  `eval`: the decision is undetermined (a needed fact is missing)
  70 a bug in lexgate (LEXGATE_DEBUG=1 shows the traceback)
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from ..bundle import Bundle, load_bundle
from ..diagnostics import Diagnostic, PolicyError, render_all

EXIT_OK, EXIT_POLICY, EXIT_USAGE, EXIT_DENIED, EXIT_UNDETERMINED = 0, 1, 2, 3, 4
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in lexgate, not in the input
STATUS_EXIT = {"denied": EXIT_DENIED, "undetermined": EXIT_UNDETERMINED}
STATUS_STYLE = {
    "denied": "bold red",
    "undetermined": "bold yellow",
    "allowed_with_obligations": "bold cyan",
    "allowed": "bold green",
    "not_applicable": "dim",
}

out = Console(highlight=False, emoji=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)

PoliciesOption = Annotated[
    Path, typer.Option("--policies", "-p", help="Policy directory (holds common/).")
]


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def print_diagnostics(
    diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None
) -> None:
    # plain text: source lines must not be wrapped, nor `:100:` read as an emoji code
    sys.stderr.write(render_all(diagnostics, sources) + "\n")
    sys.stderr.flush()


def fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code)


def parse_as_of(text: str | None) -> dt.date | None:
    """The `--as-of` option, or a usage error naming it."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(EXIT_USAGE, f"--as-of: `{text}` is not a date (YYYY-MM-DD)")


def load(path: Path) -> Bundle:
    try:
        return load_bundle(path)
    except PolicyError as error:
        print_diagnostics(error.diagnostics)
        err.print(f"\n[bold red]{len(error.diagnostics)} error(s)[/]; nothing was loaded")
        raise typer.Exit(EXIT_POLICY) from None


# the names the simulate command imports
_fail, _load = fail, load
