"""`POST /v1/decisions` without FastAPI's per-request machinery.

FastAPI solves the route's dependency graph, builds a `Request` and runs its exception
middleware on every request: about a third of the CPU a decision costs. This ASGI layer sits
inside the metrics and body-limit middleware and answers exactly `POST /v1/decisions` itself,
with the same steps in the same order as the FastAPI route and its router dependency
(`api.deps.require(Scope.DECIDE)`): 503 while starting, 401 without a valid key, 403 without
the `decide` scope, then the body (413 from the body limit, 422 with field paths) and
`api.routes.decisions.decide_one`, which answers only once the log entry is durable. Errors are
the same `{"error": …}` answers the app's exception handlers give. Every other request, and
any path variant (a root path, a trailing slash), goes on to FastAPI, whose route for
`/v1/decisions` stays registered: it is what the OpenAPI document describes.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import AppState, authenticate_header
from api.errors import ApiError, error_response
from api.keys import Scope as KeyScope
from api.routes.decisions import decide_one, decide_router

logger = logging.getLogger("lexgate.api")
PATH = "/v1/decisions"
_FORBIDDEN = f"this route needs a key with the `{KeyScope.DECIDE.value}` scope"
_HEADERS = [(b"content-type", b"application/json")]


class DecisionFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST"
                or scope.get("root_path")):
            await self.app(scope, receive, send)
            return
        if self._route is None:
            self._route = _find_route()
        scope["route"] = self._route  # what routing would have set (metrics label by it)
        try:
            body = await _handle(scope["app"].state.lexgate, scope, receive)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        except ClientDisconnect:
            return  # no one to answer
        except Exception:
            logger.exception("unhandled error on POST %s", PATH)
            await JSONResponse(
                {"error": {"code": "internal", "message": "internal error; it has been logged"}},
                status_code=500,
            )(scope, receive, send)
            return
        await send({
            "type": "http.response.start", "status": 200,
            "headers": [(b"content-length", str(len(body)).encode("ascii")), *_HEADERS],
        })
        await send({"type": "http.response.body", "body": body})


async def _handle(state: AppState | None, scope: Scope, receive: Receive) -> bytes:
    if state is None:  # only between process start and the end of the lifespan's startup
        raise ApiError(503, "the service is starting")
    authorization = ""
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    key = await authenticate_header(authorization, state)
    if not key.allows(KeyScope.DECIDE):
        raise ApiError(403, _FORBIDDEN)
    return await decide_one(state, await _read_body(receive))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def _find_route() -> Any:
    for route in decide_router.routes:
        if getattr(route, "path", None) == PATH and "POST" in (getattr(route, "methods", None)
                                                               or ()):
            return route
    raise RuntimeError(f"no POST {PATH} route to stand in for")
