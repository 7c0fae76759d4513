"""The register exported in the columns GDPR Art. 30(1) lists, one row per activity.

(a) the controller's name and contact details (and joint controller, representative, DPO);
(b) the purposes; (c) the categories of data subjects and of personal data; (d) the categories
of recipients; (e) transfers to third countries and their safeguards; (f) the time limits for
erasure; (g) the technical and organisational security measures. Each column is filled from the
register's words and from the operation's facts (the profile's included, as the audit merged
them): a fact the register does not state is left blank, never guessed.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..decision import to_json_value
from .run import AuditResult

COLUMNS = (
    "activity_id",
    "activity",
    "owner",
    "systems",
    "controller (Art. 30(1)(a))",
    "dpo (Art. 30(1)(a))",
    "representative (Art. 30(1)(a))",
    "purposes (Art. 30(1)(b))",
    "data subjects (Art. 30(1)(c))",
    "personal data (Art. 30(1)(c))",
    "recipients (Art. 30(1)(d))",
    "transfers and safeguards (Art. 30(1)(e))",
    "erasure time limits (Art. 30(1)(f))",
    "security measures (Art. 30(1)(g))",
)


def _facts(operation: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in operation.items():
        if isinstance(value, Mapping):
            flat.update(_facts(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def _words(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(str(to_json_value(v)) for v in sorted(value, key=str))
    return str(to_json_value(value))


def rows(audit: AuditResult) -> list[dict[str, str]]:
    organisation = audit.register.organisation
    controller = "; ".join(x for x in (organisation.get("name"), organisation.get("contact")) if x)
    out = []
    for result in audit.results:
        activity = result.activity
        facts = _facts(activity.operation)
        # standing measures come from the organisation's profile, the operation's own win
        security = [
            path.removeprefix("security.").replace("_", " ")
            for path, value in sorted({**audit.profile_facts, **facts}.items())
            if path.startswith("security.") and value is True
        ]
        recipients = list(activity.recipients) or sorted(
            {
                str(d.get("recipient_kind"))
                for d in facts.get("disclosures", []) or []
                if isinstance(d, Mapping) and d.get("recipient_kind")
            }
        )
        transfers = [
            f"{t.get('destination', '?')} ({t.get('mechanism', 'mechanism not stated')})"
            for t in facts.get("transfers", []) or []
            if isinstance(t, Mapping)
        ]
        retention = activity.retention
        if not retention and facts.get("retention.days") is not None:
            retention = f"{facts['retention.days']} days"
        out.append(
            {
                "activity_id": activity.id,
                "activity": activity.name,
                "owner": activity.owner,
                "systems": "; ".join(activity.systems),
                "controller (Art. 30(1)(a))": controller,
                "dpo (Art. 30(1)(a))": organisation.get("dpo", ""),
                "representative (Art. 30(1)(a))": organisation.get("representative", ""),
                "purposes (Art. 30(1)(b))": _words(facts.get("purposes")),
                "data subjects (Art. 30(1)(c))": "; ".join(activity.data_subjects),
                "personal data (Art. 30(1)(c))": _words(facts.get("data_categories")),
                "recipients (Art. 30(1)(d))": "; ".join(recipients),
                "transfers and safeguards (Art. 30(1)(e))": "; ".join(transfers),
                "erasure time limits (Art. 30(1)(f))": retention,
                "security measures (Art. 30(1)(g))": activity.security_measures
                or "; ".join(security),
            }
        )
    return out


def write_art30(audit: AuditResult, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows(audit))
