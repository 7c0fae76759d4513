"""`GET /v1/decisions` (scope `read_log`): the log, filtered and paginated, for audits.

Filters: a time range (`since` inclusive, `until` exclusive; an empty range lists nothing),
`status` (overall, or of `regime` when both are given), `regime` (decisions it applied to),
`rule` (decisions violating it), `profile`, `bundle` (hash). Newest first; `next_cursor` gives
the next page. Every parameter is bounded and checked; a bad one is a 422 naming it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from lexgate.engine.vocabulary import FieldError
from pydantic import BaseModel, ConfigDict, Field

from ..decision_log.query import (
    CURSOR,
    DEFAULT_PAGE,
    MAX_PAGE,
    LogFilter,
    QueryError,
    decode_cursor,
    encode_cursor,
    log_time,
)
from ..decision_log.terms import summary_of
from ..deps import StateDep
from ..errors import ApiError
from ._body import json_bytes

JSON = "application/json"
PARAMETERS = {"since", "until", "status", "regime", "rule", "profile", "bundle", "cursor", "limit"}
Status = Literal["allowed", "allowed_with_obligations", "denied", "not_applicable", "undetermined"]


class DecisionSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int
    decision_id: str
    time: str
    bundle_hash: str
    status: str | None
    regimes: dict[str, str | None] = Field(description="each regime's status")
    profile: str | None
    violations: list[str] = Field(description="violated rules as REGIME:rule")
    entry_hash: str


class DecisionPage(BaseModel):
    decisions: list[DecisionSummary]
    next_cursor: str | None = Field(description="pass back as `cursor` for the next page")


def _filter(
    since: dt.datetime | None, until: dt.datetime | None, values: dict[str, str | None]
) -> LogFilter:
    try:
        return LogFilter(
            since=log_time(since) if since else None,
            until=log_time(until) if until else None,
            **values,
        )
    except QueryError as error:
        raise ApiError(
            422, "bad filter", fields=[FieldError(error.parameter, error.message)]
        ) from None


async def list_decisions(
    request: Request,
    state: StateDep,
    since: Annotated[dt.datetime | None, Query(description="from this time (ISO 8601)")] = None,
    until: Annotated[dt.datetime | None, Query(description="before this time")] = None,
    status: Annotated[Status | None, Query()] = None,
    regime: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Z][A-Za-z0-9_]*$")] = None,
    rule: Annotated[str | None, Query(max_length=128, pattern=r"^[a-z_][a-z0-9_]*$")] = None,
    profile: Annotated[
        str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    ] = None,
    bundle: Annotated[
        str | None, Query(min_length=64, max_length=64, pattern=r"^[0-9a-f]+$")
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR.pattern, description="`next_cursor` of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> Response:
    unknown = sorted(set(request.query_params) - PARAMETERS)
    if unknown:  # a misspelt filter must not silently list everything
        raise ApiError(
            422,
            "unknown query parameter",
            fields=[FieldError(name, "unknown query parameter") for name in unknown[:10]],
        )
    if state.log is None:
        raise ApiError(404, "the decision log is disabled on this server")
    values = {"status": status, "regime": regime, "rule": rule, "profile": profile}
    where = _filter(since, until, {**values, "bundle_hash": bundle})
    try:
        before = decode_cursor(cursor) if cursor is not None else None
    except QueryError as error:
        raise ApiError(
            422, "bad cursor", fields=[FieldError(error.parameter, error.message)]
        ) from None
    entries, next_seq = await state.log.page_async(where, before, limit)
    body: dict[str, Any] = {
        "decisions": [
            {
                "seq": entry.seq,
                "decision_id": entry.decision_id,
                "time": entry.time,
                "bundle_hash": entry.bundle_hash,
                **summary_of(entry.decision),
                "entry_hash": entry.entry_hash,
            }
            for entry in entries
        ],
        "next_cursor": encode_cursor(next_seq) if next_seq is not None else None,
    }
    return Response(json_bytes(body), media_type=JSON)
