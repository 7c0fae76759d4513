"""The HTML of `lexgate log report`: one self-contained page (no script, no external asset)
with decisions per day and status as stacked bars (SVG), per regime and status, the most
violated rules, and the verification of the chain segment the report covers."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from typing import Any

STATUS_COLOURS = {
    "denied": "#c0392b",
    "undetermined": "#e1a100",
    "allowed_with_obligations": "#2980b9",
    "allowed": "#27ae60",
    "not_applicable": "#95a5a6",
}
ORDER = list(STATUS_COLOURS)
BAR = 18
WIDTH = 640


def _rank(status: str) -> int:
    return ORDER.index(status) if status in ORDER else len(ORDER)


def bucketed(per_day: Counter[tuple[str, str]]) -> tuple[str, Counter[tuple[str, str]]]:
    """Days up to two months, ISO weeks up to 62 weeks, then months: at most 62 bars for
    ranges of up to five years."""
    days = sorted({day for day, _ in per_day})
    if not days or (dt.date.fromisoformat(days[-1]) - dt.date.fromisoformat(days[0])).days <= 62:
        return "day", per_day
    weekly = (dt.date.fromisoformat(days[-1]) - dt.date.fromisoformat(days[0])).days <= 62 * 7

    def bucket(day: str) -> str:
        if not weekly:
            return day[:7]
        year, week, _ = dt.date.fromisoformat(day).isocalendar()
        return f"{year}-W{week:02d}"

    grouped: Counter[tuple[str, str]] = Counter()
    for (day, status), count in per_day.items():
        grouped[(bucket(day), status)] += count
    return ("week" if weekly else "month"), grouped


def _bars(per_day: Counter[tuple[str, str]]) -> str:
    days = sorted({day for day, _ in per_day})
    if not days:
        return "<p>No decisions in this range.</p>"
    most = max(sum(per_day[(day, s)] for s in ORDER) or 1 for day in days)
    rows = []
    for index, day in enumerate(days):
        y, x = index * (BAR + 4), 90.0
        rows.append(f'<text x="0" y="{y + BAR - 5}" font-size="12">{html.escape(day)}</text>')
        for status in sorted({s for d, s in per_day if d == day}, key=_rank):
            count = per_day[(day, status)]
            width = (WIDTH - 140) * count / most
            colour = STATUS_COLOURS.get(status, "#7f8c8d")
            rows.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{colour}">'
                f"<title>{html.escape(day)} {html.escape(status)}: {count}</title></rect>"
            )
            x += width
        total = sum(per_day[(day, s)] for d, s in per_day if d == day)
        rows.append(f'<text x="{x + 4:.1f}" y="{y + BAR - 5}" font-size="12">{total}</text>')
    height = len(days) * (BAR + 4)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="decisions per day and status">{"".join(rows)}</svg>'
    )


def _table(title: str, counts: Counter[tuple[str, str]]) -> str:
    names = sorted({name for name, _ in counts})
    statuses = sorted({status for _, status in counts}, key=_rank)
    head = "".join(f"<th>{html.escape(s)}</th>" for s in statuses)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{counts[(name, s)]}</td>" for s in statuses)
        + "</tr>"
        for name in names
    )
    return f"<h2>{html.escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"


def _verification(header: dict[str, Any]) -> str:
    intact = header["chain_intact_through_last"]
    signed = header["signed_checkpoint_covers_last"]
    log = header["log"]
    verdict = "intact" if intact else f"NOT intact: {log['reason']}"
    return (
        f'<p class="{"ok" if intact else "bad"}">Hash chain from entry 1 through entry '
        f"{header['last_seq']} (the last one reported): <strong>{html.escape(verdict)}</strong>. "
        f"A signed checkpoint {'covers' if signed else 'does not yet cover'} it"
        f"{' (key trusted)' if header['checkpoint_key_trusted'] else ''}.</p>"
    )


def render_report(
    header: dict[str, Any],
    per_day: Counter[tuple[str, str]],
    per_regime: Counter[tuple[str, str]],
    rules: Counter[str],
) -> str:
    legend = " ".join(
        f'<span style="color:{colour}">&#9632;</span> {html.escape(status)}'
        for status, colour in STATUS_COLOURS.items()
    )
    unit, per_bucket = bucketed(per_day)
    overall: Counter[tuple[str, str]] = Counter()
    for (_, status), count in per_day.items():
        overall[("all decisions", status)] += count
    top = "".join(
        f"<tr><td>{html.escape(rule)}</td><td>{count}</td></tr>"
        for rule, count in rules.most_common(20)
    )
    filters = ", ".join(f"{k} = {v}" for k, v in header["filters"].items()) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lexgate decision log report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5rem; }}
th, td {{ border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }}
th:first-child {{ text-align: left; }}
.ok {{ color: #1e7e34; }} .bad {{ color: #b00020; }}
</style></head><body>
<h1>Decision log report</h1>
<p>{header["entries"]} decisions (entries {header["first_seq"]} to {header["last_seq"]});
filters: {html.escape(filters)}.</p>
{_verification(header)}
<h2>Decisions per {unit} and status</h2>
<p>{legend}</p>
{_bars(per_bucket)}
{_table("Overall status", overall)}
{_table("Per regime", per_regime)}
<h2>Most violated rules</h2>
<table><tr><th>regime:rule</th><th>decisions</th></tr>{top}</table>
</body></html>
"""
