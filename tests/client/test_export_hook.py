"""The worked example (client/examples/crm_export_hook.py) against the real service: the
decision id stored with each export job is the logged decision that allowed or stopped it."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import httpx
from lexgate.client import LexgateClient

EXAMPLE = Path(__file__).resolve().parents[2] / "client" / "examples" / "crm_export_hook.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crm_export_hook", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


hook = _example()


def _job(**changes: object) -> object:
    base = {
        "id": "export-1",
        "records": 12_000,
        "destination": "US",
        "mechanism": "none",
        "categories": ("contact",),
        "purposes": ("marketing",),
        "legal_basis": "none",
        "subject_countries": ("DE",),
        "extra": {"controller": {"establishments": ["DE"]}},
    }
    return hook.ExportJob(**{**base, **changes})


def _row(jobs: sqlite3.Connection, job_id: str) -> tuple[str, str | None, str | None, dict]:
    state, decision_id, status, notes = jobs.execute(
        "SELECT state, decision_id, decision_status, notes FROM export_jobs WHERE id = ?",
        (job_id,),
    ).fetchone()
    return state, decision_id, status, json.loads(notes)


def test_a_denied_export_is_blocked_with_its_reasons_and_decision(lexgate: LexgateClient) -> None:
    jobs = sqlite3.connect(":memory:")
    gate = hook.ExportGate(lexgate, jobs, profile=None)
    assert gate.before_export(_job()) is False
    state, decision_id, status, notes = _row(jobs, "export-1")
    assert (state, status) == ("blocked", "denied")
    rules = {(v["regime"], v["rule"]) for v in notes["violations"]}
    assert ("GDPR", "lawful_basis") in rules
    logged = lexgate.get_decision(decision_id)  # the auditor's way back from the job
    assert logged.decision["status"] == "denied"
    assert logged.operation["subjects"]["count"] == 12_000


def test_a_job_is_decided_again_when_it_changes(lexgate: LexgateClient) -> None:
    jobs = sqlite3.connect(":memory:")
    gate = hook.ExportGate(lexgate, jobs, profile=None)
    gate.before_export(_job())
    first = _row(jobs, "export-1")[1]
    gate.before_export(_job(legal_basis="consent", mechanism="scc"))
    state, second, status, notes = _row(jobs, "export-1")
    assert (second != first and status != "denied") or notes.get("violations")
    assert state in ("approved", "held", "blocked")
    assert state == {"denied": "blocked", "undetermined": "held"}.get(status, "approved")


def test_unreachable_lexgate_holds_the_export() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = LexgateClient(
        "http://lexgate", "k", http=httpx.Client(transport=httpx.MockTransport(refuse)),
        sleep=lambda _: None,
    )  # fmt: skip
    jobs = sqlite3.connect(":memory:")
    assert hook.ExportGate(client, jobs, profile=None).before_export(_job()) is False
    state, decision_id, _, notes = _row(jobs, "export-1")
    assert state == "held" and decision_id is None and "refused" in notes["error"]
