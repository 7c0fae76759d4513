"""The simulation kernel: a table of operations in, a table of results out.

`Kernel.run(frame)` encodes the fact columns once, evaluates every regime column-wise per as-of
date, and hands the rows the vectorised back end flagged (or every row, for a regime it cannot
compile) to the scalar evaluator, so each row's answer is the API's answer. The same kernel runs
in one process or partition by partition on Dask (cluster.py).

Result columns (money in integer minor units of the named currency, exact; see
docs/SIMULATION.md): `status`, `exposure_min_minor`, `exposure_max_minor` (all regimes, the
reporting currency), then per regime `GDPR.status`, `GDPR.exposure_min_minor`,
`GDPR.exposure_max_minor` (the organisation's exposure in the regime's currency; other payers in
`GDPR.exposure_max_minor[payer]`), and `scalar_fallback` (the row was evaluated by the scalar
back end). No violation is exposure 0; null is "could not be computed" (a fact or rate missing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import ir
from ..ast import RegimeKind
from ..decision import STATUS_ORDER, Decision, RegimeDecision
from ..fold import constant_value
from ..types import CODE, SetType
from ..values import MINOR_UNITS, MissingRate, Money
from .derivations import VectorDerivations
from .lookup import codes_of, currencies_of
from .operation_rows import iter_rows, row_to_operation
from .operation_table import Columns, is_null
from .regimes import (
    NOT_APPLICABLE,
    RegimeColumns,
    VectorRegime,
    question_bits,
    rule_bits,
    rule_reads,
    words_for_questions,
    words_for_rules,
)
from .vector_values import (
    Env,
    NumCol,
    Unsupported,
    align_all,
    checked_add,
    decimal_scale,
    round_half_even,
)

if TYPE_CHECKING:  # Bundle.simulate reaches this module
    from ..bundle import Bundle

ORGANISATION = "organisation"


@dataclass(slots=True)
class _Money:
    """A full-length output money column: exact minor units and a known mask."""

    values: np.ndarray
    known: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> _Money:
        return cls(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))

    def series(self, index: pd.Index) -> pd.Series:
        return pd.Series(pd.arrays.IntegerArray(self.values, ~self.known), index=index)


class Kernel:
    """A bundle compiled for column-wise evaluation, with its reporting currency."""

    def __init__(self, bundle: Bundle, currency: str = "EUR", rule_columns: bool = True):
        self.bundle = bundle
        self.currency = currency
        self.rule_columns = rule_columns  # `REGIME.violated` and `REGIME.undetermined` per row
        checked = bundle.checked
        self.rate_scale = max(
            (
                decimal_scale(constant_value(node))
                for values in checked.rates.values()
                for _, node, _ in values
            ),
            default=0,
        )
        self.countries = bundle_countries(checked)
        self.derivations = VectorDerivations(checked, self.rate_scale)
        self.regimes: dict[str, VectorRegime | None] = {}
        self.unsupported: dict[str, str] = {}  # regime -> why it runs on the scalar back end
        self.not_simulated: dict[str, str] = {}  # regime -> why it is left out
        for name, compiled in bundle.regimes.items():
            if compiled.regime.kind == RegimeKind.INTERNAL:
                # an organisation's own rules carry severities, not exposure, and are off by
                # default (Bundle.enabled): the simulation answers for the statutes only
                self.not_simulated[name] = "internal regime (kind internal): not simulated"
                continue
            try:
                self.regimes[name] = VectorRegime(
                    compiled, checked.parameters, self.rate_scale, rule_columns
                )
            except Unsupported as why:
                self.regimes[name] = None
                self.unsupported[name] = str(why)
        self.payers = {
            name: sorted({f.payer for f in regime.fines.values()} | {ORGANISATION})
            for name, regime in checked.regimes.items()
            if name in self.regimes
        }

    # ---- public -----------------------------------------------------------------------------

    def run(self, frame: pd.DataFrame, as_of: dt.date | None = None) -> pd.DataFrame:
        """Evaluate every row of `frame`; the result has the same index. A row's `as_of` column
        wins over `as_of` here, which wins over today."""
        frame = (
            frame.reset_index(drop=True)
            if not frame.index.equals(pd.RangeIndex(len(frame)))
            else frame
        )
        n = len(frame)
        out = _Outputs(n, self)
        default_day = as_of or dt.date.today()
        days, groups = _as_of_groups(frame, default_day)
        columns = Columns(frame, self.bundle.checked.vocabulary, self.countries, self.currency)
        fallback = np.zeros(n, dtype=bool)
        for day, rows in groups:
            group_fallback = np.zeros(len(rows), dtype=bool)
            view = self.derivations.view(
                columns.view(None if len(groups) == 1 else rows),
                Env(
                    n=len(rows),
                    facts=lambda _: None,
                    as_of=day,
                    params={},
                    rates=self.bundle.rates,
                    countries=columns.countries,
                    fallback=group_fallback,
                    rate_scale=self.rate_scale,
                ),
            )
            results: dict[str, RegimeColumns] = {}
            for name, regime in self.regimes.items():
                if regime is None:
                    group_fallback[:] = True
                    continue
                env = Env(
                    n=len(rows),
                    facts=view,
                    as_of=day,
                    params=regime.params_on(day),
                    rates=self.bundle.rates,
                    countries=columns.countries,
                    fallback=group_fallback,
                    rate_scale=self.rate_scale,
                    derive=self.derivations.view,
                )
                results[name] = regime.evaluate(env)
            if len(results) == len(self.regimes):
                out.fill(rows, day, results)
            fallback[rows] |= group_fallback
        # columns are encoded lazily while the regimes run, so the rows they cannot represent
        # exactly are only known now
        fallback |= columns.fallback
        scalar_rows = np.flatnonzero(fallback)
        for row, values in zip(scalar_rows, iter_rows(frame, scalar_rows), strict=True):
            out.fill_scalar(int(row), *self._decide(values, days[row]))
        return out.frame(frame.index, fallback)

    def _decide(self, row: dict[str, Any], day: dt.date) -> tuple[Decision, Mapping[str, Any]]:
        """The scalar decision of a row, and its facts with the derived ones filled in (what
        `REGIME.missing` counts as missing)."""
        operation = row_to_operation(row, self.bundle.checked.vocabulary, self.currency)
        facts, _ = self.bundle.schema.validate(operation)
        derived, _ = self.bundle.derivations.apply(facts, day)
        return self.bundle.decide_facts(facts, day, self.currency), derived

    def result_columns(self) -> list[str]:
        names = ["status", "exposure_min_minor", "exposure_max_minor"]
        for regime, payers in self.payers.items():
            names += [f"{regime}.status"]
            for payer in payers:
                suffix = "" if payer == ORGANISATION else f"[{payer}]"
                names += [
                    f"{regime}.exposure_min_minor{suffix}",
                    f"{regime}.exposure_max_minor{suffix}",
                ]
        return [*names, "scalar_fallback"]

    def currencies(self) -> dict[str, str]:
        return currencies_of(self.bundle, self.currency)

    def codes(self) -> dict[str, list[dict[str, Any]]]:
        return codes_of(self.bundle)


class _Outputs:
    def __init__(self, n: int, kernel: Kernel):
        self.n = n
        self.kernel = kernel
        self.status = {name: np.full(n, NOT_APPLICABLE, dtype=np.int8) for name in kernel.regimes}
        self.exposure = {
            (name, payer, end): _Money.zeros(n)
            for name, payers in kernel.payers.items()
            for payer in payers
            for end in ("min", "max")
        }
        self.total = {end: _Money.zeros(n) for end in ("min", "max")}
        self.rules: dict[tuple[str, str], np.ndarray] = (
            {
                (name, which): np.zeros(
                    (n, words_for_rules(kernel.bundle.checked.regimes[name])), dtype=np.uint64
                )
                for name in kernel.regimes
                for which in ("violated", "undetermined")
            }
            | {
                (name, "missing"): np.zeros(
                    (n, words_for_questions(kernel.bundle.checked.regimes[name])), dtype=np.uint64
                )
                for name in kernel.regimes
            }
            if kernel.rule_columns
            else {}
        )

    def fill(self, rows: np.ndarray, day: dt.date, results: dict[str, RegimeColumns]) -> None:
        kernel = self.kernel
        for name, result in results.items():
            self.status[name][rows] = result.status
            if self.rules and result.violated is not None and result.undetermined is not None:
                self.rules[(name, "violated")][rows] = result.violated
                self.rules[(name, "undetermined")][rows] = result.undetermined
            if self.rules and result.missing is not None:
                self.rules[(name, "missing")][rows] = result.missing
            minor = MINOR_UNITS.get(kernel.bundle.checked.regimes[name].currency, 2)
            for payer, exposure in result.payers.items():
                for end, col in (("min", exposure.low), ("max", exposure.high)):
                    target = self.exposure[(name, payer, end)]
                    target.values[rows] = round_half_even(col.values, col.scale - minor)
                    target.known[rows] = ~exposure.has | col.known
        for end in ("min", "max"):
            self._total(rows, day, results, end)

    def _total(
        self, rows: np.ndarray, day: dt.date, results: dict[str, RegimeColumns], end: str
    ) -> None:
        """The headline exposure: each regime's organisation exposure in the reporting currency,
        summed (bundle.decide_facts)."""
        kernel, reporting = self.kernel, self.kernel.currency
        parts = []
        for name, result in results.items():
            exposure = result.payers.get(ORGANISATION)
            if exposure is not None:
                col = exposure.low if end == "min" else exposure.high
                parts.append((kernel.bundle.checked.regimes[name].currency, exposure.has, col))
        target = self.total[end]
        minor = MINOR_UNITS.get(reporting, 2)
        if all(currency == reporting for currency, _, _ in parts):
            total = np.zeros(len(rows), dtype=np.int64)
            known = np.ones(len(rows), dtype=bool)
            sink = Env(
                n=len(rows),
                facts=lambda _: None,
                as_of=day,
                params={},
                rates=kernel.bundle.rates,
                countries=None,  # type: ignore[arg-type]
                fallback=np.zeros(len(rows), dtype=bool),
            )
            cols = align_all([col for _, _, col in parts], sink)
            scale = cols[0].scale if cols else 0
            for (_, has, col), aligned in zip(parts, cols, strict=True):
                total = checked_add(total, np.where(has, aligned.values, 0), has, sink)
                known &= ~has | col.known
            if sink.fallback.any():  # a total beyond int64: exact Decimal for those rows
                self._decimal_total(
                    rows[sink.fallback],
                    day,
                    [
                        (
                            c,
                            h[sink.fallback],
                            NumCol(v.values[sink.fallback], v.known[sink.fallback], v.scale),
                        )
                        for c, h, v in parts
                    ],
                    end,
                )
                keep = ~sink.fallback
                target.values[rows[keep]] = round_half_even(total[keep], scale - minor)
                target.known[rows[keep]] = known[keep]
                return
            target.values[rows] = round_half_even(total, scale - minor)
            target.known[rows] = known
            return
        self._estimated_total(rows, day, parts, end)

    def _estimated_total(
        self, rows: np.ndarray, day: dt.date, parts: list[tuple[str, np.ndarray, NumCol]], end: str
    ) -> None:
        """Across currencies the scalar engine converts at 40 digits and rounds the sum half-even
        to minor units. A float64 estimate with a proven error bound gives the same rounded
        figure for every row whose total is not within that bound of a half-unit tie; those
        few rows take the exact Decimal path."""
        rates, reporting = self.kernel.bundle.rates, self.kernel.currency
        minor = MINOR_UNITS.get(reporting, 2)
        n = len(rows)
        estimate = np.zeros(n)
        magnitude = np.zeros(n)
        known = np.ones(n, dtype=bool)
        for currency, has, col in parts:
            try:
                rate = float(rates.rate(currency, reporting, day))
            except MissingRate:
                known &= ~has
                continue
            values = np.broadcast_to(col.values, (n,)).astype(np.float64)
            term = values * rate / 10.0 ** (col.scale - minor)
            estimate += np.where(has, term, 0.0)
            magnitude += np.where(has, np.abs(term), 0.0)
            known &= ~has | np.broadcast_to(col.known, (n,))
        # each term carries at most a few float64 roundings (2**-53 each); the scalar engine's
        # 40- and 28-digit Decimal roundings are far smaller
        bound = magnitude * 1e-14 + 1e-9
        fraction = estimate - np.floor(estimate)
        doubtful = known & ((np.abs(fraction - 0.5) <= bound) | (magnitude >= 2.0**50))
        target = self.total[end]
        sure = ~doubtful
        target.values[rows[sure]] = np.rint(estimate[sure]).astype(np.int64)
        target.known[rows[sure]] = known[sure]
        if doubtful.any():
            self._decimal_total(
                rows[doubtful],
                day,
                [
                    (
                        c,
                        h[doubtful],
                        NumCol(
                            np.broadcast_to(v.values, (n,))[doubtful],
                            np.broadcast_to(v.known, (n,))[doubtful],
                            v.scale,
                        ),
                    )
                    for c, h, v in parts
                ],
                end,
            )

    def _decimal_total(
        self, rows: np.ndarray, day: dt.date, parts: list[tuple[str, np.ndarray, NumCol]], end: str
    ) -> None:
        """Across currencies: the scalar engine's own Decimal steps (convert at 40 digits, add in
        the default context, round half-even), cached per distinct combination of amounts."""
        rates, reporting = self.kernel.bundle.rates, self.kernel.currency
        target = self.total[end]
        cache: dict[tuple[Any, ...], Money | None] = {}
        columns = [
            (
                currency,
                has,
                np.broadcast_to(col.values, (len(rows),)),
                np.broadcast_to(col.known, (len(rows),)),
                col.scale,
            )
            for currency, has, col in parts
        ]
        for i, row in enumerate(rows):
            key = tuple((bool(h[i]), int(v[i]), bool(k[i])) for _, h, v, k, _ in columns)
            if key not in cache:
                total: Money | None = Money(Decimal(0), reporting)
                for (currency, _, _, _, scale), (has, value, known) in zip(
                    columns, key, strict=True
                ):
                    if not has:
                        continue
                    if not known or total is None:
                        total = None
                        continue
                    try:
                        converted = rates.convert(
                            Money(Decimal(value).scaleb(-scale), currency), reporting, day
                        )
                    except MissingRate:
                        total = None
                        continue
                    total = total + converted
                cache[key] = total
            _store(target, int(row), cache[key])

    def fill_scalar(self, row: int, decision: Decision, facts: Mapping[str, Any]) -> None:
        for name, regime in decision.regimes.items():
            if name not in self.status:
                continue
            self.status[name][row] = STATUS_ORDER.index(regime.status)
            if self.rules:
                bits = rule_bits(self.kernel.bundle.checked.regimes[name])
                for which, names in (
                    ("violated", [v.rule for v in regime.violations]),
                    ("undetermined", [u.rule for u in regime.undetermined_rules]),
                ):
                    words = self.rules[(name, which)]
                    words[row] = 0
                    for rule in names:
                        words[row, bits[rule] // 64] |= np.uint64(1) << np.uint64(bits[rule] % 64)
                self._fill_missing(row, name, regime, facts)
            for payer in self.kernel.payers[name]:
                amount = regime.exposure.get(payer)
                for end in ("min", "max"):
                    target = self.exposure[(name, payer, end)]
                    if amount is None:
                        target.values[row], target.known[row] = 0, True
                    else:
                        _store(target, row, amount.min if end == "min" else amount.max)
        _store(self.total["min"], row, decision.exposure.reporting_min)
        _store(self.total["max"], row, decision.exposure.reporting_max)

    def _fill_missing(
        self, row: int, name: str, regime: RegimeDecision, facts: Mapping[str, Any]
    ) -> None:
        """`REGIME.missing` of a row the scalar back end decided, by the vectorised definition:
        the missing facts an undetermined rule reads, and the scope's when it is unknown."""
        checked = self.kernel.bundle.checked.regimes[name]
        questions = question_bits(checked)
        asked: set[str] = set()
        for undetermined in regime.undetermined_rules:
            asked.update(rule_reads(checked.rules[undetermined.rule], checked))
        if regime.scope_missing:  # the scope is unknown
            asked.update(p for a in checked.applies for p in a.facts_read)
        words = self.rules[(name, "missing")]
        words[row] = 0
        for path in asked:
            if path in questions and facts.get(path) is None:
                bit = questions[path]
                words[row, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)

    def frame(self, index: pd.Index, fallback: np.ndarray) -> pd.DataFrame:
        statuses = (
            np.stack(list(self.status.values()))
            if self.status
            else np.full((1, self.n), NOT_APPLICABLE, dtype=np.int8)
        )
        data: dict[str, Any] = {
            "status": _status(statuses.min(axis=0)),
            "exposure_min_minor": self.total["min"].series(index),
            "exposure_max_minor": self.total["max"].series(index),
        }
        for name, payers in self.kernel.payers.items():
            data[f"{name}.status"] = _status(self.status[name])
            for payer in payers:
                suffix = "" if payer == ORGANISATION else f"[{payer}]"
                for end in ("min", "max"):
                    data[f"{name}.exposure_{end}_minor{suffix}"] = self.exposure[
                        (name, payer, end)
                    ].series(index)
        for (name, which), words in self.rules.items():
            for k in range(words.shape[1]):
                data[f"{name}.{which}" + (f"[{k}]" if k else "")] = words[:, k]
        data["scalar_fallback"] = fallback
        result = pd.DataFrame(data, index=index)
        result.attrs["currencies"] = self.kernel.currencies()
        return result


