"""`lexgate diff OLD NEW [--as-of DATE]` and `lexgate diff --as-of D1 --vs-as-of D2 DIR`: which
operations the two bundles (or the law on the two dates) decide differently, per regime, each
difference under the declaration that changed and with an example operation that both sides'
evaluators decided again (engine/analysis/diff.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from ..bundle import find_policy_root
from .common import EXIT_USAGE, OutputFormat, fail, load, out, parse_as_of


def diff(
    old: Annotated[Path, typer.Argument(help="The old policy directory.")],
    new: Annotated[
        Path | None, typer.Argument(help="The new policy directory (default: OLD).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date to compare on (default: today).")
    ] = None,
    vs_as_of: Annotated[
        str | None, typer.Option("--vs-as-of", help="The new side's date (one bundle, two dates).")
    ] = None,
    regime: Annotated[
        list[str] | None, typer.Option("--regime", "-r", help="Only these regimes.")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """Which operations two bundles, or one bundle on two dates, decide differently."""
    from ..analysis.diff import diff as run  # z3 loads only for this command

    if new is None and vs_as_of is None:
        fail(EXIT_USAGE, "give a NEW bundle, or --vs-as-of to compare OLD on two dates")
    old_day = parse_as_of(as_of) or dt.date.today()
    new_day = parse_as_of(vs_as_of) or old_day
    old_bundle = load(find_policy_root(old)[0])
    new_bundle = old_bundle if new is None else load(find_policy_root(new)[0])
    labels = (str(old), str(new if new is not None else old))
    report = run(old_bundle, new_bundle, old_day, new_day, regime or None, labels)
    if output == OutputFormat.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    out.print(
        f"{report.old} ({report.old_as_of}) -> {report.new} ({report.new_as_of}); "
        f"lists (transfers, disclosures) explored up to {report.bound} entries"
    )
    decisive = report.decisive()
    for name in report.regimes:
        causes = [c for c in decisive if c.regime == name]
        no_claim = [c for c in report.unanalysed() if c.regime == name]
        if not causes and not no_claim:
            out.print(f"[green]{name}[/]: every operation decided the same way")
            continue
        out.print(f"[bold]{name}[/]: {len(causes)} change(s)")
        for item in no_claim:
            out.print(f"  [yellow]no claim[/]: {item.message}")
        for cause in causes:
            d = cause.declaration
            if d is None:
                out.print("  changes no single declaration explains")
            else:
                where = f" ({d.span})" if d.span else ""
                out.print(f"  {d.kind} `{d.name}`{where}: {d.detail}")
            for effect in cause.effects:
                checked = "" if effect.agrees else " [bold red](the evaluator disagrees)[/]"
                out.print(f"    {effect.message}{checked}")
                if effect.example is not None:
                    out.print(f"      example: {json.dumps(effect.example)}", markup=False)
    for cause in report.causes:
        if cause.declaration is None and cause.regime not in report.regimes:
            for effect in cause.effects:
                out.print(effect.message)
