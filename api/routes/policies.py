"""`GET /v1/policies` (any key) and `POST /v1/policies:reload` (scope `admin`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends
from lexgate.engine import PolicyError

from ..deps import StateDep, require
from ..errors import ApiError
from ..keys import Scope
from ..schemas import PoliciesResponse, ReloadResponse, error_responses

read_router = APIRouter(
    prefix="/v1",
    tags=["policies"],
    dependencies=[Depends(require(None))],
    responses=error_responses(401),
)
admin_router = APIRouter(
    prefix="/v1",
    tags=["policies"],
    dependencies=[Depends(require(Scope.ADMIN))],
    responses=error_responses(401, 403),
)


@read_router.get("/policies", summary="The bundle being served", response_model=PoliciesResponse)
async def get_policies(state: StateDep) -> dict[str, Any]:
    loaded = state.policies.current
    return {
        **loaded.summary,
        "loaded_at": datetime.fromtimestamp(loaded.loaded_at, UTC).isoformat(),
        "currencies": sorted(loaded.currencies),
    }


@admin_router.post(
    "/policies:reload",
    summary="Reload the policy directory",
    description="Parses and checks the bundle on disk and runs its examples; only if all of "
    "that succeeds is it swapped in (atomically). A broken bundle is answered with 422 and its "
    "diagnostics, and the previous bundle keeps serving.",
    response_model=ReloadResponse,
    responses={422: {"description": "the bundle on disk is broken; nothing changed"}},
)
async def reload_policies(state: StateDep) -> dict[str, Any]:
    try:
        outcome = await state.policies.reload()
    except PolicyError as error:
        state.metrics.reloads.labels("rejected").inc()
        raise ApiError(
            422,
            f"the policies were not reloaded ({len(error.diagnostics)} error(s)); "
            f"still serving {state.policies.current.hash}",
            code="policy_error",
            extra={
                "diagnostics": [d.to_dict() for d in error.diagnostics],
                "serving": state.policies.current.hash,
            },
        ) from None
    state.metrics.reloads.labels("swapped" if outcome.swapped else "unchanged").inc()
    return {
        "swapped": outcome.swapped,
        "previous_hash": outcome.previous_hash,
        "hash": outcome.current.hash,
    }
