"""What every analysis sets up once per bundle: the codes the bundle mentions (the universe of
the symbolic countries), the days on which its law changes, and the nodes a rule reads."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from .. import ir
from ..fold import constant_value
from ..geography_codes import PLACES
from ..types import CODE, EnumType, SetType, Type

FAR_PAST = dt.date(1990, 1, 1)
FAR_FUTURE = dt.date(2100, 12, 31)


def regime_nodes(regime: ir.CheckedRegime) -> Iterator[ir.Node]:
    for clause in regime.applies:
        yield clause.condition
    for rule in regime.rules.values():
        yield from rule_nodes(rule)
    for define in regime.defines.values():
        yield define.value


def rule_nodes(rule: ir.CheckedRule) -> Iterator[ir.Node]:
    for node in (rule.when, rule.violation):
        if node is not None:
            yield node
    for obligation in rule.obligations:
        if obligation.condition is not None:
            yield obligation.condition
    for duty in rule.duties:
        yield duty.met


def _codes_in(value: Any, t: Type | None) -> Iterator[str]:
    if isinstance(value, str) and (t == CODE or t is None):
        yield value
    elif isinstance(value, frozenset | set | tuple | list):
        element = t.element if isinstance(t, SetType) else None
        if not isinstance(element, EnumType):
            for v in value:
                yield from _codes_in(v, element or CODE)
    elif isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and key.isupper():
                yield key


def codes_of(bundles: Iterable[ir.CheckedBundle]) -> frozenset[str]:
    """Every country code a constant, a parameter or a derivation of the bundles names."""
    found: set[str] = set()
    for bundle in bundles:
        parameters = list(bundle.parameters.values())
        nodes: list[ir.Node] = [d.condition for d in bundle.derivations]
        for regime in bundle.regimes.values():
            parameters += regime.parameters.values()
            nodes += regime_nodes(regime)
        for parameter in parameters:
            for _, node, _ in parameter.values:
                found.update(_codes_in(constant_value(node), parameter.type))
        for root in nodes:
            for node in ir.walk(root):
                if isinstance(node, ir.Const) and (
                    node.type == CODE
                    or (isinstance(node.type, SetType) and node.type.element == CODE)
                ):
                    found.update(_codes_in(node.value, node.type))
    return frozenset(found) & PLACES  # never a currency or a word taken for a country


def change_days(bundle: ir.CheckedBundle, regime: ir.CheckedRegime) -> list[dt.date]:
    """The days on which something the regime reads starts or stops: its own period, its
    rules', its parameters', the bundle-wide parameters' and the exchange rates'. Between two
    of them the law the solver sees is the same."""
    days = {FAR_PAST}
    periods: list[Any] = []
    if regime.in_force is not None:
        periods.append(regime.in_force)
    for rule in regime.rules.values():
        periods += rule.periods
    for parameter in [*regime.parameters.values(), *bundle.parameters.values()]:
        periods += [period for period, _, _ in parameter.values]
    for values in bundle.rates.values():
        periods += [period for period, _, _ in values]
    for period in periods:
        days.add(max(period.start, FAR_PAST))
        if period.end is not None:
            days.add(period.end)
    return sorted(d for d in days if d <= FAR_FUTURE)


def intervals(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """[start, end) between consecutive change days, the last up to FAR_FUTURE."""
    bounds = [*days, FAR_FUTURE + dt.timedelta(days=1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]
