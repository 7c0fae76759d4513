"""Summaries, plots and the HTML report of a simulation.

The summary itself is reduced on the workers (summary.py); the plots are drawn from its
histograms, so no per-row result is needed here. Statistics are shown in currency units as
float64 from the exact minor-unit sums and quantiles, while the per-scenario figures in the
Parquet/CSV output stay exact integers.
"""

from __future__ import annotations

import base64
import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..values import MINOR_UNITS
from .summary import ColumnPart, Part, bucket_value


def exposure_units(result: pd.DataFrame, column: str, currency: str) -> pd.Series:
    return result[column].astype("Float64") / 10 ** MINOR_UNITS.get(currency, 2)


def compare_summary(
    base: dict[str, Any], reform: dict[str, Any], changed_share: float
) -> dict[str, Any]:
    def delta(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"share_denied": b["share_denied"] - a["share_denied"]}
        if "exposure_max" in a and "exposure_max" in b:
            out["exposure_max"] = {
                k: b["exposure_max"][k] - a["exposure_max"][k] for k in a["exposure_max"]
            }
        return out

    return {
        "baseline": base,
        "reform": reform,
        "change": {
            "status_changed_share": changed_share,
            "total": delta(base["total"], reform["total"]),
            "regimes": {
                name: delta(base["regimes"][name], reform["regimes"][name])
                for name in base["regimes"]
                if name in reform["regimes"]
            },
        },
    }


# ---- plots -----------------------------------------------------------------------------------


def _money_axis(axis: Any, currency: str) -> None:
    from matplotlib.ticker import FuncFormatter

    def label(value: float, _: int) -> str:
        for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:g}{suffix}"
        return f"{value:g}"

    axis.set_major_formatter(FuncFormatter(label))


def _weighted_quantile(buckets: Counter[int], q: float, unit: int) -> float:
    keys = sorted(buckets)
    counts = np.cumsum([buckets[k] for k in keys])
    at = int(np.searchsorted(counts, q * (counts[-1] - 1), side="right"))
    return bucket_value(keys[min(at, len(keys) - 1)]) / unit


