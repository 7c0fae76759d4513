"""Every error answer is `{"error": {code, message, ...}}`; bad input names its field path.

The handlers registered here make sure that nothing a client sends is answered with a bare
framework error or a 500: request-validation problems become 422 with paths, HTTP errors keep
their status, and anything unexpected is logged and answered with a JSON 500 (a bug to fix).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from lexgate.engine.vocabulary import FieldError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("lexgate.api")

# An answer names at most this many fields (and how many more there were): a body with 100,000
# bad items must not get a 30 MB answer.
MAX_FIELD_ERRORS = 50

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Sequence[FieldError] = (),
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.fields = list(fields)
        self.extra = extra or {}
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = [f.to_dict() for f in self.fields[:MAX_FIELD_ERRORS]]
            if len(self.fields) > MAX_FIELD_ERRORS:
                error["more_fields"] = len(self.fields) - MAX_FIELD_ERRORS
        error.update(self.extra)
        return {"error": error}


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def prefixed(errors: Sequence[FieldError], prefix: str) -> list[FieldError]:
    """Field errors of a nested document, with paths from the request body's root."""
    out = []
    for error in errors:
        if error.path == "$":
            out.append(FieldError(prefix, error.message, error.code))
        elif error.path.startswith("["):
            out.append(FieldError(prefix + error.path, error.message, error.code))
        else:
            out.append(FieldError(f"{prefix}.{error.path}", error.message, error.code))
    return out


def pydantic_field_errors(errors: Sequence[Any]) -> list[FieldError]:
    out = []
    for item in errors:
        path = ""
        for part in item.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += ("." if path else "") + str(part)
        message = str(item.get("msg", "invalid value"))
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        out.append(FieldError(path or "$", message[:1].lower() + message[1:]))
    return out


async def _api_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    message = error.detail if isinstance(error.detail, str) else _CODES.get(error.status_code, "")
    return error_response(
        ApiError(error.status_code, str(message).lower(), headers=getattr(error, "headers", None))
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = pydantic_field_errors(error.errors())
    return error_response(ApiError(422, "the request does not fit its schema", fields=fields))


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": {"code": "internal", "message": "internal error; it has been logged"}},
        status_code=500,
    )


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
