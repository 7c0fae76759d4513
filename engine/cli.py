"""The `lexgate` command line (typer + rich). One function per subcommand; the server, key and
log subcommands live in `api/cli.py` and are mounted here.

Exit codes a script can rely on:
  0  success; for `eval`: allowed, allowed_with_obligations or not_applicable
  1  policy errors (`check`, and any command that loads a broken bundle), failing examples
  2  bad usage or a bad operation (unreadable file, invalid JSON, a field that does not fit)
  3  `eval`: the decision is denied
  4  `eval`: the decision is undetermined (a needed fact is missing)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from engine.bundle import Bundle, find_policy_root, load_bundle
from engine.decision import Decision, to_json_value
from engine.diagnostics import Diagnostic, LexgateError, PolicyError, render_all
from engine.tester import Coverage, run_examples
from engine.vocabulary import OperationError, load_operation_json

EXIT_OK, EXIT_POLICY, EXIT_USAGE, EXIT_DENIED, EXIT_UNDETERMINED = 0, 1, 2, 3, 4
STATUS_EXIT = {"denied": EXIT_DENIED, "undetermined": EXIT_UNDETERMINED}
STATUS_STYLE = {
    "denied": "bold red", "undetermined": "bold yellow", "allowed_with_obligations": "bold cyan",
    "allowed": "bold green", "not_applicable": "dim",
}

app = typer.Typer(
    name="lexgate", no_args_is_help=True, add_completion=False,
    help="Policy-as-code engine for data-protection law (GDPR, PIPL, CCPA/CPRA).",
    pretty_exceptions_enable=False,  # main() turns a crash into one line, not a traceback
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

PoliciesOption = Annotated[
    Path, typer.Option("--policies", "-p", help="Policy directory (holds common/).")
]


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    # plain text: source lines must not be wrapped, nor `:100:` read as an emoji code
    sys.stderr.write(render_all(diagnostics) + "\n")
    sys.stderr.flush()


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def parse_as_of(text: str | None) -> dt.date | None:
    """The `--as-of` option, or a usage error naming it."""
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(EXIT_USAGE, f"--as-of: `{text}` is not a date (YYYY-MM-DD)")


def _load(path: Path) -> Bundle:
    try:
        return load_bundle(path)
    except PolicyError as error:
        _print_diagnostics(error.diagnostics)
        err.print(f"\n[bold red]{len(error.diagnostics)} error(s)[/]; nothing was loaded")
        raise typer.Exit(EXIT_POLICY) from None


@app.command()
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
            _print_diagnostics(error.diagnostics)
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


def _read_operation(path: Path) -> object:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        _fail(EXIT_USAGE, f"cannot read `{path}`: {error.strerror}")
    return load_operation_json(text)


@app.command("eval")
def evaluate(
    operation: Annotated[Path, typer.Argument(help="Operation JSON file, or - for stdin.")],
    policies: PoliciesOption = Path("policies"),
    explain: Annotated[bool, typer.Option(help="Show every rule's outcome and facts.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the law as of DATE (YYYY-MM-DD).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Reporting currency.")] = "EUR",
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """Decide one operation: status per regime, violations, exposure, obligations."""
    day = parse_as_of(as_of)
    bundle = _load(policies)
    if currency not in {c for pair in bundle.rates.pairs() for c in pair} | {"EUR"}:
        _fail(EXIT_USAGE, f"--currency: no exchange rates for `{currency}` in the policies")
    try:
        decision = bundle.decide(_read_operation(operation), as_of=day, currency=currency,  # type: ignore[arg-type]
                                 explain=explain)
    except OperationError as error:
        for field_error in error.errors:
            err.print(f"[bold red]error:[/] {field_error.path}: {field_error.message}")
        raise typer.Exit(EXIT_USAGE) from None
    if output == OutputFormat.json:
        print(json.dumps(decision.to_dict(explain=explain), indent=2, ensure_ascii=False))
    else:
        _print_decision(decision, explain)
    raise typer.Exit(STATUS_EXIT.get(decision.status, EXIT_OK))


def _money_range(low: object, high: object, at_least: object = None) -> str:
    if high is None and at_least is not None:
        return f"{low or '?'} – at least {at_least} (a fact is missing)"
    return f"{low or '?'} – {high or '? (a fact is missing)'}"


def _print_decision(decision: Decision, explain: bool) -> None:
    out.print(
        f"[{STATUS_STYLE[decision.status]}]{decision.status.upper()}[/] as of "
        f"{decision.as_of.isoformat()} · bundle {decision.bundle_hash[:12]}"
    )
    for regime in decision.regimes.values():
        out.print(f"\n[{STATUS_STYLE[regime.status]}]{regime.regime}: {regime.status}[/]"
                  f"  [dim]{regime.title}[/]")
        for reason in regime.reasons:
            out.print(f"  [dim]{reason}[/]")
        for violation in regime.violations:
            out.print(f"  [red]✗[/] {violation.title}  [dim]({violation.cite})[/]")
            for line in violation.exposure:
                out.print(f"      {line.payer}: {_money_range(line.amount.min, line.amount.max)}"
                          f"  [dim]{line.cite}[/]")
                if explain:
                    for name, value in line.steps:
                        shown = json.dumps(to_json_value(value), ensure_ascii=False)
                        out.print(f"        [dim]{name} = {shown}[/]")
                    for note in line.notes:
                        out.print(f"        [dim]note: {note}[/]")
                for missing in line.missing:
                    out.print(f"      [yellow]missing for the amount:[/] {missing}")
        for obligation in regime.obligations:
            within = f" within {obligation.within}" if obligation.within else ""
            out.print(f"  [cyan]→[/] {obligation.text}{within}  [dim]({obligation.cite})[/]")
        label = "other rules wait for" if regime.status == "denied" else "missing"
        for missing in regime.missing:
            out.print(f"  [yellow]? {label}:[/] {missing}")
        for payer, amount in regime.exposure.items():
            out.print(f"  exposure, {payer} ({regime.aggregation}"
                      f"{', ' + regime.aggregation_cite if regime.aggregation_cite else ''}): "
                      f"{_money_range(amount.min, amount.max, amount.max_at_least)}")
        if explain:
            table = Table("rule", "outcome", "cite", "facts read", show_lines=False, box=None)
            for trace in regime.trace:
                facts = ", ".join(f"{k}={json.dumps(to_json_value(v), ensure_ascii=False)}"
                                  for k, v in trace.facts.items())
                table.add_row(trace.rule, trace.outcome, trace.cite or "", facts)
            out.print(table)
    exposure = decision.exposure
    out.print(f"\ntotal exposure ({decision.currency}): "
              + _money_range(exposure.reporting_min, exposure.reporting_max,
                             exposure.reporting_max_at_least))


@app.command()
def test(
    path: Annotated[Path, typer.Argument(help="Policy directory, or one regime's directory.")] =
    Path("policies"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run every `example` block; report failures and coverage per rule and provision."""
    root, only = find_policy_root(path)
    bundle = _load(root)
    report = run_examples(bundle, only)
    if not report.results:
        _fail(EXIT_POLICY, f"no examples found under `{path}`")
    for result in report.results:
        if result.passed and not verbose:
            continue
        mark = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        out.print(f"{mark} {result.regime}: {result.description}  [dim]{result.span}[/]")
        for failure in result.failures:
            out.print(f"     {failure}")
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


@app.command()
def schema(policies: PoliciesOption = Path("policies")) -> None:
    """Print the JSON Schema of an operation, generated from the vocabulary."""
    bundle = _load(policies)
    print(json.dumps(bundle.schema.json_schema(), indent=2, ensure_ascii=False))


def _mount_optional() -> None:
    """Subcommands of other packages (server, keys, log, simulate) when they are installed."""
    try:
        from api.cli import register
    except ImportError:
        return
    register(app)


_mount_optional()

from engine.sim_cli import simulate as _simulate  # noqa: E402 - heavy imports stay inside it

app.command("simulate")(_simulate)


EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in lexgate, not in the input


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except LexgateError as error:
        _print_diagnostics(error.diagnostics)
        sys.exit(EXIT_USAGE)
    except Exception as error:
        if os.environ.get("LEXGATE_DEBUG"):
            raise
        err.print(f"[bold red]internal error:[/] {type(error).__name__}: {error}", markup=True)
        err.print("this is a bug in lexgate; run again with LEXGATE_DEBUG=1 for the traceback "
                  "and report it")
        sys.exit(EXIT_INTERNAL)


__all__ = ["app", "main"]