def plot_sweep(
    part: Part,
    x_label: str,
    log_x: bool,
    currencies: dict[str, str],
    path: Path,
) -> Path:
    """Exposure (upper end) against the varied fact: the total and each regime; the median over
    samples at each point, with the P5-P95 band when the scenarios are sampled too (from the
    workers' histograms: within about 2% of the exact figure). A reform's total (the series
    `reform total`) is drawn dashed over the baseline's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    reporting = currencies["total"]
    unit = 10 ** MINOR_UNITS.get(reporting, 2)
    for label, points in part.sweep.items():
        dashed = label.startswith("reform")
        xs = sorted(points)
        sampled = max(sum(points[x].values()) for x in xs) > 1 if xs else False
        median = [_weighted_quantile(points[x], 0.5, unit) for x in xs]
        line = axis.plot(
            xs,
            median,
            marker="." if len(xs) < 60 else None,
            linestyle="--" if dashed else "-",
            linewidth=2.2 if label.endswith("total") else 1.3,
            label=f"{label} (median)" if sampled else label,
        )
        if sampled:
            axis.fill_between(
                xs,
                [_weighted_quantile(points[x], 0.05, unit) for x in xs],
                [_weighted_quantile(points[x], 0.95, unit) for x in xs],
                alpha=0.15,
                color=line[0].get_color(),
            )
    if log_x:
        axis.set_xscale("log")
    axis.set_xlabel(x_label)
    axis.set_ylabel(f"maximum fine exposure ({reporting})")
    _money_axis(axis.yaxis, reporting)
    if not log_x:
        _money_axis(axis.xaxis, "")
    axis.set_title(f"Exposure against {x_label}")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_distribution(
    column: ColumnPart,
    stats: dict[str, Any],
    path: Path,
    title: str = "Distribution of total exposure",
) -> Path:
    """Histogram and cumulative distribution of the total exposure (upper end) over all
    scenarios, from the workers' histograms; the P95 and P99 lines are the exact quantiles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    currency = stats["currency"]
    unit = 10 ** MINOR_UNITS.get(currency, 2)
    keys = sorted(column.buckets)
    values = np.array([bucket_value(k) / unit for k in keys])
    counts = np.array([column.buckets[k] for k in keys], dtype=np.float64)
    figure, (hist, cdf) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    if values.size:
        hist.hist(values, bins=60, weights=counts, color="#3b6ea5", edgecolor="white")
        cdf.step(values, np.cumsum(counts) / counts.sum(), where="post", color="#a53b3b")
        for name, q in (("P95", 0.95), ("P99", 0.99)):
            at = float(stats["exposure_max"][name.lower()])
            cdf.axvline(at, linestyle="--", color="grey", linewidth=1)
            cdf.annotate(
                f"{name} {at:,.0f}",
                (at, q),
                textcoords="offset points",
                xytext=(-8, -14),
                ha="right",
                fontsize=8,
            )
    hist.set_xlabel(f"total maximum fine exposure ({currency})")
    hist.set_ylabel("scenarios")
    hist.set_title("Histogram")
    cdf.set_xlabel(f"total maximum fine exposure ({currency})")
    cdf.set_ylabel("share of scenarios at or below")
    cdf.set_ylim(0, 1.02)
    cdf.set_title("Cumulative distribution")
    for axis in (hist, cdf):
        _money_axis(axis.xaxis, currency)
        axis.grid(True, alpha=0.3)
    rows = column.known + column.unknown
    unknown = column.unknown / rows if rows else 0.0
    figure.suptitle(
        f"{title} — {rows:,} scenarios"
        + (f" ({unknown:.1%} could not be computed: a fact is missing)" if unknown else "")
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


STATUS_COLOURS = {
    "denied": "#b03a2e",
    "undetermined": "#e0a526",
    "allowed_with_obligations": "#5d8aa8",
    "allowed": "#3a8f4f",
    "not_applicable": "#b9b9b9",
}


def plot_status(summary: dict[str, Any], path: Path, title: str = "Status by regime") -> Path:
    """The share of scenarios in each status, per regime and over all regimes: how much of the
    population a regime denies, and how much it cannot decide for want of a fact."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("all regimes", summary["total"]), *summary["regimes"].items()]
    figure, axis = plt.subplots(figsize=(11, 0.6 * len(rows) + 1.6), dpi=110)
    labels = [name for name, _ in rows][::-1]
    left = np.zeros(len(rows))
    for status, colour in STATUS_COLOURS.items():
        shares = np.array([stats["status_share"].get(status, 0.0) for _, stats in rows][::-1])
        axis.barh(labels, shares, left=left, color=colour, label=status.replace("_", " "))
        for y, (start, share) in enumerate(zip(left, shares, strict=True)):
            if share >= 0.06:
                axis.text(
                    start + share / 2,
                    y,
                    f"{share:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
        left += shares
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of scenarios")
    axis.set_title(f"{title} — {summary['scenarios']:,} scenarios")
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


# ---- HTML ------------------------------------------------------------------------------------


def _table(stats: dict[str, Any], label: str) -> str:
    exposure = stats.get("exposure_max", {})
    shares = (
        f"<td>{stats['share_denied']:.1%}</td><td>{stats.get('undetermined_share', 0.0):.1%}</td>"
        if "share_denied" in stats
        else "<td>—</td><td>—</td>"  # another payer of a regime's fines: figures only
    )
    cells = "".join(
        f"<td>{exposure.get(k, float('nan')):,.2f}</td>"
        for k in ("mean", "median", "p90", "p95", "p99", "max")
    )
    return (
        f"<tr><th>{html.escape(label)}</th><td>{stats['currency']}</td>"
        f"{shares}{cells}"
        f"<td>{stats['exposure_unknown_share']:.1%}</td></tr>"
    )


def _rules(data: dict[str, Any], top: int = 10) -> str:
    """Per regime, the rules most often violated and most often left undetermined."""
    rows = []
    for name, stats in data["regimes"].items():
        for which, key in (
            ("violated", "rules_violated"),
            ("undetermined", "rules_undetermined"),
            ("missing facts to ask", "facts_missing"),
        ):
            shares = list(stats.get(key, {}).items())[:top]
            if shares:
                cells = "; ".join(f"{html.escape(rule)} {share:.1%}" for rule, share in shares)
                rows.append(
                    f"<tr><th>{html.escape(name)}</th><td>{which}</td>"
                    f"<td style='text-align:left'>{cells}</td></tr>"
                )
    if not rows:
        return ""
    return (
        "<p>Rules and facts by share of scenarios (the per-row columns REGIME.violated, "
        "REGIME.undetermined and REGIME.missing; rules.json and facts.json decode them):</p>"
        "<table>" + "".join(rows) + "</table>"
    )


def write_html(
    summary: dict[str, Any],
    images: list[Path],
    path: Path,
    title: str,
    inputs: dict[str, Any] | None = None,
) -> Path:
    """The report: the run's inputs (bundle, seed, sweeps, distributions: what reproduces it),
    the summary tables and the plots, in one self-contained page."""
    head = (
        "<tr><th></th><th>currency</th><th>denied</th><th>undetermined</th><th>mean</th>"
        "<th>median</th>"
        "<th>P90</th><th>P95</th><th>P99</th><th>max</th><th>not computable</th></tr>"
    )
    sections = []
    runs = (
        {"baseline": summary["baseline"], "reform": summary["reform"]}
        if "baseline" in summary
        else {"": summary}
    )
    for run, data in runs.items():
        rows = _table(data["total"], "all regimes") + "".join(
            _table(s, name)
            + "".join(_table(p, f"{name}: {payer}") for payer, p in s.get("payers", {}).items())
            for name, s in data["regimes"].items()
        )
        heading = f"<h2>{html.escape(run)}</h2>" if run else ""
        sections.append(
            f"{heading}<p>{data['scenarios']:,} scenarios; "
            f"{data['scalar_fallback_share']:.2%} evaluated by the scalar back end; "
            f"{data.get('undetermined_share', 0.0):.1%} undetermined (a missing fact decides)"
            f"</p><table>{head}{rows}</table>{_rules(data)}"
        )
    recorded = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td style='text-align:left'>"
        f"{html.escape(v if isinstance(v, str) else json.dumps(v))}</td></tr>"
        for k, v in (inputs or {}).items()
    )
    if recorded:
        sections.insert(0, f"<h2>Inputs</h2><table>{recorded}</table>")
    pictures = "".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{html.escape(p.stem)}'
        "</figcaption></figure>"
        for p in images
    )
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
img{{max-width:100%}}</style>
<h1>{html.escape(title)}</h1>
<p>Exposure is the upper end of the statutory fine range (maximum exposure), aggregated per
regime by its own rule and summed across regimes in the reporting currency.</p>
{"".join(sections)}{pictures}</html>"""
    path.write_text(page, encoding="utf-8")
    return path


def decode_rules(
    result: pd.DataFrame, codes: dict[str, list[dict[str, Any]]], regime: str, which: str
) -> pd.Series:
    """The rule names behind a rule column, per row: `decode_rules(results, rules["baseline"],
    "GDPR", "violated")` (rules.json is the lookup table `lexgate simulate` writes)."""
    return decode_bits(result, f"{regime}.{which}", [entry["rule"] for entry in codes[regime]])


def decode_bits(result: pd.DataFrame, column: str, names: list[str]) -> pd.Series:
    """The names behind a bitmask column (and its further words `column[1]`, …), per row:
    `decode_bits(results, "GDPR.missing", facts["baseline"]["GDPR"])` with facts.json."""
    words = [
        result[column + (f"[{k}]" if k else "")].to_numpy(dtype=np.uint64)
        for k in range((len(names) + 63) // 64 or 1)
    ]
    rows = []
    for values in zip(*words, strict=True):
        rows.append(
            [name for bit, name in enumerate(names) if (int(values[bit // 64]) >> (bit % 64)) & 1]
        )
    return pd.Series(rows, index=result.index, name=column)
