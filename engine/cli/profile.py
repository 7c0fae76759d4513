"""`lexgate profile check ORG.json`: validate an organisation profile against the vocabulary.

A profile holds organisation facts only (policies/common/levels.policy); each wrong field is
named with its path. Exit 0 when it fits, 2 when it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..vocabulary import OperationError, load_operation_json
from .common import EXIT_USAGE, PoliciesOption, err, fail, load, out

app = typer.Typer(
    help="Organisation profiles: the facts about an organisation, kept once.", no_args_is_help=True
)


@app.command("check")
def check_profile(
    profile: Annotated[Path, typer.Argument(help="Profile JSON (organisation facts).")],
    policies: PoliciesOption = Path("policies"),
) -> None:
    """Check that a profile fits the vocabulary and holds organisation facts only."""
    bundle = load(policies)
    try:
        text = profile.read_text(encoding="utf-8")
    except OSError as error:
        fail(EXIT_USAGE, f"cannot read `{profile}`: {error.strerror}")
    try:
        checked = bundle.load_profile(load_operation_json(text), profile.stem)
    except OperationError as error:
        for field_error in error.errors:
            err.print(f"[bold red]error:[/] {field_error.path}: {field_error.message}")
        raise typer.Exit(EXIT_USAGE) from None
    out.print(f"[green]ok[/] profile {checked.id}: {len(checked.facts)} organisation facts")
