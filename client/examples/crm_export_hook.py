"""A worked integration: a CRM export hook that asks lexgate before an export runs.

The CRM (any system that runs data exports as jobs) calls `ExportGate.before_export(job)`
before starting a job. The hook describes the export as an operation, asks for a decision,
and stores the decision id with the job, so an auditor can go from any export to the logged
decision that allowed it (`GET /v1/decisions/{id}`) and back (`GET /v1/decisions?profile=…`).

- `denied`: the job is blocked; the violations (rule, citation) are stored as the reason.
- `undetermined`: the job is held; the facts lexgate is missing are stored as questions for
  whoever configured the export.
- `allowed_with_obligations`: the job runs; the obligations are stored as its to-do list.
- lexgate unreachable: the job is held, never run unchecked (fail closed).

Run it against a server: `python client/examples/crm_export_hook.py URL API_KEY`.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass, field
from typing import Any

from lexgate.client import LexgateClient, LexgateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS export_jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,          -- approved | blocked | held
    decision_id TEXT,             -- the logged decision (NULL only if lexgate was unreachable)
    decision_status TEXT,
    notes TEXT NOT NULL           -- JSON: violations, questions or obligations
)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportJob:
    """What the CRM knows of an export before it runs it."""

    id: str
    records: int
    destination: str  # ISO country of the receiving system
    mechanism: str | None  # the transfer mechanism relied on, if the data leaves the EEA
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    legal_basis: str
    subject_countries: tuple[str, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def operation(self) -> dict[str, Any]:
        transfer: dict[str, Any] = {"destination": self.destination, "subjects": self.records}
        if self.mechanism is not None:
            transfer["mechanism"] = self.mechanism
        return {
            "subjects": {"count": self.records, "locations": list(self.subject_countries)},
            "data_categories": list(self.categories),
            "purposes": list(self.purposes),
            "legal_basis": self.legal_basis,
            "transfers": [transfer],
            **self.extra,
        }


class ExportGate:
    def __init__(self, lexgate: LexgateClient, jobs: sqlite3.Connection, profile: str | None):
        self.lexgate = lexgate
        self.jobs = jobs
        self.profile = profile
        jobs.execute(SCHEMA)

    def before_export(self, job: ExportJob) -> bool:
        """True if the export may run now; the job's row says why either way."""
        try:
            answer = self.lexgate.decide(job.operation(), profile=self.profile)
        except LexgateError as error:
            self._store(job, "held", None, None, {"error": str(error)})
            return False
        status = answer.status
        if status == "denied":
            notes: dict[str, Any] = {
                "violations": [
                    {"regime": regime, "rule": v.rule, "cite": v.cite, "title": v.title}
                    for regime, v in answer.violations()
                ]
            }
            state = "blocked"
        elif status == "undetermined":
            notes = {"questions": answer.decision.missing}
            state = "held"
        else:
            notes = {"obligations": [o.text for _, o in answer.obligations()]}
            state = "approved"
        self._store(job, state, answer.decision_id, status, notes)
        return state == "approved"

    def _store(
        self, job: ExportJob, state: str, decision_id: str | None, status: str | None, notes: Any
    ) -> None:
        with self.jobs:
            self.jobs.execute(
                "INSERT INTO export_jobs VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "state = excluded.state, decision_id = excluded.decision_id, "
                "decision_status = excluded.decision_status, notes = excluded.notes",
                (job.id, state, decision_id, status, json.dumps(notes)),
            )


def main() -> None:  # pragma: no cover - a demonstration against a running server
    url, key = sys.argv[1], sys.argv[2]
    jobs = sqlite3.connect(":memory:")
    with LexgateClient(url, key) as lexgate:
        gate = ExportGate(lexgate, jobs, profile=None)
        job = ExportJob(
            id="export-2026-11-30-newsletter",
            records=12_000,
            destination="US",
            mechanism=None,
            categories=("contact",),
            purposes=("marketing",),
            legal_basis="consent",
            subject_countries=("DE", "FR"),
            extra={"controller": {"establishments": ["DE"]}},
        )
        print("run" if gate.before_export(job) else "do not run")
        print(jobs.execute("SELECT * FROM export_jobs").fetchall())


if __name__ == "__main__":
    main()
