"""`lexgate check`: parse and check a bundle, every error with file:line:col."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..bundle import find_policy_root, load_bundle
from ..diagnostics import PolicyError, render_all
from .common import EXIT_POLICY, OutputFormat, err, out, print_diagnostics


def check(
    path: Annotated[Path, typer.Argument(help="Policy directory or file.")] = Path("policies"),
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """Parse and check policies; report every error with file:line:col."""
    root, _ = find_policy_root(path)
    try:
        bundle = load_bundle(root)
    except PolicyError as error:
        if output == OutputFormat.json:
            print(json.dumps([d.to_dict() for d in error.diagnostics], indent=2))
        else:
            print_diagnostics(error.diagnostics)
            err.print(f"\n[bold red]{len(error.diagnostics)} error(s)[/]")
        raise typer.Exit(EXIT_POLICY) from None
    summary = bundle.summary()
    warnings = bundle.checked.warnings
    if output == OutputFormat.json:
        summary["warnings"] = [w.to_dict() for w in warnings]
        print(json.dumps(summary, indent=2))
        return
    if warnings:
        sys.stderr.write(render_all(warnings, bundle.checked.sources) + "\n")
        err.print(f"[yellow]{len(warnings)} warning(s)[/]\n")
    for regime in summary["regimes"]:
        out.print(
            f"[green]ok[/] {regime['name']}: {regime['rules']} rules, "
            f"{regime['exceptions']} exceptions, {regime['fines']} fines, "
            f"{regime['examples']} examples"
        )
    out.print(f"bundle {bundle.hash[:12]} · {summary['facts']} facts in the vocabulary")
