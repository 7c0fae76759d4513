"""The `lexgate` command line (typer + rich), one module per subcommand (as OPA's `cmd/`).

The engine's own commands are registered here; the service's (serve, keys, log) come from the
`lexgate.commands` entry point group that the `api` package declares in pyproject.toml, so the
engine never imports the service. Exit codes: engine/cli/common.py.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points

import typer
from rich.markup import escape

from ..diagnostics import LexgateError
from .analyze import analyze
from .audit import audit
from .check import check
from .common import EXIT_INTERNAL, EXIT_USAGE, err, print_diagnostics
from .diff import diff
from .eval import evaluate
from .examples import test
from .fmt import fmt
from .inspect import inspect
from .lsp import lsp
from .profile import app as profile_app
from .retention import retention
from .schema import schema

app = typer.Typer(
    name="lexgate",
    no_args_is_help=True,
    add_completion=False,
    help="Policy-as-code engine for data-protection law (GDPR, PIPL, CCPA/CPRA).",
    pretty_exceptions_enable=False,  # main() turns a crash into one line, not a traceback
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"lexgate {version('lexgate')}")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree
            print("lexgate (not installed)")
        raise typer.Exit()


@app.callback()
def _global_options(
    show_version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Policy-as-code engine for data-protection law (GDPR, PIPL, CCPA/CPRA)."""


app.command()(check)
app.command("eval")(evaluate)
app.command()(test)
app.command()(fmt)
app.command()(schema)
app.command()(inspect)
app.command()(diff)
app.command()(analyze)
app.command()(audit)
app.command()(lsp)
app.add_typer(profile_app, name="profile")
app.command()(retention)


def _simulate() -> None:
    from .simulate import simulate  # heavy imports stay inside it

    app.command("simulate")(simulate)


def _register_plugins() -> None:
    """Subcommands of other installed packages (the decision service's serve, keys, log).
    Not loaded for a run of one of the engine's own commands (`lexgate eval …`): they import
    the service's modules, ~40 ms of every such run (bench/cold_start.py, issue 16)."""
    own = {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}
    own |= {g.name for g in app.registered_groups if g.name}
    if len(sys.argv) > 1 and sys.argv[1] in own:
        return
    for entry in entry_points(group="lexgate.commands"):
        entry.load()(app)


_simulate()
_register_plugins()


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except LexgateError as error:
        print_diagnostics(error.diagnostics)
        sys.exit(EXIT_USAGE)
    except Exception as error:
        if os.environ.get("LEXGATE_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {escape(f'{type(error).__name__}: {error}')}")
        err.print(
            "this is a bug in lexgate; run again with LEXGATE_DEBUG=1 for the traceback "
            "and report it"
        )
        sys.exit(EXIT_INTERNAL)


__all__ = ["app", "main"]
