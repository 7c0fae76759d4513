"""The answer: per regime status, violations with exposure, obligations, missing facts, trace.

Plain frozen dataclasses with `to_dict()` producing JSON-ready data (money as exact strings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .values import UNKNOWN, Duration, Money, Percent, format_decimal


class Status(StrEnum):
    DENIED = "denied"
    UNDETERMINED = "undetermined"
    ALLOWED_WITH_OBLIGATIONS = "allowed_with_obligations"
    ALLOWED = "allowed"
    NOT_APPLICABLE = "not_applicable"


class Outcome(StrEnum):
    """What became of one rule in one decision (the trace)."""

    VIOLATED = "violated"
    COMPLIANT = "compliant"
    NOT_TRIGGERED = "not_triggered"
    EXCEPTED = "excepted"
    DUTY_OPEN = "duty_open"  # no violation stated; the rule's duties stand as obligations
    UNDETERMINED = "undetermined"
    NOT_IN_FORCE = "not_in_force"
    NOT_ASSESSED = "not_assessed"  # its topic is not described by the operation


# most restrictive first
STATUS_ORDER = tuple(Status)


def most_restrictive(statuses: list[str]) -> Status:
    if not statuses:
        return Status.NOT_APPLICABLE
    return Status(min(statuses, key=STATUS_ORDER.index))


def to_json_value(value: Any) -> Any:
    """A run-time value as JSON data, for traces and examples."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, Money | Duration):
        return value.to_json()
    if isinstance(value, Percent):
        return format_decimal(value.fraction)
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


# Rounded amounts as JSON, by (amount, sign, currency): decisions repeat the same few caps and
# totals, and rounding a Decimal costs more than looking it up. The sign keeps -0 apart from 0
# (equal as Decimals, printed differently); numerically equal amounts round to the same text.
_ROUNDED: dict[tuple[Decimal, bool, str], dict[str, str]] = {}
_ROUNDED_MAX = 4096


def _money(value: Money | None) -> dict[str, str] | None:
    if value is None:
        return None
    amount = value.amount
    try:
        key = (amount, amount.is_signed(), value.currency)
        known = _ROUNDED.get(key)
    except TypeError:  # a signalling NaN cannot be hashed: no cache
        return value.rounded().to_json()
    if known is None:
        known = value.rounded().to_json()
        if len(_ROUNDED) < _ROUNDED_MAX:
            _ROUNDED[key] = known
    return dict(known)  # a copy: callers own what they get


