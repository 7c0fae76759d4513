"""The audit run: every activity of a register decided by the bundle (with the organisation's
profile), then the figures a report needs: status per regime, violations with citations,
questions, remediations, exposure per regime in the law's currency, totals per regime and per
currency, and the activities ranked by exposure.

Money stays `Money` (Decimal with a currency) until the report writes it. Amounts in different
currencies are never added: a regime's totals are in its own currency, the per-currency totals
group regimes that share one, and the one cross-regime figure, the total in the reporting
currency, adds amounts the engine itself converted at the dated rates the policies declare
(`Decision.exposure`). Summing exposure over activities is a bound, not a forecast: it is what
the register would cost if every activity were fined on its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..bundle import Bundle
from ..decision import STATUS_ORDER, Amount, Decision, RegimeDecision, most_restrictive
from ..profiles import Profile
from ..values import Money
from ..vocabulary import OperationError
from .register import Activity, Register


@dataclass(frozen=True, slots=True)
class Range:
    """min..max in one currency; `max` None when unknown, then `max_at_least` is its floor."""

    currency: str
    min: Money
    max: Money | None
    max_at_least: Money | None = None

    @staticmethod
    def zero(currency: str) -> Range:
        return Range(currency, Money(Decimal(0), currency), Money(Decimal(0), currency))

    @staticmethod
    def of(amount: Amount | None, currency: str, reporting: bool = False) -> Range:
        if amount is None:
            return Range.zero(currency)
        low = amount.reporting_min if reporting else amount.min
        high = amount.reporting_max if reporting else amount.max
        floor = amount.reporting_max_at_least if reporting else amount.max_at_least
        return Range(currency, low or Money(Decimal(0), currency), high, floor)

    @property
    def worst(self) -> Money:
        """The max, or its floor when the max is unknown: what ranks an activity."""
        if self.max is not None:
            return self.max
        return self.max_at_least or Money(Decimal(0), self.currency)

    def __add__(self, other: Range) -> Range:
        # Money + Money of another currency raises: totals never mix currencies
        high = self.max + other.max if self.max is not None and other.max is not None else None
        floor = None if high is not None else self.worst + other.worst
        return Range(self.currency, self.min + other.min, high, floor)


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityResult:
    activity: Activity
    decision: Decision | None  # None: the operation does not fit the vocabulary
    errors: tuple[str, ...] = ()  # the field errors, each naming its path
    exposure: dict[str, Range]  # regime -> organisation's exposure in the regime's currency
    total: Range  # in the reporting currency (the engine's conversion)

    @property
    def status(self) -> str:
        return self.decision.status if self.decision is not None else "invalid"

    @property
    def internal_status(self) -> str | None:
        return self.decision.internal_status if self.decision is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditResult:
    register: Register
    results: tuple[ActivityResult, ...]  # in the register's order
    as_of: dt.date
    currency: str
    bundle_hash: str
    profile: Mapping[str, Any] | None  # {id, version, enable}
    regimes: tuple[str, ...]  # statutory regimes, in the bundle's order
    internal_regimes: tuple[str, ...]  # internal regimes the profile enabled
    regime_currency: Mapping[str, str]
    profile_facts: Mapping[str, Any] = field(default_factory=dict)  # path -> typed value

    def ranked(self) -> list[ActivityResult]:
        """Highest exposure first (the max, or its floor when unknown); ties by name."""
        return sorted(
            self.results, key=lambda r: (-r.total.worst.amount, r.activity.name, r.activity.id)
        )

    def totals_by_regime(self) -> dict[str, Range]:
        totals = {name: Range.zero(self.regime_currency[name]) for name in self.regimes}
        for result in self.results:
            for name, exposure in result.exposure.items():
                totals[name] = totals[name] + exposure
        return totals

    def totals_by_currency(self) -> dict[str, Range]:
        totals: dict[str, Range] = {}
        for name, total in self.totals_by_regime().items():
            currency = self.regime_currency[name]
            totals[currency] = totals.get(currency, Range.zero(currency)) + total
        return dict(sorted(totals.items()))

    def total(self) -> Range:
        total = Range.zero(self.currency)
        for result in self.results:
            total = total + result.total
        return total

    def status_counts(self) -> dict[str, dict[str, int]]:
        """regime -> status -> activities; `overall` for the statutory status, `internal`."""
        counts: dict[str, dict[str, int]] = {}

        def count(key: str, status: str | None) -> None:
            if status is not None:
                bucket = counts.setdefault(key, {})
                bucket[status] = bucket.get(status, 0) + 1

        for result in self.results:
            count("overall", result.status)
            count("internal", result.internal_status)
            if result.decision is None:
                continue
            for name, regime in result.decision.regimes.items():
                count(name, regime.status)
            for name, regime in (result.decision.internal or {}).items():
                count(name, regime.status)
        order = [*STATUS_ORDER, "invalid"]  # the most restrictive first
        return {
            key: dict(sorted(bucket.items(), key=lambda item: order.index(item[0])))
            for key, bucket in counts.items()
        }

    def overall_status(self) -> str:
        statuses: list[str] = [r.decision.status for r in self.results if r.decision is not None]
        return most_restrictive(statuses) if statuses else "invalid"


def run_audit(
    bundle: Bundle,
    register: Register,
    profile: Profile | None = None,
    as_of: dt.date | None = None,
    currency: str = "EUR",
    profile_version: str | None = None,
) -> AuditResult:
    """Decide every activity of the register. An activity whose operation does not fit the
    vocabulary is reported with its field errors; the others are still audited."""
    day = as_of or dt.date.today()
    statutory = tuple(n for n in bundle.enabled() if n in bundle.enabled(profile))
    internal = tuple(n for n in bundle.enabled(profile) if n not in statutory)
    currencies = {n: r.currency for n, r in bundle.checked.regimes.items()}
    results = []
    for activity in register.activities:
        try:
            decision = bundle.decide(
                activity.operation,
                as_of=day,
                currency=currency,
                profile=profile,
                questions=True,
                remediate=True,
            )
        except OperationError as error:
            results.append(
                ActivityResult(
                    activity=activity,
                    decision=None,
                    errors=tuple(f"{e.path}: {e.message}" for e in error.errors),
                    exposure={},
                    total=Range.zero(currency),
                )
            )
            continue
        results.append(
            ActivityResult(
                activity=activity,
                decision=decision,
                exposure={
                    name: Range.of(regime.organisation_exposure, regime.currency)
                    for name, regime in decision.regimes.items()
                },
                total=Range.of(decision.exposure, currency, reporting=True),
            )
        )
    described = None
    if profile is not None:
        described = {
            "id": profile.id,
            "version": profile_version
            if profile_version is not None
            else (str(profile.version) if profile.version is not None else None),
            "enable": list(profile.enable),
        }
    return AuditResult(
        register=register,
        results=tuple(results),
        as_of=day,
        currency=currency,
        bundle_hash=bundle.hash,
        profile=described,
        regimes=statutory,
        internal_regimes=internal,
        regime_currency=currencies,
        profile_facts=dict(profile.facts) if profile is not None else {},
    )


def content_version(data: bytes) -> str:
    """A profile read from a file has no stored version number: its content hash names it."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def regime_rows(decision: Decision) -> list[tuple[str, RegimeDecision]]:
    """The statutory regimes, then the internal ones, of one decision."""
    return [*decision.regimes.items(), *(decision.internal or {}).items()]
