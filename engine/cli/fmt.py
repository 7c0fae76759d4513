"""`lexgate fmt`: rewrite policy files in the canonical layout (engine/formatter.py).

`--check` changes nothing and exits 1 listing the files that are not formatted (for CI);
`--diff` prints what would change as a unified diff and changes nothing. A file that does not
parse is reported with its located errors and left alone (exit 1); the others are still done.
`-` formats standard input to standard output.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from ..diagnostics import PolicyError
from .common import EXIT_POLICY, EXIT_USAGE, err, fail, out, print_diagnostics

MAX_FILE_BYTES = 8 * 1024 * 1024  # larger than any policy file; refuse rather than hang


def _policy_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.policy") if p.is_file())
        elif path.is_file():
            yield path
        else:
            fail(EXIT_USAGE, f"`{path}` is neither a policy file nor a directory")


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        fail(EXIT_USAGE, f"`{path}` is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(EXIT_USAGE, f"cannot read `{path}`: {error}")


def _replace(path: Path, text: str) -> None:
    """Write the file atomically (a temporary file beside it, then renamed over it, its mode
    kept): an interrupted `lexgate fmt` never leaves a policy file half written."""
    mode = path.stat().st_mode
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".fmt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, stat.S_IMODE(mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def fmt(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Policy files or directories (default: policies); `-` for stdin."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 listing unformatted files.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Change nothing; print a unified diff of the changes.")
    ] = False,
) -> None:
    """Format policy files in the one canonical layout, keeping every comment."""
    # here, not at the top: the formatter brings Lark, which `lexgate eval` with a cached bundle
    # never needs (every command's module is imported at each start; issue 16)
    from ..formatter import format_source

    targets = paths or [Path("policies")]
    if targets == [Path("-")]:
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            fail(EXIT_USAGE, "standard input is larger than the limit for a policy file")
        try:
            sys.stdout.write(format_source(text, "<stdin>"))
        except PolicyError as error:
            print_diagnostics(error.diagnostics, {"<stdin>": text})
            raise typer.Exit(EXIT_POLICY) from None
        return
    changed: list[Path] = []
    broken = 0
    for path in _policy_files(targets):
        text = _read(path)
        try:
            formatted = format_source(text, str(path))
        except PolicyError as error:
            print_diagnostics(error.diagnostics, {str(path): text})
            broken += 1
            continue
        if formatted == text:
            continue
        changed.append(path)
        if diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True),
                    formatted.splitlines(keepends=True),
                    fromfile=f"{path} (as written)",
                    tofile=f"{path} (formatted)",
                )
            )
        elif check:
            out.print(f"would reformat {path}")
        else:
            _replace(path, formatted)
            out.print(f"reformatted {path}")
    if broken:
        err.print(f"[bold red]{broken} file(s) could not be parsed[/] and were left as they are")
    if (check or diff) and changed:
        err.print(f"{len(changed)} file(s) would be reformatted")
        raise typer.Exit(EXIT_POLICY)
    if broken:
        raise typer.Exit(EXIT_POLICY)
