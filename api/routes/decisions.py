"""`POST /v1/decisions`, `POST /v1/decisions:batch` (scope `decide`) and
`GET /v1/decisions/{id}` (scope `read_log`).

A decision is answered only once its log entry is durable: if the log cannot take it, the
client gets 503 and no decision, so every answered decision can be found by auditors later.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from lexgate.engine import Decision, OperationError
from lexgate.engine.error_codes import FieldCode
from lexgate.engine.vocabulary import FieldError
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..decision_log import Canonical, DecisionRecord, LogEntry, canonical_bytes, utc_now
from ..deps import AppState, StateDep, authorize, require
from ..errors import ApiError, error_response, prefixed
from ..keys import Scope as KeyScope
from ..policies import LoadedBundle
from ..schemas import (
    BatchRequest,
    BatchResponse,
    DecisionRequest,
    DecisionResponse,
    LogEntryOut,
    error_responses,
)
from ._body import json_bytes, parse_json, read_body, require_json, validate
from .decision_query import DecisionPage, list_decisions

logger = logging.getLogger("lexgate.api")
JSON = "application/json"
MAX_DECISION_ID = 128
# Bodies up to this size are decided on the event loop: the vocabulary's list limits bound
# their work to well under a millisecond, and a thread hop would cost every request ~50 µs.
INLINE_BODY_BYTES = 16_384
MAX_BATCH_RECORDS = 1024
_JSON_HEADERS = [(b"content-type", b"application/json")]
T = TypeVar("T")

decide_router = APIRouter(
    prefix="/v1",
    tags=["decisions"],
    dependencies=[Depends(require(KeyScope.DECIDE))],
    responses=error_responses(401, 403, 408, 413, 415, 422, 503),
)
read_router = APIRouter(
    prefix="/v1",
    tags=["decisions"],
    dependencies=[Depends(require(KeyScope.READ_LOG))],
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
        raise ApiError(
            422,
            "no exchange rates for this reporting currency",
            fields=[
                FieldError("currency", f"no exchange rates for `{currency}`; use one of {known}")
            ],
        )


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
    loaded: LoadedBundle,
    operation: Mapping[str, Any],
    currency: str,
    explain: bool,
    path: str,
    **asked: Any,
) -> Decision:
    """`asked`: a `profile`, `questions`, `remediate` for Bundle.decide."""
    try:
        try:
            return loaded.bundle.decide(operation, currency=currency, explain=explain, **asked)
        except OperationError as error:
            if not any(e.code == FieldCode.WHOLE_NUMBER for e in error.errors):
                raise
            # Rare, so the walk is paid only by operations that need it.
            return loaded.bundle.decide(
                _whole_numbers_as_int(operation), currency=currency, explain=explain, **asked
            )
    except OperationError as error:
        raise ApiError(
            422, "the operation does not fit the vocabulary", fields=prefixed(error.errors, path)
        ) from None
    except (ArithmeticError, OverflowError) as error:
        # Valid in form, yet out of any sensible range (an amount of 1e999999, say).
        raise ApiError(
            422,
            "the operation cannot be decided",
            fields=[FieldError(path, f"a value is out of range ({error})")],
        ) from None


def _serialise(decision: Decision, explain: bool, path: str) -> Canonical:
    """The decision as canonical JSON, encoded once: the log hashes these bytes and the answer
    embeds them."""
    try:
        return Canonical(canonical_bytes(decision.to_dict(explain), floats=False))
    except ArithmeticError as error:
        # The engine cannot print a value this large exactly (more digits than its decimal
        # precision): the client's input, so a 422 rather than a 500.
        raise ApiError(
            422,
            "the operation cannot be decided",
            fields=[FieldError(path, "a number has more digits than can be computed exactly")],
        ) from error


async def _log(
    state: AppState, loaded: LoadedBundle, operation: Mapping[str, Any], decision: Canonical
) -> tuple[str, str, LogEntry | None]:
    decision_id, time = str(uuid.uuid4()), utc_now()
    if state.log is None:
        return decision_id, time, None
    record = DecisionRecord(
        decision_id=decision_id,
        bundle_hash=loaded.hash,
        operation=state.mask(operation),
        decision=decision,
        time=time,
    )
    try:
        entry = await state.log.append_async(record)
    except Exception as error:
        logger.exception("decision log append failed")
        raise ApiError(
            503,
            "the decision log is unavailable; the decision was not recorded",
            code="log_unavailable",
        ) from error
    state.metrics.log_appends.inc()
    return decision_id, time, entry


def _answer(
    decision_id: str,
    time: str,
    loaded: LoadedBundle,
    decision: Canonical,
    entry: LogEntry | None,
) -> bytes:
    """{decision_id, time, bundle_hash, decision, log} with the decision's bytes embedded."""
    log = None if entry is None else {"seq": entry.seq, "entry_hash": entry.entry_hash}
    return b"".join(
        (
            b'{"decision_id":',
            json_bytes(decision_id),
            b',"time":',
            json_bytes(time),
            b',"bundle_hash":',
            json_bytes(loaded.hash),
            b',"decision":',
            decision,
            b',"log":',
            json_bytes(log),
            b"}",
        )
    )


