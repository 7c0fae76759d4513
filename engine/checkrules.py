"""Checking rules, exceptions, topics, duties and derived facts (part of stage 2).

Split from checker.py, which owns collection, the vocabulary and the bundle as a whole; the
functions here take the `Checker` whose tables and diagnostics they use.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING

from . import ast, ir
from .diagnostics import Span, did_you_mean
from .fold import constant_value, fold
from .reads import facts_read, uses_knownness
from .types import DATE, UNITS
from .values import UNKNOWN, Duration

if TYPE_CHECKING:
    from .checker import Checker

COMMON = ""


def _within(number: ast.NumberLit | None) -> Duration | None:
    if number is None or number.unit is None:
        return None
    dimension, factor = UNITS[number.unit]
    return Duration(number.value * factor, dimension)


def _anchor(checker: Checker, anchor: tuple[str, Span] | None) -> str | None:
    """`within … after FACT`: FACT must be a date fact of the vocabulary."""
    if anchor is None:
        return None
    path, span = anchor
    info = checker.facts.get(path)
    if info is None:
        checker.error(
            "E0101",
            f"unknown fact `{path}`",
            span,
            help=did_you_mean(path, checker.facts) or "name a date fact",
        )
        return None
    if info.type != DATE:
        checker.error(
            "E0120",
            f"a deadline counts from a date; `{path}` is {info.type}",
            span,
            help="name a date fact (`… after breach.aware_date`)",
        )
        return None
    return path


def check_topics(checker: Checker, regime: str) -> dict[str, ir.CheckedTopic]:
    topics = {}
    for name, decl in checker.topics[regime].items():
        described_by = []
        for path, span in decl.described_by:
            if path not in checker.facts:
                checker.error(
                    "E0101",
                    f"unknown fact `{path}`",
                    span,
                    help=did_you_mean(path, checker.facts)
                    or "a topic is described by facts of the vocabulary (policies/common)",
                )
                continue
            described_by.append(path)
        checker.require_citation(
            decl.cite is not None, f"topic `{name}`", decl.span, 'add `cite "Art. …"`'
        )
        topics[name] = ir.CheckedTopic(
            name,
            decl.title or name,
            decl.cite.text if decl.cite else None,
            tuple(described_by),
            decl.span,
        )
    return topics


def check_rule(
    checker: Checker,
    decl: ast.RuleDecl,
    regime: str,
    currency: str,
    topics: dict[str, ir.CheckedTopic],
    regime_kind: ast.RegimeKind = ast.RegimeKind.STATUTORY,
) -> ir.CheckedRule:
    scope = checker.scope(regime, currency)
    exprs = checker.exprs
    kind = "exception" if decl.exception_to else "rule"
    when = exprs.condition(decl.when, scope, "`when`") if decl.when else None
    violation = None
    if decl.violation is not None:
        violation = exprs.condition(decl.violation, scope, "the violation condition")
        if decl.violation_unless:
            violation = ir.Op(violation.type, violation.span, ir.OpCode.NOT, (violation,))
    obligations = []
    for ob in decl.obligations:
        condition = (
            exprs.condition(ob.condition, scope, "the obligation's `if`")
            if ob.condition is not None
            else None
        )
        obligations.append(
            ir.CheckedObligation(
                text=ob.text,
                within=_within(ob.within),
                condition=condition,
                cite=ob.cite.text if ob.cite else None,
                span=ob.span,
                anchor=_anchor(checker, ob.anchor),
            )
        )
    duties = []
    for duty in decl.duties:
        met = exprs.condition(duty.met, scope, "the duty's `met when`")
        duties.append(
            ir.CheckedDuty(
                text=duty.text,
                within=_within(duty.within),
                met=met,
                cite=duty.cite.text if duty.cite else None,
                facts_read=facts_read([met], checker._define_nodes),
                span=duty.span,
                anchor=_anchor(checker, duty.anchor),
            )
        )
    for fine_name, span in decl.fines:
        if fine_name not in checker.fines[regime]:
            checker.error(
                "E0111",
                f"unknown fine `{fine_name}` in {regime}",
                span,
                help=did_you_mean(fine_name, checker.fines[regime])
                or "declare it with `fine NAME = up to …`",
            )
    if decl.fines and violation is None and not duties:
        checker.error(
            "E0311",
            f"{kind} `{decl.name}` names a fine but has no violation",
            decl.span,
            help="add `violation when …`, `violation unless …` or a `duty … met when …`",
        )
    if decl.exception_to is None and violation is None and not obligations and not duties:
        checker.error(
            "E0312",
            f"rule `{decl.name}` neither forbids nor obliges anything",
            decl.span,
            help="add `violation when …`, a `duty … met when …` or an `obligation`",
        )
    if decl.exception_to is not None and decl.when is None:
        checker.error(
            "E0312",
            f"exception `{decl.name}` has no `when`",
            decl.span,
            help="say when the exception applies: `when …`",
        )
    if decl.topic is not None and decl.topic not in topics:
        checker.error(
            "E0117",
            f"unknown topic `{decl.topic}` in {regime}",
            decl.topic_span or decl.span,
            help=did_you_mean(decl.topic, topics)
            or 'declare it with `topic NAME "title" described by FACT`',
        )
    checker.require_citation(
        decl.cite is not None,
        f"{kind} `{decl.name}`",
        decl.span,
        'add `cite "Art. …"` after the title',
    )
    if when is not None and not decl.notes and uses_knownness([when], checker._define_nodes):
        # `X is known and …` keeps a rule quiet when a fact is absent: the silent gate that
        # hides a possible violation. Topics say it out loud; a rule that still needs it says why.
        checker.warn(
            "W0401",
            f"{kind} `{decl.name}` is skipped when a fact is missing (`is known` in its `when`)",
            decl.span,
            help="declare a `topic … described by FACT` and put the rule in it, or say why "
            "in a `note`",
        )
    severity = _severity(checker, decl, regime, regime_kind, violation is not None or duties)
    nodes = [n for n in (when, violation) if n is not None]
    nodes += [o.condition for o in obligations if o.condition is not None]
    nodes += [d.met for d in duties]
    return ir.CheckedRule(
        name=decl.name,
        title=decl.title or decl.name,
        cite=decl.cite.text if decl.cite else None,
        periods=decl.periods,
        when=when,
        violation=violation,
        obligations=tuple(obligations),
        fines=tuple(name for name, _ in decl.fines),
        notes=decl.notes,
        exception_to=decl.exception_to,
        facts_read=facts_read(nodes, checker._define_nodes),
        span=decl.span,
        duties=tuple(duties),
        topic=decl.topic if decl.topic in topics else None,
        severity=severity,
    )


def _severity(
    checker: Checker,
    decl: ast.RuleDecl,
    regime: str,
    regime_kind: ast.RegimeKind,
    can_be_violated: object,
) -> ast.RuleSeverity | None:
    """An internal rule weighs its violation by a severity; a statute's rule by its fines."""
    words = [s.value for s in ast.RuleSeverity]
    span = decl.severity_span or decl.span
    if decl.severity is not None and decl.severity not in words:
        checker.error(
            "E0320",
            f"unknown severity `{decl.severity}`",
            span,
            help=did_you_mean(decl.severity, words) or f"one of {', '.join(words)}",
        )
        return None
    if regime_kind == ast.RegimeKind.STATUTORY and decl.severity is not None:
        checker.error(
            "E0321",
            f"rule `{decl.name}` of statutory regime `{regime}` states a severity",
            span,
            help="a statute's rule names its `fine`; `severity` is for `kind internal` regimes",
        )
        return None
    if regime_kind == ast.RegimeKind.INTERNAL:
        for _, fine_span in decl.fines:
            checker.error(
                "E0321",
                f"rule `{decl.name}` of internal regime `{regime}` names a fine",
                fine_span,
                help="an internal rule states its `severity` (low, medium, high, critical)",
            )
        if decl.severity is None and decl.exception_to is None and can_be_violated:
            checker.error(
                "E0322",
                f"internal rule `{decl.name}` has no severity",
                decl.span,
                help="add `severity low`, `medium`, `high` or `critical`",
            )
    return ast.RuleSeverity(decl.severity) if decl.severity is not None else None