def _status(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(STATUS_ORDER))


def _store(target: _Money, row: int, money: Money | None) -> None:
    if money is None:
        target.values[row], target.known[row] = 0, False
        return
    rounded = money.rounded()
    target.values[row] = int(rounded.amount.scaleb(MINOR_UNITS.get(money.currency, 2)))
    target.known[row] = True


def _as_of_groups(
    frame: pd.DataFrame, default: dt.date
) -> tuple[np.ndarray, list[tuple[dt.date, np.ndarray]]]:
    """Per row the date the law is applied at, and the rows of each distinct date."""
    n = len(frame)
    if "as_of" not in frame.columns:
        return np.full(n, default, dtype=object), [(default, np.arange(n))]
    cells = frame["as_of"].to_numpy(dtype=object)
    days = np.empty(n, dtype=object)
    parsed: dict[Any, dt.date] = {}
    for i, cell in enumerate(cells):
        if is_null(cell):
            days[i] = default
            continue
        if cell not in parsed:
            parsed[cell] = (
                cell.date()
                if isinstance(cell, dt.datetime | pd.Timestamp)
                else cell
                if isinstance(cell, dt.date)
                else dt.date.fromisoformat(str(cell)[:10])
            )
        days[i] = parsed[cell]
    codes, uniques = pd.factorize(days)
    return days, [(day, np.flatnonzero(codes == i)) for i, day in enumerate(uniques)]