# Documentation only: the OpenAPI document describes POST /v1/decisions from this declaration
# (api.openapi adds it); the route itself is `decision_route()`, one handler and no other.
documentation_router = APIRouter(
    prefix="/v1",
    tags=["decisions"],
    responses=error_responses(401, 403, 408, 413, 415, 422, 503),
)


@documentation_router.post(
    "/decisions",
    summary="Decide one operation",
    response_class=Response,
    responses={200: {"model": DecisionResponse, "description": "the decision, once logged"}},
    openapi_extra=_body_doc("DecisionRequest"),
)
async def _documented_create_decision() -> Response:  # pragma: no cover - never mounted
    raise NotImplementedError


class DecisionEndpoint:
    """`POST /v1/decisions` as a plain ASGI endpoint of a Starlette `Route`: FastAPI's
    per-request dependency solving and request objects cost about a third of a decision's
    CPU, and this route needs none of it. It makes the same checks as every other route
    (`api.deps.authorize`), reads the body under the same limits, and answers through
    `decide_one`; errors are the app's `{"error": …}` answers."""

    route: Route | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # as FastAPI's routes do: metrics label by its template
        try:
            state = scope["app"].state.lexgate
            authorization, content_type = "", ""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                elif name == b"content-type":
                    content_type = value.decode("latin-1")
            await authorize(state, authorization, KeyScope.DECIDE)
            require_json(content_type)
            body = await read_body(receive)
            answer = await decide_one(state, body)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        except ClientDisconnect:
            return  # no one to answer
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode("ascii")), *_JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": answer})


def decision_route() -> Route:
    endpoint = DecisionEndpoint()
    route = Route(
        "/v1/decisions", endpoint, methods=["POST"], name="create_decision", include_in_schema=False
    )
    endpoint.route = route
    return route


def _profile(state: AppState, loaded: LoadedBundle, envelope: DecisionRequest) -> Any:
    """The profile a request names, validated against the bundle serving it; 404 if unknown."""
    if envelope.profile is None:
        return None
    from .profiles import store

    stored = store(state).get(envelope.profile, envelope.profile_version)
    if stored is None:
        which = f" version {envelope.profile_version}" if envelope.profile_version else ""
        raise ApiError(404, f"no profile `{envelope.profile}`{which}", code="not_found")
    try:
        return loaded.bundle.load_profile(stored.facts, stored.id, stored.version)
    except OperationError as error:  # stored under an earlier vocabulary
        raise ApiError(
            422,
            f"profile `{stored.id}` version {stored.version} no longer fits the vocabulary",
            fields=prefixed(error.errors, "profile"),
        ) from None


def _decide_body(
    loaded: LoadedBundle, body: bytes, state: AppState | None = None
) -> tuple[DecisionRequest, Decision, Canonical]:
    envelope = validate(DecisionRequest, parse_json(body))
    _check_currency(envelope.currency, loaded)
    asked: dict[str, Any] = {}
    if envelope.profile is not None and state is not None:
        asked["profile"] = _profile(state, loaded, envelope)
    if envelope.questions:
        asked["questions"] = True
    if envelope.remediate:
        asked["remediate"] = True
    decision = _decide(
        loaded, envelope.operation, envelope.currency, envelope.explain, "operation", **asked
    )
    return envelope, decision, _serialise(decision, envelope.explain, "operation")


