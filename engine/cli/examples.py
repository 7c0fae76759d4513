"""`lexgate test`: run every `example` block; failures and coverage per rule and provision."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..bundle import find_policy_root
from ..tester import Coverage, run_examples
from .common import EXIT_OK, EXIT_POLICY, fail, load, out


def test(
    path: Annotated[
        Path, typer.Argument(help="Policy directory, or one regime's directory.")
    ] = Path("policies"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run every `example` block; report failures and coverage per rule and provision."""
    root, only = find_policy_root(path)
    bundle = load(root)
    report = run_examples(bundle, only)
    if not report.results:
        fail(EXIT_POLICY, f"no examples found under `{path}`")
    for result in report.results:
        if result.passed and not verbose:
            continue
        # file:line:col first, as compilers print it: editors and terminals open it on a click
        mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        where = f"{result.span.file}:{result.span.line}:{result.span.col}"
        out.print(f"{escape(where)}: {mark} {escape(result.regime)}: {escape(result.description)}")
        for failure in result.failures:
            out.print(f"     {failure}", markup=False)
    failed = sum(not r.passed for r in report.results)
    out.print(f"\n{len(report.results) - failed} passed, {failed} failed")
    table = Table("regime", "rules exercised", "provisions exercised", "not exercised", box=None)
    for regime, coverage in report.coverage.items():
        unexercised = [r for r, hit in coverage.rules.items() if not hit]
        table.add_row(
            regime,
            f"{sum(coverage.rules.values())}/{len(coverage.rules)} "
            f"({Coverage.percent(coverage.rules):.0f}%)",
            f"{sum(coverage.provisions.values())}/{len(coverage.provisions)} "
            f"({Coverage.percent(coverage.provisions):.0f}%)",
            ", ".join(unexercised) or "—",
        )
    out.print(table)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_POLICY)
