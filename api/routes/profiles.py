"""Organisation profiles: `PUT /v1/profiles/{id}` (scope `admin`), `GET /v1/profiles/{id}` and
`GET /v1/profiles` (scope `read_log`). Versions are kept in the decision log's chain
(api/profile_store.py); a decision names the profile and version it used."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from lexgate.engine import OperationError
from lexgate.engine.vocabulary import FieldError

from ..deps import StateDep, require
from ..errors import ApiError, prefixed
from ..keys import Scope
from ..profile_store import PROFILE_ID, ProfileStore
from ..schemas import ProfileList, ProfileOut, error_responses
from ._body import parse_json, read_body, require_json

ProfileId = Annotated[
    str,
    Path(pattern=PROFILE_ID.pattern, max_length=64, description="letters, digits, `.`, `_`, `-`"),
]

admin_router = APIRouter(
    prefix="/v1",
    tags=["profiles"],
    dependencies=[Depends(require(Scope.ADMIN))],
    responses=error_responses(401, 403, 413, 415, 422, 503),
)
read_router = APIRouter(
    prefix="/v1",
    tags=["profiles"],
    dependencies=[Depends(require(Scope.READ_LOG))],
    responses=error_responses(401, 403, 404),
)


def store(state: Any) -> ProfileStore:
    """One store per app, kept beside the app's state (made on first use)."""
    existing = getattr(state, "_profiles", None)
    if existing is None:
        existing = ProfileStore(state.log)
        object.__setattr__(state, "_profiles", existing)
    return existing


@admin_router.put(
    "/profiles/{profile_id}",
    summary="Store a new version of an organisation profile",
    description="The body is operation JSON holding organisation facts only (policies/common/"
    "levels.policy); an operation fact is a 422 naming it. Each PUT makes a new version, "
    "chained in the decision log like a decision.",
    response_model=ProfileOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Profile"}}},
        }
    },
)
async def put_profile(profile_id: ProfileId, request: Request, state: StateDep) -> dict[str, Any]:
    require_json(request.headers.get("content-type", ""))
    body = parse_json(await read_body(request.receive))
    loaded = state.policies.current
    try:
        loaded.bundle.load_profile(body, profile_id)
    except OperationError as error:
        raise ApiError(
            422, "the profile does not fit the vocabulary", fields=prefixed(error.errors, "profile")
        ) from None
    try:
        stored = await asyncio.to_thread(store(state).put, profile_id, body, loaded.hash)
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    return stored.to_dict()


@read_router.get(
    "/profiles/{profile_id}",
    summary="A profile: its latest version, or one",
    response_model=ProfileOut,
)
async def get_profile(
    profile_id: ProfileId,
    state: StateDep,
    request: Request,
    version: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> dict[str, Any]:
    unknown = sorted(set(request.query_params) - {"version"})
    if unknown:  # a misspelt `versoin` must not silently mean "the latest"
        raise ApiError(
            422,
            "unknown query parameter",
            fields=[
                FieldError(name, "unknown query parameter; the only one is `version`")
                for name in unknown[:10]
            ],
        )
    stored = await asyncio.to_thread(store(state).get, profile_id, version)
    if stored is None:
        which = f" version {version}" if version is not None else ""
        raise ApiError(404, f"no profile `{profile_id}`{which}", code="not_found")
    return stored.to_dict()


@read_router.get(
    "/profiles", summary="Every profile and its latest version", response_model=ProfileList
)
async def list_profiles(state: StateDep) -> dict[str, Any]:
    return {"profiles": await asyncio.to_thread(store(state).list)}
