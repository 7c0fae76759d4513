"""The audit report: JSON (every figure, exact decimal strings) and one self-contained HTML file
(inline CSS, the chart as a base64 PNG, no script and nothing fetched from elsewhere), written
from the same data so the two never disagree."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from ..decision import to_json_value
from ..values import Money
from .run import ActivityResult, AuditResult, Range, regime_rows
from .template import HTML

REPORT_VERSION = 1


def money(value: Money | None) -> dict[str, str] | None:
    return value.rounded().to_json() if value is not None else None


def range_json(value: Range) -> dict[str, Any]:
    return {
        "currency": value.currency,
        "min": money(value.min),
        "max": money(value.max),
        "max_at_least": money(value.max_at_least),
    }


def _activity_json(result: ActivityResult) -> dict[str, Any]:
    activity = result.activity
    data: dict[str, Any] = {
        "id": activity.id,
        "name": activity.name,
        "owner": activity.owner,
        "systems": list(activity.systems),
        "description": activity.description,
        "status": result.status,
        "internal_status": result.internal_status,
        "errors": list(result.errors),
        "exposure": {name: range_json(r) for name, r in result.exposure.items()},
        "exposure_total": range_json(result.total),
        "regimes": {},
    }
    if result.decision is None:
        return data
    for name, regime in regime_rows(result.decision):
        data["regimes"][name] = {
            "kind": regime.kind,
            "title": regime.title,
            "status": regime.status,
            "currency": regime.currency,
            "violations": [
                {
                    "rule": v.rule,
                    "title": v.title,
                    "cite": v.cite,
                    "severity": v.severity,
                    "facts": {p: to_json_value(x) for p, x in v.facts.items()},
                }
                for v in regime.violations
            ],
            "obligations": [o.to_dict() for o in regime.obligations],
            "undetermined_rules": [u.to_dict() for u in regime.undetermined_rules],
            "questions": [q.to_dict() for q in regime.questions],
            "remediations": [r.to_dict() for r in regime.remediations],
            "not_assessed": [n.topic for n in regime.not_assessed],
        }
    return data


def report_json(audit: AuditResult) -> dict[str, Any]:
    return {
        "report": "lexgate audit",
        "version": REPORT_VERSION,
        "date": audit.as_of.isoformat(),
        "register": Path(audit.register.path).name,
        "organisation": dict(audit.register.organisation),
        "bundle_hash": audit.bundle_hash,
        "profile": audit.profile,
        "currency": audit.currency,
        "regimes": list(audit.regimes),
        "internal_regimes": list(audit.internal_regimes),
        "status": audit.overall_status(),
        "status_counts": audit.status_counts(),
        "totals": {
            "by_regime": {n: range_json(r) for n, r in audit.totals_by_regime().items()},
            "by_currency": {c: range_json(r) for c, r in audit.totals_by_currency().items()},
            "reporting_currency": range_json(audit.total()),
            "note": "sums over activities: what the register would cost if every activity "
            "were fined on its own; the reporting-currency total adds amounts the engine "
            "converted at the policies' dated rates",
        },
        "ranking": [r.activity.id for r in audit.ranked()],
        "activities": [_activity_json(r) for r in audit.results],
    }


def chart_png(audit: AuditResult) -> bytes:
    """Exposure (max, or its floor) per activity in the reporting currency, stacked by regime,
    highest first. Each regime's part is its converted maximum (Amount.reporting_max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranked = audit.ranked()
    labels = [r.activity.name for r in ranked][::-1]
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(labels) + 1.6), dpi=110)
    left = [0.0] * len(labels)
    colours = ["#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6"]
    for index, name in enumerate(audit.regimes):
        widths = []
        for result in ranked[::-1]:
            regime = result.decision.regimes.get(name) if result.decision is not None else None
            amount = regime.organisation_exposure if regime is not None else None
            value = None
            if amount is not None:
                value = amount.reporting_max or amount.reporting_max_at_least
            # float for the drawing only: the figures in the tables stay exact
            widths.append(float(value.amount) / 1e6 if value is not None else 0.0)
        if any(widths):
            axes.barh(labels, widths, left=left, label=name, color=colours[index % len(colours)])
            left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.set_xlabel(f"maximum exposure, million {audit.currency} (at dated rates)")
    axes.set_title("Exposure per processing activity")
    if any(left):
        axes.legend(loc="lower right", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def fmt_money(value: dict[str, str] | None) -> str:
    if value is None:
        return "unknown"
    amount = value["amount"]
    whole, _, fraction = amount.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    grouped = f"{int(whole):,}" if whole.isdigit() else whole
    return f"{value['currency']} {sign}{grouped}" + (
        f".{fraction}" if fraction and fraction.strip("0") else ""
    )


def fmt_range(value: dict[str, Any]) -> str:
    if value["max"] is None:
        floor = fmt_money(value["max_at_least"]) if value["max_at_least"] else "unknown"
        return f"at least {floor}"
    if value["max"] == value["min"] or value["min"] is None:
        return fmt_money(value["max"])
    return f"{fmt_money(value['min'])} – {fmt_money(value['max'])}"


def report_html(audit: AuditResult, data: dict[str, Any] | None = None) -> str:
    from jinja2 import Environment

    data = data if data is not None else report_json(audit)
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters["money"] = fmt_money
    environment.filters["range"] = fmt_range
    chart = base64.b64encode(chart_png(audit)).decode("ascii")
    activities = {a["id"]: a for a in data["activities"]}
    return environment.from_string(HTML).render(
        data=data, chart=chart, ranked=[activities[i] for i in data["ranking"]]
    )


def write_report(audit: AuditResult, directory: Path) -> dict[str, Path]:
    """audit.json, audit.html and the Art. 30(1) register (register-art30.csv) in `directory`."""
    import json

    from .art30 import write_art30

    directory.mkdir(parents=True, exist_ok=True)
    data = report_json(audit)
    paths = {
        "json": directory / "audit.json",
        "html": directory / "audit.html",
        "art30": directory / "register-art30.csv",
    }
    paths["json"].write_text(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["html"].write_text(report_html(audit, data), encoding="utf-8")
    write_art30(audit, paths["art30"])
    return paths