async def run_budgeted(state: AppState, work: Callable[[], T], size: int) -> T:
    """`work()` inline when the request is small (bounded by the vocabulary's limits: well
    under a millisecond), else in a thread with the decision time budget, so that a large
    request never holds the event loop (and /healthz, and every other client) while it is
    decided. A thread cannot be stopped: past the budget the client gets 503 at once and the
    thread finishes in the background."""
    if size <= INLINE_BODY_BYTES:
        return work()
    budget = state.settings.decision_timeout_s
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), timeout=budget)
    except TimeoutError:
        raise ApiError(
            503,
            f"the decision took longer than its time budget of {budget:g} s; "
            "send fewer items, or split the request",
            code="decision_timeout",
            headers={"Retry-After": "1"},
        ) from None


def _check_entry_size(state: AppState, body: bytes, data: bytes, path: str) -> None:
    if state.log is None:
        return
    limit = state.settings.max_log_entry_bytes
    if len(body) + len(data) > limit:
        raise ApiError(
            422,
            "the decision is too large to record",
            fields=[
                FieldError(
                    path,
                    f"operation and decision together take {len(body) + len(data)} bytes; a log "
                    f"entry holds at most {limit} (ask without `explain`, or send fewer items)",
                )
            ],
        )


async def decide_one(state: AppState, body: bytes) -> bytes:
    """The answer to one decision request's body, once its log entry is durable (or an
    ApiError). The caller has authorized the request with the `decide` scope."""
    loaded = state.policies.current  # one bundle for the whole request, even during a reload
    envelope, decision, data = await run_budgeted(
        state, lambda: _decide_body(loaded, body, state), len(body)
    )
    _check_entry_size(state, body, data, "operation")
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
    require_json(request.headers.get("content-type", ""))
    body = await request.body()
    loaded = state.policies.current
    envelope, decisions, data = await run_budgeted(
        state, lambda: _decide_batch(state, loaded, body), len(body)
    )
    _check_entry_size(state, body, b"".join(data), "operations")
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
    answer = b"".join(
        (b'{"bundle_hash":', json_bytes(loaded.hash), b',"results":[', b",".join(results), b"]}")
    )
    return Response(answer, media_type=JSON)


def _decide_batch(
    state: AppState, loaded: LoadedBundle, body: bytes
) -> tuple[BatchRequest, list[Decision], list[Canonical]]:
    envelope = validate(BatchRequest, parse_json(body))
    records = sum(
        len(value)
        for operation in envelope.operations
        if isinstance(operation, dict)
        for value in operation.values()
        if isinstance(value, list) and value and isinstance(value[0], dict)
    )
    if records > MAX_BATCH_RECORDS:
        # Each operation may carry 256 transfers; a thousand such operations in one request
        # would hold a worker for many seconds.
        raise ApiError(
            422,
            "too many records in one batch",
            fields=[
                FieldError(
                    "operations",
                    f"at most {MAX_BATCH_RECORDS} records (transfers, "
                    f"disclosures, …) in all operations of a batch, got {records}; split it",
                )
            ],
        )
    limit = state.settings.max_batch
    if len(envelope.operations) > limit:
        raise ApiError(
            422,
            "too many operations in one batch",
            fields=[
                FieldError(
                    "operations",
                    f"at most {limit} operations per batch, got {len(envelope.operations)}",
                )
            ],
        )
    _check_currency(envelope.currency, loaded)
    decisions: list[Decision] = []
    errors: list[FieldError] = []
    for index, operation in enumerate(envelope.operations):
        try:
            decisions.append(
                _decide(
                    loaded, operation, envelope.currency, envelope.explain, f"operations[{index}]"
                )
            )
        except ApiError as error:
            errors.extend(error.fields)
    if errors:
        raise ApiError(
            422, "operations do not fit the vocabulary; nothing was decided", fields=errors
        )
    data = [
        _serialise(d, envelope.explain, f"operations[{index}]") for index, d in enumerate(decisions)
    ]
    return envelope, decisions, data


read_router.get(
    "/decisions",
    summary="Logged decisions, filtered and paginated, for audits",
    response_model=DecisionPage,
    responses=error_responses(422),
)(list_decisions)


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
