"""Summaries reduced where the results are: each partition's counts, exact sums and a bucketed
histogram of its exposures, merged on the driver, then exact quantiles by a second pass.

A partition's `Part` is small (counts, one Python integer sum and at most a few hundred
histogram buckets per column), so the per-row results never travel to build the summary.
Exposures are integers in minor units; a value's bucket is `1 + floor(log2(v) * GRAIN)` (signed,
0 for 0), fixed in advance, so the histograms of any partitioning add up to the same counts.
A quantile is then exact: the merged histogram says which bucket holds the wanted rank, and the
second pass asks each partition only for its (distinct) values in that bucket. Means are exact
sums divided once at the end, so the summary is the same for any number of workers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..decision import STATUS_ORDER
from ..values import MINOR_UNITS

QUANTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
GRAIN = 32  # buckets per doubling: a bucket spans about 2.2% of its values
BASELINE, REFORM = "", "reform."
EXPOSURE = "exposure_max_minor"
RULE_COLUMNS = ("violated", "undetermined", "missing")
PAYER_STATS = ("currency", "exposure_unknown_share", "exposure_max")
Codes = Mapping[str, list[dict[str, Any]]]  # Kernel.codes(): regime -> rule per bit


def bucket_keys(values: np.ndarray) -> np.ndarray:
    """The histogram bucket of each integer value; monotone in the value."""
    magnitude = np.abs(values).astype(np.float64)
    with np.errstate(divide="ignore"):
        keys = 1 + np.floor(np.log2(np.where(magnitude > 0, magnitude, 1)) * GRAIN)
    keyed: np.ndarray = (np.sign(values) * keys).astype(np.int64)
    return keyed


def bucket_value(key: int) -> float:
    """A representative value (minor units) of a bucket, for plots."""
    if key == 0:
        return 0.0
    return float(np.sign(key) * 2 ** ((abs(key) - 0.5) / GRAIN))


@dataclass(slots=True, kw_only=True)
class ColumnPart:
    """One status column and its exposure column over a partition (mutable: partitions are
    merged into one accumulator, which is cheaper than a new record per merge)."""

    status: Counter[str] = field(default_factory=Counter)
    known: int = 0
    unknown: int = 0
    total: int = 0  # exact, minor units
    top: int | None = None
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, other: ColumnPart) -> None:
        self.status.update(other.status)
        self.known += other.known
        self.unknown += other.unknown
        self.total += other.total
        if other.top is not None:
            self.top = other.top if self.top is None else max(self.top, other.top)
        self.buckets.update(other.buckets)


@dataclass(slots=True, kw_only=True)
class Part:
    """A partition's (or, merged, the run's) summary before quantiles."""

    rows: int = 0
    fallback: Counter[str] = field(default_factory=Counter)  # run -> rows sent to scalar
    changed: int = 0  # rows whose overall status a reform changed
    columns: dict[str, ColumnPart] = field(default_factory=dict)  # prefix -> column
    # (regime prefix, "violated" | "undetermined") -> rule bit -> rows
    rules: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    # the sweep plot's data: series -> x -> buckets of that series' exposure
    sweep: dict[str, dict[float, Counter[int]]] = field(default_factory=dict)

    def add(self, other: Part) -> None:
        self.rows += other.rows
        self.fallback.update(other.fallback)
        self.changed += other.changed
        for prefix, column in other.columns.items():
            self.columns.setdefault(prefix, ColumnPart()).add(column)
        for key, counts in other.rules.items():
            self.rules.setdefault(key, Counter()).update(counts)
        for series, points in other.sweep.items():
            mine = self.sweep.setdefault(series, {})
            for x, buckets in points.items():
                mine.setdefault(x, Counter()).update(buckets)


def _exact_sum(values: np.ndarray) -> int:
    # int64 sums of the high and low halves cannot overflow for partitions of < 2**20 rows
    return int(np.sum(values >> 20)) * 2**20 + int(np.sum(values & (2**20 - 1)))


def _known(result: pd.DataFrame, column: str) -> np.ndarray:
    known: np.ndarray = result[column].dropna().to_numpy(dtype=np.int64)
    return known


def partial(
    result: pd.DataFrame,
    prefixes: Iterable[str],
    runs: Iterable[str] = (BASELINE,),
    sweep: tuple[pd.Series, Mapping[str, str]] | None = None,
) -> Part:
    """The summary of one partition's results: `prefixes` are the status/exposure column
    prefixes ("" for the total, "GDPR." per regime, "reform.…" for a reform's); `sweep` is the
    swept fact's column and the series to plot against it (label -> exposure column)."""
    part = Part(rows=len(result))
    for run in runs:
        part.fallback[run] = int(result[f"{run}scalar_fallback"].sum())
    if "status_changed" in result.columns:
        part.changed = int(result["status_changed"].sum())
    summary_keys = list(prefixes)
    for prefix in prefixes:
        if prefix.endswith("."):  # a regime: its other payers too (the EDPB estimate, ...)
            start = f"{prefix}{EXPOSURE}["
            summary_keys += [
                f"{prefix}[{c[len(start) :]}" for c in result.columns if c.startswith(start)
            ]
    for prefix in summary_keys:
        status_column, exposure_column = _columns_of(prefix)
        values = _known(result, exposure_column)
        status = result[status_column].astype(str).value_counts()
        part.columns[prefix] = ColumnPart(
            status=Counter({str(k): int(v) for k, v in status.items()}),
            known=len(values),
            unknown=len(result) - len(values),
            total=_exact_sum(values),
            top=int(values.max()) if len(values) else None,
            buckets=_count(bucket_keys(values)),
        )
        for which in RULE_COLUMNS:
            if prefix.endswith(".") and f"{prefix}{which}" in result.columns:
                part.rules[(prefix, which)] = _rule_counts(result, f"{prefix}{which}")
    if sweep is not None:
        x, series = sweep
        for label, column in series.items():
            known = result[column].notna().to_numpy() & x.notna().to_numpy()
            keys = bucket_keys(result[column].to_numpy(dtype=np.float64, na_value=0)[known])
            pairs = pd.DataFrame({"x": x.to_numpy(dtype=np.float64)[known], "k": keys})
            points: dict[float, Counter[int]] = {}
            for (at, key), count in pairs.value_counts().items():
                points.setdefault(float(at), Counter())[int(key)] = int(count)
            part.sweep[label] = points
    return part


def _columns_of(key: str) -> tuple[str, str]:
    """The status and exposure columns of a summary key: "" (the total), "GDPR." (a regime,
    its organisation's exposure), "GDPR.[payer]" (another payer of the regime's fines)."""
    if key.endswith("]"):
        prefix, _, payer = key.partition("[")
        return f"{prefix}status", f"{prefix}{EXPOSURE}[{payer}"
    return f"{key}status", f"{key}{EXPOSURE}"


def _rule_counts(result: pd.DataFrame, column: str) -> Counter[int]:
    """Rows per rule bit of a rule column (and its further words `column[1]`, …)."""
    counts: Counter[int] = Counter()
    word = 0
    name = column
    while name in result.columns:
        words = np.ascontiguousarray(result[name].to_numpy(dtype=np.uint64))
        bits = np.unpackbits(words.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
        for bit, rows in enumerate(bits.sum(axis=0).tolist()):
            if rows:
                counts[64 * word + bit] = int(rows)
        word += 1
        name = f"{column}[{word}]"
    return counts


def _count(keys: np.ndarray) -> Counter[int]:
    unique, counts = np.unique(keys, return_counts=True)
    return Counter(dict(zip(unique.tolist(), counts.tolist(), strict=True)))


def merge(parts: Iterable[Part]) -> Part:
    merged = Part()
    for part in parts:
        merged.add(part)
    return merged


def _ranks(known: int) -> dict[str, tuple[int, int, float]]:
    out = {}
    for name, q in QUANTILES.items():
        h = (known - 1) * q
        lo = int(np.floor(h))
        out[name] = (lo, min(lo + 1, known - 1), h - lo)
    return out


def _bucket_of(buckets: Counter[int], rank: int) -> tuple[int, int]:
    """The bucket holding the value of 0-based `rank`, and how many values come before it."""
    before = 0
    for key in sorted(buckets):
        if rank < before + buckets[key]:
            return key, before
        before += buckets[key]
    raise AssertionError("rank beyond the histogram")


def wanted(merged: Part) -> dict[str, set[int]]:
    """Per prefix, the buckets whose values the quantiles need (the second pass)."""
    out: dict[str, set[int]] = {}
    for prefix, column in merged.columns.items():
        if column.known:
            for lo, hi, _ in _ranks(column.known).values():
                for rank in (lo, hi):
                    out.setdefault(prefix, set()).add(_bucket_of(column.buckets, rank)[0])
    return out


Values = dict[str, dict[int, dict[int, int]]]  # prefix -> bucket -> value -> count


def values_in(result: pd.DataFrame, buckets: Mapping[str, set[int]]) -> Values:
    """One partition's distinct values (with counts) in the given buckets: the second pass."""
    out: Values = {}
    for prefix, keys in buckets.items():
        values = _known(result, _columns_of(prefix)[1])
        key_of = bucket_keys(values)
        for key in keys:
            unique, counts = np.unique(values[key_of == key], return_counts=True)
            found = out.setdefault(prefix, {}).setdefault(key, {})
            for value, count in zip(unique.tolist(), counts.tolist(), strict=True):
                found[value] = found.get(value, 0) + count
    return out


def merge_values(parts: Iterable[Values]) -> Values:
    out: Values = {}
    for part in parts:
        for prefix, buckets in part.items():
            for key, values in buckets.items():
                found = out.setdefault(prefix, {}).setdefault(key, {})
                for value, count in values.items():
                    found[value] = found.get(value, 0) + count
    return out


def _value_at(column: ColumnPart, values: dict[int, dict[int, int]], rank: int) -> int:
    key, before = _bucket_of(column.buckets, rank)
    for value in sorted(values[key]):
        before += values[key][value]
        if rank < before:
            return value
    raise AssertionError("the second pass missed values of a bucket")


def _stats(column: ColumnPart, values: dict[int, dict[int, int]], currency: str) -> dict[str, Any]:
    rows = column.known + column.unknown
    share = {str(s): column.status.get(str(s), 0) / rows if rows else 0.0 for s in STATUS_ORDER}
    stats: dict[str, Any] = {
        "currency": currency,
        "status_share": share,
        "share_denied": share.get("denied", 0.0),
        "undetermined_share": share.get("undetermined", 0.0),
        "exposure_unknown_share": column.unknown / rows if rows else 0.0,
    }
    if column.known:
        unit = 10 ** MINOR_UNITS.get(currency, 2)
        exposure: dict[str, float] = {"mean": column.total / column.known / unit}
        for name, (lo, hi, t) in _ranks(column.known).items():
            a = _value_at(column, values, lo) / unit
            b = _value_at(column, values, hi) / unit
            exposure[name] = b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t  # as NumPy
        exposure["max"] = (column.top or 0) / unit
        stats["exposure_max"] = exposure
    return stats


def finish(
    merged: Part,
    values: Values,
    currencies: Mapping[str, str],
    run: str = "",
    codes: Codes | None = None,
    facts: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The summary of one run (a bundle's columns under `run`), as `summarise` gives it."""
    rows = merged.rows
    summary: dict[str, Any] = {
        "scenarios": rows,
        "scalar_fallback_share": merged.fallback.get(run, 0) / rows if rows else 0.0,
        "undetermined_share": (
            merged.columns[run].status.get("undetermined", 0) / rows if rows else 0.0
        ),
        "total": _stats(merged.columns[run], values.get(run, {}), currencies["total"]),
        "regimes": {
            name: _stats(merged.columns[f"{run}{name}."], values.get(f"{run}{name}.", {}), currency)
            for name, currency in currencies.items()
            if name != "total"
        },
    }
    for name, stats in summary["regimes"].items():
        start = f"{run}{name}.["
        payers = {
            key[len(start) : -1]: _stats(column, values.get(key, {}), currencies[name])
            for key, column in merged.columns.items()
            if key.startswith(start)
        }
        if payers:
            # other payers' exposure (e.g. GDPR's EDPB estimate), the figures only
            stats["payers"] = {
                payer: {k: v for k, v in s.items() if k in PAYER_STATS}
                for payer, s in payers.items()
            }
        for which in RULE_COLUMNS:
            counts = merged.rules.get((f"{run}{name}.", which))
            if which == "missing":
                names = (facts or {}).get(name)
                key = "facts_missing"  # the share of scenarios that should be asked each fact
            else:
                names = [entry["rule"] for entry in (codes or {}).get(name, [])] or None
                key = f"rules_{which}"  # the share in which each rule is violated / undetermined
            if counts is not None and names is not None:
                stats[key] = {
                    names[bit]: count / rows
                    for bit, count in sorted(counts.items(), key=lambda c: (-c[1], c[0]))
                }
    return summary


def prefixes(currencies: Mapping[str, str], runs: Iterable[str]) -> list[str]:
    return [f"{run}{name}." if name != "total" else run for run in runs for name in currencies]


def summarise(
    result: pd.DataFrame,
    currencies: Mapping[str, str],
    run: str = "",
    codes: Codes | None = None,
    facts: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The summary of results held in this process (the same two passes over one partition)."""
    part = partial(result, prefixes(currencies, [run]), [run])
    return finish(part, values_in(result, wanted(part)), currencies, run, codes, facts)
