"""lexgate.client against the real service (in-process), its retry policy against scripted
transports, its models against the service's OpenAPI document, and its import isolation."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from lexgate.client import (
    Decision,
    DecisionPage,
    DecisionResponse,
    DecisionSummary,
    LexgateApiError,
    LexgateClient,
    LexgateUnavailable,
    LogEntry,
    RecordResult,
    RegimeDecision,
    RetentionResult,
    RetryPolicy,
    Violation,
)
from pydantic import BaseModel

DENIED = {
    "legal_basis": "none",
    "controller": {"establishments": ["DE"]},
    "purposes": ["marketing"],
}


def test_decide_then_find_it_in_the_audit_trail(lexgate: LexgateClient) -> None:
    answer = lexgate.decide(DENIED)
    assert answer.status == "denied"
    assert ("GDPR", "lawful_basis") in [(regime, v.rule) for regime, v in answer.violations()]
    entry = lexgate.get_decision(answer.decision_id)
    assert entry.entry_hash == answer.log.entry_hash if answer.log else False
    found = [d.decision_id for d in lexgate.iter_decisions(status="denied", regime="GDPR", limit=1)]
    assert answer.decision_id in found


def test_batch_and_retention(lexgate: LexgateClient) -> None:
    answers = lexgate.decide_batch([DENIED, {**DENIED, "legal_basis": "consent"}])
    assert len(answers) == 2 and answers[0].status == "denied"
    result = lexgate.check_retention(
        [{"id": "r1", "categories": {"contact"}, "purposes": {"marketing"},
          "last_interaction": dt.date(2020, 1, 1), "legal_hold": False}],
        as_of=dt.date(2026, 11, 30),
    )  # fmt: skip
    assert result.results[0].status == "delete"


def test_refusals_carry_the_field_paths(lexgate: LexgateClient) -> None:
    with pytest.raises(LexgateApiError) as raised:
        lexgate.decide({"legal_basis": "maybe"})
    assert raised.value.status == 422
    assert any("legal_basis" in f["path"] for f in raised.value.fields)


def _scripted(replies: list[Any], calls: list[str]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.Client(transport=httpx.MockTransport(handle))


PAGE = {"decisions": [], "next_cursor": None}


def test_get_is_retried_on_503_and_timeouts_then_succeeds() -> None:
    calls: list[str] = []
    waits: list[float] = []
    replies = [
        httpx.Response(503, json={"error": {"code": "unavailable", "message": "busy"}}),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=PAGE),
    ]
    client = LexgateClient(
        "http://x", "k", http=_scripted(replies, calls), sleep=waits.append,
        retry=RetryPolicy(attempts=3, backoff=0.1),
    )  # fmt: skip
    assert client.decisions_page().decisions == []
    assert calls == ["GET"] * 3 and len(waits) == 2 and all(0 < w <= 0.2 for w in waits)


def test_retry_after_is_followed_within_the_cap() -> None:
    waits: list[float] = []
    replies = [httpx.Response(429, headers={"retry-after": "60"}), httpx.Response(200, json=PAGE)]
    client = LexgateClient(
        "http://x",
        http=_scripted(replies, []),
        sleep=waits.append,
        retry=RetryPolicy(max_backoff=2),
    )
    client.decisions_page()
    assert waits == [2]


def test_a_post_whose_answer_timed_out_is_not_repeated() -> None:
    calls: list[str] = []
    client = LexgateClient(
        "http://x", http=_scripted([httpx.ReadTimeout("slow")], calls), sleep=lambda _: None
    )
    with pytest.raises(LexgateUnavailable, match="not repeated"):
        client.decide(DENIED)
    assert calls == ["POST"]


def test_a_post_is_repeated_when_the_service_did_not_act() -> None:
    calls: list[str] = []
    ok = {"decision_id": "d", "time": "t", "bundle_hash": "h", "log": None, "decision": {
        "status": "allowed", "as_of": "2026-11-30", "currency": "EUR", "bundle_hash": "h",
        "exposure": {}, "missing": [], "regimes": {}}}  # fmt: skip
    replies = [httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(200, json=ok)]
    client = LexgateClient("http://x", http=_scripted(replies, calls), sleep=lambda _: None)
    assert client.decide(DENIED).status == "allowed"
    assert calls == ["POST"] * 3


def test_no_answer_after_every_attempt_is_unavailable() -> None:
    replies: list[Any] = [httpx.ConnectError("refused")] * 3
    client = LexgateClient("http://x", http=_scripted(replies, []), sleep=lambda _: None)
    with pytest.raises(LexgateUnavailable, match="after 3 attempts"):
        client.decisions_page()


def test_a_refusal_is_not_retried() -> None:
    calls: list[str] = []
    replies = [httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})]
    client = LexgateClient("http://x", http=_scripted(replies, calls), sleep=lambda _: None)
    with pytest.raises(LexgateApiError) as raised:
        client.get_decision("nope")
    assert raised.value.code == "not_found" and calls == ["GET"]


MODELS: list[tuple[type[BaseModel], str]] = [
    (DecisionResponse, "DecisionResponse"),
    (Decision, "DecisionOut"),
    (RegimeDecision, "RegimeDecisionOut"),
    (Violation, "ViolationOut"),
    (LogEntry, "LogEntryOut"),
    (DecisionPage, "DecisionPage"),
    (DecisionSummary, "DecisionSummary"),
    (RetentionResult, "RetentionResponse"),
    (RecordResult, "RecordResult"),
]


@pytest.mark.parametrize(("model", "component"), MODELS, ids=[m[1] for m in MODELS])
def test_models_match_the_service_schema(
    service: tuple[TestClient, str], model: type[BaseModel], component: str
) -> None:
    """Every field the client declares is one the service documents, and a field the client
    requires the service always sends."""
    http, _ = service
    schema = http.get("/openapi.json").json()["components"]["schemas"][component]
    properties, required = schema["properties"], set(schema.get("required", []))
    for name, info in model.model_fields.items():
        assert name in properties, f"{component} has no `{name}`"
        if info.is_required():
            assert name in required, f"{component} does not always send `{name}`"


def test_the_client_imports_neither_engine_nor_service() -> None:
    code = (
        "import sys, lexgate.client; "
        "bad = [m for m in sys.modules if m.startswith(('lexgate.engine', 'lexgate.api', "
        "'fastapi', 'numpy', 'lark'))]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_async_client_follows_the_same_policy(service: tuple[TestClient, str]) -> None:
    import asyncio

    from lexgate.client import AsyncLexgateClient

    http, key = service
    calls: list[str] = []
    waits: list[float] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        # the rest go to the real service (in-process), answered as a server would
        forwarded = http.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.content
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content,
                              headers=forwarded.headers)  # fmt: skip

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def scenario() -> tuple[str, list[str], str]:
        async with AsyncLexgateClient(
            "http://testserver", key, http=httpx.AsyncClient(transport=httpx.MockTransport(handle)),
            sleep=sleep,
        ) as client:  # fmt: skip
            answer = await client.decide(DENIED)
            found = [d.decision_id async for d in client.iter_decisions(status="denied", limit=2)]
            with pytest.raises(LexgateApiError):
                await client.get_decision("no-such-decision")
            return answer.decision_id, found, answer.status

    decision_id, found, status = asyncio.run(scenario())
    assert status == "denied" and decision_id in found
    assert calls[:2] == ["POST", "POST"] and len(waits) == 1  # refused once, then answered
