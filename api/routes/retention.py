"""`POST /v1/retention:check` (scope `decide`): which of a batch of customer records must be
deleted or anonymised on a date, and why: the bundle's `retention` limits, evaluated as
`lexgate retention` does (engine/retention/). At most `MAX_RECORDS` records a request."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from lexgate.engine.retention import RecordTableError, encode_records, evaluate_table
from lexgate.engine.retention.table import record_fields, records_from_rows
from lexgate.engine.types import SetType
from lexgate.engine.vocabulary import DateValue, FieldError
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from ..deps import StateDep, require
from ..errors import ApiError
from ..keys import Scope
from ..schemas import error_responses
from ._body import json_bytes, parse_json, read_body, require_json, validate

JSON = "application/json"
MAX_RECORDS = 5000  # a record is ~250 bytes of JSON: 5,000 fit the default 1 MiB body
Member = Annotated[str, StringConstraints(min_length=1, max_length=64)]

router = APIRouter(
    prefix="/v1",
    tags=["retention"],
    dependencies=[Depends(require(Scope.DECIDE))],
    responses=error_responses(401, 403, 413, 415, 422),
)


class CustomerRecord(BaseModel):
    """One record's metadata: the fields of `customer_record` (policies/retention/). A field
    left out is unknown, never "no"."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    categories: list[Member] | None = Field(None, max_length=64)
    purposes: list[Member] | None = Field(None, max_length=64)
    # ISO dates and JSON booleans only, as in an operation: pydantic's lax mode would take a
    # number as a Unix time and 1 or "yes" as true, a silently wrong answer
    collected: DateValue | None = None
    last_interaction: DateValue | None = None
    contract_ended: StrictBool | None = None
    contract_end: DateValue | None = None
    consent_withdrawn: StrictBool | None = None
    consent_withdrawn_on: DateValue | None = None
    legal_hold: StrictBool | None = None


class RetentionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: DateValue | None = Field(None, description="the date to judge on (default: today)")
    records: list[CustomerRecord] = Field(min_length=1, max_length=MAX_RECORDS)


class RecordResult(BaseModel):
    id: str
    status: str = Field(description="delete | anonymise | held | undetermined | keep")
    action: str | None
    limit: str | None
    title: str | None
    cite: str | None
    due: str | None
    missing: list[str]


class RetentionLimitOut(BaseModel):
    name: str
    title: str | None
    action: str
    keep: str
    after: str
    cite: str | None


class RetentionResponse(BaseModel):
    as_of: str
    bundle_hash: str
    results: list[RecordResult]
    counts: dict[str, int]
    limits: list[RetentionLimitOut]


def _check(bundle: Any, envelope: RetentionRequest) -> dict[str, Any]:
    checked = bundle.checked
    fields = record_fields(checked.vocabulary)
    rows = [record.model_dump(exclude_none=True) for record in envelope.records]
    extra = sorted({key for row in rows for key in row} - set(fields) - {"id"})
    if extra:  # the service's record model is older than the bundle's record type
        raise ApiError(422, "fields the bundle's customer_record lacks", fields=[
            FieldError(f"records[].{name}", "not a field of customer_record") for name in extra
        ])  # fmt: skip
    as_of = envelope.as_of or dt.date.today()
    try:
        table = evaluate_table(
            checked.retention,
            encode_records(records_from_rows(rows, fields), checked.vocabulary),
            as_of,
        )
    except RecordTableError as error:
        path = (
            f"records[{error.row - 1}].{error.column}" if error.row and error.column else "records"
        )
        raise ApiError(
            422, "a record does not fit", fields=[FieldError(path, str(error))]
        ) from None
    results = []
    for row in table.to_pylist():
        row["due"] = row["due"].isoformat() if row["due"] else None
        row["missing"] = row["missing"].split(";") if row["missing"] else []
        results.append(row)
    counts: dict[str, int] = {}
    for row in results:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {
        "as_of": as_of.isoformat(),
        "bundle_hash": checked.hash,
        "results": results,
        "counts": counts,
        "limits": [
            {
                "name": limit.name,
                "title": limit.title,
                "action": limit.action,
                "keep": f"{limit.keep_amount // 24} days"
                if limit.keep_dimension == "hours"
                else f"{limit.keep_amount} months",
                "after": limit.anchor,
                "cite": limit.cite,
            }
            for limit in checked.retention
        ],
    }


def install_schema(app: FastAPI, current: Callable[[], Any]) -> None:
    """Name the loaded bundle's enum members in the documented record: a set field of
    `customer_record` lists its members, so a client (and schemathesis) sends valid ones."""
    previous = app.openapi

    def openapi() -> dict[str, Any]:
        schema = previous()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        request = RetentionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(request.pop("$defs", {}))
        components["RetentionRequest"] = request
        loaded = current()
        record = components["CustomerRecord"]
        if loaded is None:
            return schema
        for name, ftype in record_fields(loaded.bundle.checked.vocabulary).items():
            spot = record["properties"].get(name)
            if spot is not None and isinstance(ftype, SetType):
                items = {"type": "string", "enum": list(ftype.element.members)}
                spot["anyOf"] = [
                    {"type": "array", "items": items, "maxItems": 64},
                    {"type": "null"},
                ]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


@router.post(
    "/retention:check",
    summary="Which customer records must be deleted or anonymised, and why",
    response_model=RetentionResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {JSON: {"schema": {"$ref": "#/components/schemas/RetentionRequest"}}},
        }
    },
)
async def check_retention(request: Request, state: StateDep) -> Response:
    # read by hand, as every body of the service: a malformed one is a 422 naming the problem
    require_json(request.headers.get("content-type", ""))
    envelope = validate(RetentionRequest, parse_json(await read_body(request.receive)))
    loaded = state.policies.current
    if not loaded.bundle.checked.retention:
        raise ApiError(422, "the loaded bundle declares no retention limits")
    answer = await asyncio.to_thread(_check, loaded.bundle, envelope)
    return Response(json_bytes(answer), media_type=JSON)


__all__ = ["MAX_RECORDS", "install_schema", "router"]
