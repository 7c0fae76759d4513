"""Probes and metrics; no key needed (they reveal no decision, only the bundle hash)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from ..deps import StateDep
from ..policies import read_reload_stamp
from ..schemas import HealthResponse, error_responses

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="The process is alive",
    response_model=HealthResponse,
    response_model_exclude_none=True,
)
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to decide: a bundle is loaded and the decision log answers",
    response_model=HealthResponse,
    responses=error_responses(503),
)
async def readyz(state: StateDep) -> Any:
    log = "disabled"
    if state.log is not None:
        try:
            await asyncio.to_thread(state.log.count)
            log = "ok"
        except Exception as error:
            return JSONResponse(
                {"error": {"code": "unavailable", "message": f"decision log: {error}"}},
                status_code=503,
            )
    serving = state.policies.current.hash
    stamp = state.settings.reload_stamp
    wanted = read_reload_stamp(stamp) if stamp is not None else None
    if wanted is not None and wanted != serving:
        # `serve --workers N`: this worker has not (yet) loaded the bundle the others serve.
        return JSONResponse(
            {
                "error": {
                    "code": "bundle_mismatch",
                    "message": f"this worker (pid {os.getpid()}) serves bundle {serving} while the "
                    f"service serves {wanted}; it is loading it, or cannot (see its log)",
                }
            },
            status_code=503,
        )
    return {"status": "ready", "bundle_hash": serving, "log": log}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
