"""`POST /v1/decisions`, `POST /v1/decisions:batch` (scope `decide`) and
`GET /v1/decisions/{id}` (scope `read_log`).

A decision is answered only once its log entry is durable: if the log cannot take it, the
client gets 503 and no decision, so every answered decision can be found by auditors later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from api.decision_log import Canonical, DecisionRecord, LogEntry, canonical_bytes, utc_now
from api.deps import AppState, StateDep, require
from api.errors import ApiError, prefixed
from api.keys import Scope
from api.policies import LoadedBundle
from api.routes._body import json_bytes, parse_json, read_json, validate
from api.schemas import (
    BatchRequest,
    BatchResponse,
    DecisionRequest,
    DecisionResponse,
    LogEntryOut,
    error_responses,
)
from engine import Decision, OperationError
from engine.vocabulary import FieldError

logger = logging.getLogger("lexgate.api")
JSON = "application/json"
MAX_DECISION_ID = 128

decide_router = APIRouter(
    prefix="/v1", tags=["decisions"], dependencies=[Depends(require(Scope.DECIDE))],
    responses=error_responses(401, 403, 413, 422, 503),
)
read_router = APIRouter(
    prefix="/v1", tags=["decisions"], dependencies=[Depends(require(Scope.READ_LOG))],
    responses=error_responses(401, 403, 404),
)


def _body_doc(component: str) -> dict[str, Any]:
    # The body is read by hand (exact decimals); this documents it. The component is added by
    # api.openapi from the loaded bundle's vocabulary.
    ref = {"$ref": f"#/components/schemas/{component}"}
    return {"requestBody": {"required": True, "content": {JSON: {"schema": ref}}}}


def _check_currency(currency: str, loaded: LoadedBundle) -> None:
    if currency not in loaded.currencies:
        known = ", ".join(sorted(loaded.currencies))
        raise ApiError(422, "no exchange rates for this reporting currency", fields=[
            FieldError("currency", f"no exchange rates for `{currency}`; use one of {known}")
        ])


def _whole_numbers_as_int(value: Any) -> Any:
    """`14453.0` is an integer in JSON Schema (and to every JSON library), while the engine's
    counts are strict integers; an integral decimal becomes an int (numerically the same, and
    decimal-typed facts accept ints). The log keeps the operation exactly as it was sent."""
    if isinstance(value, Decimal):
        # Bounded: int() of 1E+999999 would build a million-digit integer.
        whole = value.is_finite() and value.adjusted() < 19 and value == value.to_integral_value()
        return int(value) if whole else value
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    return value


def _decide(
    loaded: LoadedBundle, operation: Mapping[str, Any], currency: str, explain: bool, path: str
) -> Decision:
    try:
        try:
            return loaded.bundle.decide(operation, currency=currency, explain=explain)
        except OperationError as error:
            if not any(e.message == "expected a whole number" for e in error.errors):
                raise
            # Rare, so the walk is paid only by operations that need it.
            return loaded.bundle.decide(
                _whole_numbers_as_int(operation), currency=currency, explain=explain
            )
    except OperationError as error:
        raise ApiError(422, "the operation does not fit the vocabulary",
                       fields=prefixed(error.errors, path)) from None
    except (ArithmeticError, OverflowError) as error:
        # Valid in form, yet out of any sensible range (an amount of 1e999999, say).
        raise ApiError(422, "the operation cannot be decided",
                       fields=[FieldError(path, f"a value is out of range ({error})")]) from None


def _serialise(decision: Decision, explain: bool, path: str) -> Canonical:
    """The decision as canonical JSON, encoded once: the log hashes these bytes and the answer
    embeds them."""
    try:
        return Canonical(canonical_bytes(decision.to_dict(explain), floats=False))
    except ArithmeticError as error:
        # The engine cannot print a value this large exactly (more digits than its decimal
        # precision): the client's input, so a 422 rather than a 500.
        raise ApiError(422, "the operation cannot be decided",
                       fields=[FieldError(path, "a number has more digits than can be "
                                                "computed exactly")]) from error


async def _log(
    state: AppState, loaded: LoadedBundle, operation: Mapping[str, Any], decision: Canonical
) -> tuple[str, str, LogEntry | None]:
    decision_id, time = str(uuid.uuid4()), utc_now()
    if state.log is None:
        return decision_id, time, None
    record = DecisionRecord(
        decision_id=decision_id, bundle_hash=loaded.hash, operation=state.mask(operation),
        decision=decision, time=time,
    )
    try:
        entry = await state.log.append_async(record)
    except Exception as error:
        logger.exception("decision log append failed")
        raise ApiError(503, "the decision log is unavailable; the decision was not recorded",
                       code="log_unavailable") from error
    state.metrics.log_appends.inc()
    return decision_id, time, entry


def _answer(
    decision_id: str, time: str, loaded: LoadedBundle, decision: Canonical,
    entry: LogEntry | None,
) -> bytes:
    """{decision_id, time, bundle_hash, decision, log} with the decision's bytes embedded."""
    log = None if entry is None else {"seq": entry.seq, "entry_hash": entry.entry_hash}
    return b"".join((
        b'{"decision_id":', json_bytes(decision_id), b',"time":', json_bytes(time),
        b',"bundle_hash":', json_bytes(loaded.hash), b',"decision":', decision,
        b',"log":', json_bytes(log), b"}",
    ))


