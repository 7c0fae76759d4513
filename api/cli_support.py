"""What the service's commands share (api/cli.py, api/log_export.py): the error console, settings
from options, and a verified read-only snapshot of the decision log. Its own module so that the
log export can use it without importing the command table that registers it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def settings_from(**given: Any) -> Settings:
    try:
        return Settings(**{name: value for name, value in given.items() if value is not None})
    except ValueError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None


def trusted_key(settings: Settings, public_key: str | None) -> str | None:
    from .decision_log.checkpoints import KeyFileError, public_key_from

    try:
        if public_key is not None:
            return public_key_from(public_key)
        path = settings.resolved_signing_key
        return public_key_from(str(path)) if path.exists() else None
    except KeyFileError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None


def verified(log: str | None, public_key: str | None, signing_key: Path | None) -> Any:
    """(snapshot context, chain result) for the log, read-only; exits 2 if there is no log."""
    from .decision_log.verify import LogUnavailable, read_only, verify_snapshot

    settings = settings_from(log_url=log, signing_key=signing_key)
    if not settings.log_enabled:
        err.print("[bold red]error:[/] --log none has no log to read")
        raise typer.Exit(2)
    trusted = trusted_key(settings, public_key)
    try:
        context = read_only(settings.log_url)
        snapshot = context.__enter__()
    except LogUnavailable as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    return context, snapshot, verify_snapshot(snapshot, trusted)