def link_exceptions(
    checker: Checker, regime: str, rules: dict[str, ir.CheckedRule]
) -> dict[str, ir.CheckedRule]:
    """Attach each exception to its rule (and its rule's topic); report dangling or looping
    exception chains."""
    children: dict[str, list[str]] = defaultdict(list)
    for rule in rules.values():
        if rule.exception_to is None:
            continue
        decl = checker.rules[regime][rule.name]
        if rule.exception_to not in rules:
            checker.error(
                "E0112",
                f"exception `{rule.name}` is to unknown rule `{rule.exception_to}`",
                decl.exception_to_span or decl.span,
                help=did_you_mean(rule.exception_to, rules),
            )
            continue
        children[rule.exception_to].append(rule.name)
    for name in rules:  # an exception chain must not loop back on itself
        seen, current = set(), rules[name].exception_to
        while current is not None and current in rules:
            if current in seen or current == name:
                checker.error(
                    "E0113",
                    f"exception `{name}` is (indirectly) an exception to itself",
                    rules[name].span,
                )
                break
            seen.add(current)
            current = rules[current].exception_to
    return {
        name: dataclasses.replace(rule, exceptions=tuple(sorted(children.get(name, ()))))
        for name, rule in rules.items()
    }


def check_levels(checker: Checker) -> dict[str, frozenset[str]]:
    """`organisation facts …` and `controllable facts …`: each pattern names facts of the
    vocabulary (`a.b`, every fact under `a.*`, or a list field `list[].field`)."""
    found: dict[str, set[str]] = {}
    for decl in checker.levels:
        paths = found.setdefault(decl.name, set())
        for pattern, span in decl.patterns:
            matched = _matching(checker, pattern)
            if not matched:
                checker.error(
                    "E0101",
                    f"`{pattern}` names no fact",
                    span,
                    help=did_you_mean(pattern.rstrip(".*"), checker.facts)
                    or "write a fact path, `prefix.*`, or `list[].field`",
                )
            paths.update(matched)
    return {level: frozenset(paths) for level, paths in found.items()}


