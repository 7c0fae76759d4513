"""`lexgate analyze [DIR]`: what the solver finds wrong with a bundle (engine/analysis): rules
that can never fire, exceptions that swallow their rule, contradictory obligations and examples,
provisions cited by no satisfiable rule. Each finding has its file:line:col and, where it
applies, an example operation the evaluator decided again; `--format json` gives the findings
as data (what the playground and the language server show)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..bundle import find_policy_root
from ..diagnostics import render
from .common import EXIT_POLICY, OutputFormat, err, load, out, parse_as_of


def analyze(
    path: Annotated[Path, typer.Argument(help="Policy directory.")] = Path("policies"),
    regime: Annotated[
        list[str] | None, typer.Option("--regime", "-r", help="Only these regimes.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day rules of different regimes are paired on (today)."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """Find dead rules, swallowing exceptions and contradictions with an SMT solver (z3)."""
    from ..analysis.analyze import analyze as run  # z3 loads only for this command

    root, _ = find_policy_root(path)
    bundle = load(root)
    report = run(bundle, regime or None, parse_as_of(as_of))
    blocking = [f for f in report.findings if f.kind not in ("not_analysed", "undecided")]
    if output == OutputFormat.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        sources = bundle.checked.sources
        for finding in report.findings:
            sys.stdout.write(render(finding.diagnostic(), sources) + "\n")
            if finding.example is not None:
                sys.stdout.write(f"  = example: {json.dumps(finding.example)}\n")
                sys.stdout.write(f"  = decided: {_summary(finding.decision)}\n")
            sys.stdout.write("\n")
        skipped = (
            f"; not analysed: {', '.join(report.skipped)} (internal)" if report.skipped else ""
        )
        out.print(
            f"{report.rules} rules and {report.exceptions} exceptions in "
            f"{', '.join(report.regimes)} analysed in {report.seconds:.1f} s; lists explored up "
            f"to {report.bound} entries{skipped}"
        )
        summary = f"{len(report.findings)} finding(s)" if report.findings else "no findings"
        (err if blocking else out).print(summary)
    if blocking:
        raise typer.Exit(EXIT_POLICY)


def _summary(decision: dict[str, Any] | None) -> str:
    """One regime's decision (or several, by regime) in a line: status and violations."""
    if not decision:
        return "-"
    views = {"": decision} if "status" in decision else decision
    parts = []
    for regime, view in views.items():
        violated = ", ".join(view.get("violations", ())) or "none"
        parts.append(f"{regime} {view['status']} (violations: {violated})".strip())
    return "; ".join(parts)
