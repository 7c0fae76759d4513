"""`lexgate eval`: decide one operation and show why.

The text layout reads top-down as counsel would answer: per regime the status, the violations
with their exposure, the duties and obligations (with the facts that would confirm a duty), the
rules still undetermined with the facts each waits for, the topics the operation does not
describe, then the total. Lines are never wrapped or cut, so numbers survive a pipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..decision import Decision, RegimeDecision, to_json_value
from ..vocabulary import OperationError, load_operation_json
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    STATUS_EXIT,
    STATUS_STYLE,
    OutputFormat,
    PoliciesOption,
    err,
    fail,
    load,
    out,
    parse_as_of,
)


def _read_operation(path: Path) -> Any:
    import sys

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as error:
        fail(EXIT_USAGE, f"cannot read `{path}`: {error.strerror}")
    return load_operation_json(text)


def evaluate(
    operation: Annotated[Path, typer.Argument(help="Operation JSON file, or - for stdin.")],
    policies: PoliciesOption = Path("policies"),
    explain: Annotated[bool, typer.Option(help="Show every rule's outcome and facts.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the law as of DATE (YYYY-MM-DD).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Reporting currency.")] = "EUR",
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Organisation profile (JSON): facts about the organisation, merged under the "
            "operation's."
        ),
    ] = None,
    questions: Annotated[
        bool,
        typer.Option(
            "--questions/--no-questions",
            help="For an undetermined regime, the fewest missing facts that decide it.",
        ),
    ] = True,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix", help="The smallest changes to controllable facts that make it allowed."
        ),
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Answer a fact: PATH=VALUE (VALUE as JSON, or a bare word), repeatable."
        ),
    ] = None,
) -> None:
    """Decide one operation: status per regime, violations, exposure, obligations."""
    day = parse_as_of(as_of)
    bundle = load(policies)
    if currency not in {c for pair in bundle.rates.pairs() for c in pair} | {"EUR"}:
        fail(EXIT_USAGE, f"--currency: no exchange rates for `{currency}` in the policies")
    try:
        chosen = None
        if profile is not None:
            chosen = bundle.load_profile(_read_operation(profile), profile.stem)
        decision = bundle.decide(
            _read_operation(operation),
            as_of=day,
            currency=currency,
            explain=explain,
            overrides=_answers(set_ or []),
            profile=chosen,
            questions=questions,
            remediate=fix,
        )
    except OperationError as error:
        for field_error in error.errors:
            err.print(f"[bold red]error:[/] {field_error.path}: {field_error.message}")
        raise typer.Exit(EXIT_USAGE) from None
    if output == OutputFormat.json:
        print(json.dumps(decision.to_dict(explain=explain), indent=2, ensure_ascii=False))
    else:
        print_decision(decision, explain)
    raise typer.Exit(STATUS_EXIT.get(decision.status, EXIT_OK))


def _answers(assignments: list[str]) -> dict[str, object]:
    """`--set a.b=value` as operation JSON ({"a": {"b": value}}), validated with the operation."""
    result: dict[str, object] = {}
    for assignment in assignments:
        path, sep, text = assignment.partition("=")
        if not sep or not path.strip():
            fail(EXIT_USAGE, f"--set: `{assignment}` is not PATH=VALUE")
        try:
            value = load_operation_json(text)
        except OperationError:
            value = text  # a bare word: an enumeration member, a country code
        *groups, leaf = path.strip().split(".")
        node = result
        for group in groups:
            child = node.setdefault(group, {})
            if not isinstance(child, dict):
                fail(EXIT_USAGE, f"--set: `{path}` is set twice")
            node = child
        node[leaf] = value
    return result


def money_range(low: object, high: object, at_least: object = None) -> str:
    if high is None and at_least is not None:
        return f"{low or '?'} – unknown, at least {at_least}"
    return f"{low or '?'} – {high or 'unknown (a fact is missing)'}"


def print_decision(decision: Decision, explain: bool) -> None:
    out.print(
        f"[{STATUS_STYLE[decision.status]}]{decision.status.upper()}[/] as of "
        f"{decision.as_of.isoformat()} · bundle {decision.bundle_hash[:12]}"
    )
    for regime in decision.regimes.values():
        _print_regime(regime, explain)
    if decision.internal:  # the organisation's own rules, apart from the law's status
        status = decision.internal_status or "not_applicable"
        out.print(f"\n[{STATUS_STYLE[status]}]INTERNAL RULES: {status}[/] (not the law's status)")
        for regime in decision.internal.values():
            _print_regime(regime, explain)
    if decision.profile is not None:
        used = decision.profile
        version = f" v{used.version}" if used.version is not None else ""
        overridden = (
            ", overridden by the operation: " + ", ".join(used.overridden)
            if used.overridden
            else ""
        )
        out.print(f"\n[dim]profile {used.id}{version}: {len(used.facts)} facts used{overridden}[/]")
    for derived in decision.derived:
        value = json.dumps(to_json_value(derived.value), ensure_ascii=False)
        out.print(
            f"\n[dim]derived: {derived.path} = {value} from "
            f"{', '.join(derived.because)} ({derived.cite})[/]"
        )
    exposure = decision.exposure
    out.print(
        f"\ntotal exposure ({decision.currency}): "
        + money_range(
            exposure.reporting_min, exposure.reporting_max, exposure.reporting_max_at_least
        )
    )


def _print_regime(regime: RegimeDecision, explain: bool) -> None:
    out.print(
        f"\n[{STATUS_STYLE[regime.status]}]{regime.regime}: {regime.status}[/]"
        f"  [dim]{regime.title}[/]"
    )
    for reason in regime.reasons:
        out.print(f"  [dim]{reason}[/]")
    for violation in regime.violations:
        severity = f"[bold]{violation.severity}[/] " if violation.severity else ""
        out.print(f"  [red]violated:[/] {severity}{violation.title}  [dim]({violation.cite})[/]")
        for line in violation.exposure:
            amount = line.amount
            out.print(
                f"      {line.payer}: "
                f"{money_range(amount.min, amount.max, amount.max_at_least)}"
                f"  [dim]{line.cite}[/]"
            )
            if explain:
                for name, value in line.steps:
                    shown = json.dumps(to_json_value(value), ensure_ascii=False)
                    out.print(f"        [dim]{name} = {shown}[/]")
                for note in line.notes:
                    out.print(f"        [dim]note: {note}[/]")
            if line.missing:
                out.print(f"      [yellow]the amount waits for:[/] {', '.join(line.missing)}")
        for exception in violation.exceptions_not_applied:
            out.print(
                f"      [yellow]exception not applied[/] {exception.title}"
                f"  [dim]({exception.cite})[/]: not stated: {', '.join(exception.missing)}"
            )
    for obligation in regime.obligations:
        within = f" within {obligation.within}" if obligation.within else ""
        if obligation.due is not None:
            within += f" (due {obligation.due.isoformat()})"
        confirm = (
            f"  [yellow](not stated as done: {', '.join(obligation.confirm)})[/]"
            if obligation.confirm
            else ""
        )
        depends = (
            f"  [dim](owed depending on: {', '.join(obligation.if_facts)})[/]"
            if obligation.if_facts
            else ""
        )
        out.print(
            f"  [cyan]obligation:[/] {obligation.text}{within}  "
            f"[dim]({obligation.cite})[/]{confirm}{depends}"
        )
    for question in regime.questions:
        values = (
            " [" + " | ".join(json.dumps(to_json_value(v)) for v in question.values) + "]"
            if question.values
            else f" ({question.type})"
        )
        out.print(
            f"  [bold yellow]question:[/] {question.path}{values}: {question.question}"
            f"  [dim]decides {len(question.settles)} rule(s)[/]"
        )
    for remedy in regime.remediations:
        text = "; ".join(change.text() for change in remedy.changes)
        removed = remedy.exposure_removed
        saving = ""
        if removed is not None:
            figure = money_range(removed.min, removed.max, removed.max_at_least)
            saving = f", removes exposure {figure}"
        conditions = (
            f" [dim](then waits for: {', '.join(remedy.conditions)})[/]"
            if remedy.conditions
            else ""
        )
        out.print(f"  [green]fix:[/] {text} -> {remedy.status}{saving}{conditions}")
    for rule in regime.undetermined_rules:
        out.print(f"  [yellow]undetermined:[/] {rule.title}  [dim]({rule.cite})[/]")
        out.print(f"      waits for: {', '.join(rule.missing) or 'missing facts'}")
        if explain and rule.note:
            out.print(f"      [dim]{rule.note}[/]")
    for topic in regime.not_assessed:
        out.print(f"  [dim]not assessed: {topic.title} ({topic.cite}): {topic.reason}[/]")
    for payer, amount in regime.exposure.items():
        out.print(
            f"  exposure, {payer} ({regime.aggregation}"
            f"{', ' + regime.aggregation_cite if regime.aggregation_cite else ''}): "
            f"{money_range(amount.min, amount.max, amount.max_at_least)}"
        )
    if explain:
        if regime.missing:
            out.print(f"  [dim]missing facts read: {', '.join(regime.missing)}[/]")
        for trace in regime.trace:
            facts = ", ".join(
                f"{k}={json.dumps(to_json_value(v), ensure_ascii=False)}"
                for k, v in trace.facts.items()
            )
            out.print(
                f"    [dim]{trace.outcome:<14}[/] {trace.rule} [dim]({trace.cite})"
                f"{'  ' + facts if facts else ''}[/]"
            )
