"""Summaries, plots and the HTML report of a simulation.

Statistics of exposure are computed in currency units as float64 from the exact minor-unit
columns: a mean or a P95 over many scenarios is an estimate anyway, while the per-scenario
figures in the Parquet/CSV output stay exact integers.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..decision import STATUS_ORDER
from ..values import MINOR_UNITS

QUANTILES = {"median": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def exposure_units(result: pd.DataFrame, column: str, currency: str) -> pd.Series:
    return result[column].astype("Float64") / 10 ** MINOR_UNITS.get(currency, 2)


def _stats(result: pd.DataFrame, prefix: str, currency: str) -> dict[str, Any]:
    status = result[f"{prefix}status"]
    exposure = exposure_units(result, f"{prefix}exposure_max_minor", currency)
    known = exposure.dropna().to_numpy(dtype=np.float64)
    stats: dict[str, Any] = {
        "currency": currency,
        "status_share": {s: float((status == s).mean()) for s in STATUS_ORDER},
        "share_denied": float((status == "denied").mean()),
        "exposure_unknown_share": float(exposure.isna().mean()),
    }
    if known.size:
        stats["exposure_max"] = {
            "mean": float(known.mean()),
            **{name: float(np.quantile(known, q)) for name, q in QUANTILES.items()},
            "max": float(known.max()),
        }
    return stats


def summarise(result: pd.DataFrame, currencies: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "scenarios": len(result),
        "scalar_fallback_share": float(result["scalar_fallback"].mean()) if len(result) else 0.0,
        "total": _stats(result, "", currencies["total"]),
        "regimes": {
            name: _stats(result, f"{name}.", currency)
            for name, currency in currencies.items()
            if name != "total"
        },
    }
    return summary


def compare_summary(
    base: dict[str, Any], reform: dict[str, Any], result: pd.DataFrame
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
            "status_changed_share": float(result["status_changed"].mean()),
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


def plot_sweep(
    frame: pd.DataFrame,
    result: pd.DataFrame,
    x_column: str,
    x_label: str,
    log_x: bool,
    currencies: dict[str, str],
    path: Path,
) -> Path:
    """Exposure (upper end) against the varied fact: the total and each regime; the median over
    samples at each point, with the P5-P95 band when the scenarios are sampled too."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    x = pd.to_numeric(frame[x_column], errors="coerce")
    reporting = currencies["total"]
    series = [("total", "exposure_max_minor", reporting)] + [
        (name, f"{name}.exposure_max_minor", c)
        for name, c in currencies.items()
        if name != "total" and c == reporting
    ]
    for label, column, currency in series:
        y = exposure_units(result, column, currency).astype("float64")
        grouped = pd.DataFrame({"x": x, "y": y}).dropna().groupby("x")["y"]
        median = grouped.median()
        line = axis.plot(
            median.index,
            median.to_numpy(),
            marker="." if len(median) < 60 else None,
            linewidth=2.2 if label == "total" else 1.3,
            label=f"{label} (median)" if grouped.size().max() > 1 else label,
        )
        if grouped.size().max() > 1:
            axis.fill_between(
                median.index,
                grouped.quantile(0.05).to_numpy(),
                grouped.quantile(0.95).to_numpy(),
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
    result: pd.DataFrame,
    currencies: dict[str, str],
    path: Path,
    title: str = "Distribution of total exposure",
) -> Path:
    """Histogram and empirical CDF of the total exposure (upper end) over all scenarios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    currency = currencies["total"]
    values = exposure_units(result, "exposure_max_minor", currency).dropna().to_numpy(np.float64)
    figure, (hist, cdf) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    if values.size:
        hist.hist(values, bins=60, color="#3b6ea5", edgecolor="white")
        ordered = np.sort(values)
        cdf.plot(ordered, np.arange(1, ordered.size + 1) / ordered.size, color="#a53b3b")
        for name, q in (("P95", 0.95), ("P99", 0.99)):
            at = float(np.quantile(values, q))
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
    unknown = float(result["exposure_max_minor"].isna().mean())
    figure.suptitle(
        f"{title} — {len(result):,} scenarios"
        + (f" ({unknown:.1%} could not be computed: a fact is missing)" if unknown else "")
    )
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


# ---- HTML ------------------------------------------------------------------------------------


def _table(stats: dict[str, Any], label: str) -> str:
    exposure = stats.get("exposure_max", {})
    cells = "".join(
        f"<td>{exposure.get(k, float('nan')):,.2f}</td>"
        for k in ("mean", "median", "p90", "p95", "p99", "max")
    )
    return (
        f"<tr><th>{html.escape(label)}</th><td>{stats['currency']}</td>"
        f"<td>{stats['share_denied']:.1%}</td>{cells}"
        f"<td>{stats['exposure_unknown_share']:.1%}</td></tr>"
    )


def write_html(summary: dict[str, Any], images: list[Path], path: Path, title: str) -> Path:
    head = (
        "<tr><th></th><th>currency</th><th>denied</th><th>mean</th><th>median</th>"
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
            _table(s, name) for name, s in data["regimes"].items()
        )
        heading = f"<h2>{html.escape(run)}</h2>" if run else ""
        sections.append(
            f"{heading}<p>{data['scenarios']:,} scenarios; "
            f"{data['scalar_fallback_share']:.2%} evaluated by the scalar back end"
            f"</p><table>{head}{rows}</table>"
        )
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