@decide_router.post(
    "/decisions",
    summary="Decide one operation",
    response_class=Response,
    responses={200: {"model": DecisionResponse, "description": "the decision, once logged"}},
    openapi_extra=_body_doc("DecisionRequest"),
)
async def create_decision(request: Request, state: StateDep) -> Response:
    # Normally answered by api.fastpath.DecisionFastPath before routing (the same checks and
    # the same `decide_one`); this route documents it and serves any request that bypasses it.
    return Response(await decide_one(state, await request.body()), media_type=JSON)


async def decide_one(state: AppState, body: bytes) -> bytes:
    """The answer to one decision request's body, once its log entry is durable (or an
    ApiError). The caller has authenticated the request with the `decide` scope."""
    envelope = validate(DecisionRequest, parse_json(body))
    loaded = state.policies.current  # one bundle for the whole request, even during a reload
    _check_currency(envelope.currency, loaded)
    decision = _decide(loaded, envelope.operation, envelope.currency, envelope.explain,
                       "operation")
    data = _serialise(decision, envelope.explain, "operation")
    state.metrics.decisions.labels(decision.status).inc()
    decision_id, time, entry = await _log(state, loaded, envelope.operation, data)
    return _answer(decision_id, time, loaded, data, entry)


@decide_router.post(
    "/decisions:batch",
    summary="Decide many operations in one call",
    description="All operations are validated first: if any does not fit, nothing is decided "
    "and the 422 names each offending path (`operations[3].legal_basis`).",
    response_class=Response,
    responses={200: {"model": BatchResponse, "description": "decisions in request order"}},
    openapi_extra=_body_doc("BatchRequest"),
)
async def create_decisions(request: Request, state: StateDep) -> Response:
    envelope = validate(BatchRequest, await read_json(request))
    limit = state.settings.max_batch
    if len(envelope.operations) > limit:
        raise ApiError(422, "too many operations in one batch", fields=[
            FieldError("operations", f"at most {limit} operations per batch, "
                                     f"got {len(envelope.operations)}")
        ])
    loaded = state.policies.current
    _check_currency(envelope.currency, loaded)
    decisions, errors = [], []
    for index, operation in enumerate(envelope.operations):
        try:
            decisions.append(_decide(loaded, operation, envelope.currency, envelope.explain,
                                     f"operations[{index}]"))
        except ApiError as error:
            errors.extend(error.fields)
    if errors:
        raise ApiError(422, "operations do not fit the vocabulary; nothing was decided",
                       fields=errors)
    data = [
        _serialise(d, envelope.explain, f"operations[{index}]")
        for index, d in enumerate(decisions)
    ]
    for decision in decisions:
        state.metrics.decisions.labels(decision.status).inc()
    # Appended together, so the log's group commit writes the batch in one transaction.
    logged = await asyncio.gather(
        *(_log(state, loaded, op, d) for op, d in zip(envelope.operations, data, strict=True))
    )
    results = [
        _answer(decision_id, time, loaded, d, entry)
        for (decision_id, time, entry), d in zip(logged, data, strict=True)
    ]
    body = b"".join((b'{"bundle_hash":', json_bytes(loaded.hash), b',"results":[',
                     b",".join(results), b"]}"))
    return Response(body, media_type=JSON)


@read_router.get(
    "/decisions/{decision_id}",
    summary="A logged decision, for auditors",
    response_model=LogEntryOut,
)
async def get_decision(decision_id: str, state: StateDep) -> Response:
    if state.log is None:
        raise ApiError(404, "the decision log is disabled on this server")
    entry = None
    if len(decision_id) <= MAX_DECISION_ID and "\x00" not in decision_id:
        entry = await state.log.get_async(decision_id)
    if entry is None:
        raise ApiError(404, f"no decision `{decision_id[:MAX_DECISION_ID]}` in the log")
    return Response(json_bytes(entry.to_dict()), media_type=JSON)
