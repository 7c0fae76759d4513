"""`GET /v1/schema/operation` (any key): the JSON Schema of an operation, generated from the
loaded bundle's vocabulary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ..deps import StateDep, require
from ..schemas import error_responses

router = APIRouter(
    prefix="/v1",
    tags=["schema"],
    dependencies=[Depends(require(None))],
    responses=error_responses(401),
)


@router.get(
    "/schema/operation",
    summary="JSON Schema of an operation",
    responses={
        200: {
            "description": "a JSON Schema (draft 2020-12) document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def operation_schema(state: StateDep) -> dict[str, Any]:
    return state.policies.current.operation_schema