def _matching(checker: Checker, pattern: str) -> set[str]:
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return {path for path in checker.facts if path.startswith(prefix)}
    if "[]." in pattern:
        head, _, field = pattern.partition("[].")
        info = checker.facts.get(head)
        element = getattr(info.type, "element", None) if info is not None else None
        if element is not None and hasattr(element, "field") and element.field(field):
            return {pattern}
        return set()
    return {pattern} if pattern in checker.facts else set()


def check_derivations(checker: Checker) -> tuple[ir.CheckedDerivation, ...]:
    """`derive PATH = VALUE if CONDITION` (policies/common only): PATH a fact, VALUE a constant
    of its type, CONDITION a truth value over facts."""
    derivations = []
    for decl in checker.derivations:
        info = checker.facts.get(decl.name)
        if info is None:
            checker.error(
                "E0101",
                f"unknown fact `{decl.name}`",
                decl.span,
                help=did_you_mean(decl.name, checker.facts) or "derive a fact of the vocabulary",
            )
            continue
        constant_scope = checker.scope(COMMON, None, constant=True)
        value_node = fold(checker.exprs.expect(decl.value, constant_scope, info.type, "the value"))
        condition = checker.exprs.condition(
            decl.condition, checker.scope(COMMON, None), "the derivation's `if`"
        )
        if any(isinstance(n, ir.Define) for n in ir.walk(condition)):
            checker.error(
                "E0318",
                f"the derivation of `{decl.name}` reads a definition",
                decl.span,
                help="a derivation reads facts only: write the condition out",
            )
        checker.require_citation(
            decl.cite is not None,
            f"derivation of `{decl.name}`",
            decl.span,
            'add `cite "…"`: the provision or the stated reading that makes the facts one notion',
        )
        value = constant_value(value_node) if isinstance(value_node, ir.Const) else UNKNOWN
        if value is UNKNOWN:
            continue  # the type error is already reported
        derivations.append(
            ir.CheckedDerivation(
                path=decl.name,
                value=value,
                condition=fold(condition),
                cite=decl.cite.text if decl.cite else None,
                facts_read=facts_read([condition], checker._define_nodes),
                span=decl.span,
            )
        )
    return tuple(derivations)


__all__ = ["check_derivations", "check_rule", "check_topics", "link_exceptions"]