@dataclass(frozen=True, slots=True, kw_only=True)
class Amount:
    """An exposure range in one currency, and the same range in the reporting currency.

    `None` for an end means it could not be computed (a fact or a rate is missing); then
    `max_at_least` is what the known parts already add up to, a floor under the unknown max."""

    min: Money | None
    max: Money | None
    reporting_min: Money | None = None
    reporting_max: Money | None = None
    max_at_least: Money | None = None
    reporting_max_at_least: Money | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "min": _money(self.min),
            "max": _money(self.max),
            "max_at_least": _money(self.max_at_least),
            "reporting": {
                "min": _money(self.reporting_min),
                "max": _money(self.reporting_max),
                "max_at_least": _money(self.reporting_max_at_least),
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ExposureLine:
    fine: str
    title: str
    payer: str
    cite: str | None
    amount: Amount
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    steps: tuple[tuple[str, Any], ...] = ()  # (definition, value) the formula went through

    def to_dict(self) -> dict[str, Any]:
        return {
            "fine": self.fine,
            "title": self.title,
            "payer": self.payer,
            "cite": self.cite,
            **self.amount.to_dict(),
            "steps": [{"name": n, "value": to_json_value(v)} for n, v in self.steps],
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    rule: str
    title: str
    cite: str | None
    exposure: tuple[ExposureLine, ...]
    facts: dict[str, Any]  # the facts the rule read, with their values (None = missing)
    notes: tuple[str, ...] = ()
    severity: str | None = None  # an internal rule's weight (it has no fine)
    # exceptions of the rule that did not apply while reading facts the operation does not
    # state (a defence the caller has not invoked, gated by `is known`): named, never silent
    exceptions_not_applied: tuple[ExceptionNotApplied, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = {
            "rule": self.rule,
            "title": self.title,
            "cite": self.cite,
            "exposure": [e.to_dict() for e in self.exposure],
            "facts": {path: to_json_value(value) for path, value in self.facts.items()},
            "notes": list(self.notes),
            "exceptions_not_applied": [e.to_dict() for e in self.exceptions_not_applied],
        }
        if self.severity is not None:
            data["severity"] = self.severity
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionNotApplied:
    """An exception that did not excuse a violation while a fact it reads was not stated:
    stating it (e.g. the defence the controller relies on) may change the answer."""

    exception: str
    title: str
    cite: str | None
    missing: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exception": self.exception,
            "title": self.title,
            "cite": self.cite,
            "missing": list(self.missing),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Obligation:
    rule: str
    text: str
    within: Duration | None  # the deadline, counted from the event the obligation names
    cite: str | None
    # a duty the operation did not say is met: the facts that would confirm it (stated false,
    # each would be a violation of the rule)
    confirm: tuple[str, ...] = ()
    # owed only if these missing facts turn out so (the rule applies in some completions of
    # the missing facts and not in others; in none is it violated but through its duties)
    if_facts: tuple[str, ...] = ()
    due: dt.date | None = None  # `within` counted from its anchor date, when that is known

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text": self.text,
            "within": str(self.within) if self.within is not None else None,
            "due": self.due.isoformat() if self.due is not None else None,
            "cite": self.cite,
            "confirm": list(self.confirm),
            "depends_on": list(self.if_facts),
        }


@dataclass(frozen=True, slots=True)
class UndeterminedRule:
    """A rule that some completion of the missing facts would violate and another would not."""

    rule: str
    title: str
    cite: str | None
    missing: tuple[str, ...]
    note: str | None = None  # e.g. the completion budget was exceeded

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "cite": self.cite,
            "missing": list(self.missing),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class NotAssessed:
    """A topic (a breach, a rights request) the operation does not describe: its rules were not
    assessed, and the decision says so instead of passing them silently."""

    topic: str
    title: str
    reason: str
    cite: str | None
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "title": self.title,
            "reason": self.reason,
            "cite": self.cite,
            "rules": list(self.rules),
        }


@dataclass(frozen=True, slots=True)
class DerivedFact:
    """A fact the operation did not state, filled in by a `derive` of the policies."""

    path: str
    value: Any
    because: tuple[str, ...]  # the facts the derivation read
    cite: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": to_json_value(self.value),
            "because": list(self.because),
            "cite": self.cite,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleTrace:
    rule: str
    title: str
    cite: str | None
    outcome: Outcome
    facts: dict[str, Any]
    missing: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()  # exceptions that applied
    note: str | None = None  # how an unknown was settled (completions evaluated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "cite": self.cite,
            "outcome": self.outcome,
            "facts": {path: to_json_value(value) for path, value in self.facts.items()},
            "missing": list(self.missing),
            "exceptions": list(self.exceptions),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RegimeDecision:
    regime: str
    title: str
    status: Status
    reasons: tuple[str, ...]
    violations: tuple[Violation, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    missing: tuple[str, ...] = ()
    exposure: dict[str, Amount]  # payer -> aggregated range in the regime currency
    currency: str
    aggregation: str
    aggregation_cite: str | None
    undetermined_rules: tuple[UndeterminedRule, ...] = ()
    not_assessed: tuple[NotAssessed, ...] = ()
    trace: tuple[RuleTrace, ...] = ()
    notes: tuple[str, ...] = ()
    scope_missing: tuple[str, ...] = ()  # what an undetermined scope (`applies when`) waits for
    questions: tuple[Any, ...] = ()  # questions.Question: asked for, undetermined regimes only
    remediations: tuple[Any, ...] = ()  # remediation.Remediation: asked for, denied/undetermined
    kind: str = "statutory"  # ast.RegimeKind: "internal" findings are kept apart from the law's

    @property
    def organisation_exposure(self) -> Amount | None:
        return self.exposure.get("organisation")

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "regime": self.regime,
            "title": self.title,
            "status": self.status,
            "reasons": list(self.reasons),
            "violations": [v.to_dict() for v in self.violations],
            "obligations": [o.to_dict() for o in self.obligations],
            "missing": list(self.missing),
            "undetermined_rules": [u.to_dict() for u in self.undetermined_rules],
            "not_assessed": [n.to_dict() for n in self.not_assessed],
            "questions": [q.to_dict() for q in self.questions],
            "remediations": [r.to_dict() for r in self.remediations],
            "currency": self.currency,
            "aggregation": {"method": self.aggregation, "cite": self.aggregation_cite},
            "exposure": {payer: amount.to_dict() for payer, amount in self.exposure.items()},
            "notes": list(self.notes),
        }
        if self.kind != "statutory":
            data["kind"] = self.kind
        if explain:
            data["trace"] = [t.to_dict() for t in self.trace]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    status: Status
    as_of: dt.date
    currency: str
    regimes: dict[str, RegimeDecision]
    exposure: Amount  # organisations' exposure summed over regimes, in the reporting currency
    missing: tuple[str, ...]
    bundle_hash: str
    derived: tuple[DerivedFact, ...] = ()
    profile: Any = None  # profiles.ProfileUse: the profile the decision took facts from
    # internal regimes (enabled by the profile): their own status, never mixed into `status`
    # or `exposure`, which are the law's
    internal: dict[str, RegimeDecision] | None = None

    @property
    def internal_status(self) -> Status | None:
        if not self.internal:
            return None
        return most_restrictive([r.status for r in self.internal.values()])

    def regime(self, name: str) -> RegimeDecision:
        if self.internal and name in self.internal:
            return self.internal[name]
        return self.regimes[name]

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        return {
            "status": self.status,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "bundle_hash": self.bundle_hash,
            "exposure": {
                "min": _money(self.exposure.reporting_min),
                "max": _money(self.exposure.reporting_max),
                "max_at_least": _money(self.exposure.reporting_max_at_least),
            },
            "missing": list(self.missing),
            "derived": [d.to_dict() for d in self.derived],
            "profile": self.profile.to_dict() if self.profile is not None else None,
            "regimes": {n: r.to_dict(explain) for n, r in self.regimes.items()},
            **(
                {
                    "internal": {
                        "status": self.internal_status,
                        "regimes": {n: r.to_dict(explain) for n, r in self.internal.items()},
                    }
                }
                if self.internal
                else {}
            ),
        }
