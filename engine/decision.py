"""The answer: per regime status, violations with exposure, obligations, missing facts, trace.

Plain frozen dataclasses with `to_dict()` producing JSON-ready data (money as exact strings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.values import UNKNOWN, Duration, Money, Percent, format_decimal

# most restrictive first
STATUS_ORDER = ("denied", "undetermined", "allowed_with_obligations", "allowed", "not_applicable")


def most_restrictive(statuses: list[str]) -> str:
    if not statuses:
        return "not_applicable"
    return min(statuses, key=STATUS_ORDER.index)


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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    title: str
    cite: str | None
    exposure: tuple[ExposureLine, ...]
    facts: dict[str, Any]  # the facts the rule read, with their values (None = missing)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "cite": self.cite,
            "exposure": [e.to_dict() for e in self.exposure],
            "facts": {path: to_json_value(value) for path, value in self.facts.items()},
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Obligation:
    rule: str
    text: str
    within: Duration | None  # the deadline, counted from the event the obligation names
    cite: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "text": self.text,
            "within": str(self.within) if self.within is not None else None,
            "cite": self.cite,
        }


@dataclass(frozen=True, slots=True)
class RuleTrace:
    rule: str
    title: str
    cite: str | None
    outcome: str  # violated | compliant | not_triggered | undetermined | excepted | not_in_force
    facts: dict[str, Any]
    missing: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()  # exceptions that applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "cite": self.cite,
            "outcome": self.outcome,
            "facts": {path: to_json_value(value) for path, value in self.facts.items()},
            "missing": list(self.missing),
            "exceptions": list(self.exceptions),
        }


@dataclass(frozen=True, slots=True)
class RegimeDecision:
    regime: str
    title: str
    status: str
    reasons: tuple[str, ...]
    violations: tuple[Violation, ...]
    obligations: tuple[Obligation, ...]
    missing: tuple[str, ...]
    exposure: dict[str, Amount]  # payer -> aggregated range in the regime currency
    currency: str
    aggregation: str
    aggregation_cite: str | None
    undetermined_rules: tuple[str, ...] = ()
    trace: tuple[RuleTrace, ...] = ()
    notes: tuple[str, ...] = ()

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
            "undetermined_rules": list(self.undetermined_rules),
            "currency": self.currency,
            "aggregation": {"method": self.aggregation, "cite": self.aggregation_cite},
            "exposure": {payer: amount.to_dict() for payer, amount in self.exposure.items()},
            "notes": list(self.notes),
        }
        if explain:
            data["trace"] = [t.to_dict() for t in self.trace]
        return data


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    as_of: dt.date
    currency: str
    regimes: dict[str, RegimeDecision]
    exposure: Amount  # organisations' exposure summed over regimes, in the reporting currency
    missing: tuple[str, ...]
    bundle_hash: str

    def regime(self, name: str) -> RegimeDecision:
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
            "regimes": {n: r.to_dict(explain) for n, r in self.regimes.items()},
        }