def bundle_countries(checked: ir.CheckedBundle) -> set[str]:
    """Every country code the policies mention: the codebook's fixed part."""
    found: set[str] = set()

    def value(v: Any) -> None:
        if isinstance(v, str) and v[:2].isupper():
            found.add(v)
        elif isinstance(v, frozenset | set):
            for item in v:
                value(item)
        elif isinstance(v, dict):
            for key in v:
                value(key)

    def walk(node: ir.Node | None) -> None:
        if node is None:
            return
        if isinstance(node, ir.Const) and (
            node.type == CODE or (isinstance(node.type, SetType) and node.type.element == CODE)
        ):
            value(node.value)
        for child in _children(node):
            walk(child)

    def parameters(params: Iterable[ir.CheckedParameter]) -> None:
        for parameter in params:
            for _, node, _ in parameter.values:
                if (
                    parameter.type == CODE
                    or isinstance(parameter.type, SetType)
                    or "map" in str(parameter.type)
                ):
                    value(constant_value(node))

    parameters(checked.parameters.values())
    for regime in checked.regimes.values():
        parameters(regime.parameters.values())
        for clause in regime.applies:
            walk(clause.condition)
        for define in regime.defines.values():
            walk(define.value)
        for rule in regime.rules.values():
            walk(rule.when)
            walk(rule.violation)
            for obligation in rule.obligations:
                walk(obligation.condition)
        for fine in regime.fines.values():
            walk(fine.low)
            walk(fine.high)
    return {c for c in found if not is_null(c)}


def _children(node: ir.Node) -> list[ir.Node]:
    if isinstance(node, ir.Op):
        return list(node.args)
    if isinstance(node, ir.Loop):
        return [n for n in (node.collection, node.condition, node.value) if n is not None]
    if isinstance(node, ir.Field):
        return [node.target]
    return []
