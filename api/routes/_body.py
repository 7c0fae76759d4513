"""Reading a JSON body with exact decimals (never FastAPI's float parsing) and validating it."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from lexgate.engine import OperationError, load_operation_json
from lexgate.engine.vocabulary import FieldError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from ..errors import ApiError, pydantic_field_errors

try:  # optional accelerator for answers; json alone gives the same JSON
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: Request) -> Any:
    require_json(request.headers.get("content-type", ""))
    return parse_json(await request.body())


def require_json(content_type: str) -> None:
    """415 unless the body is declared as JSON (`application/json`, or a `+json` type)."""
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        shown = f"`{media}`" if media else "no content type"
        raise ApiError(
            415,
            f"the body must be JSON (Content-Type: application/json), not {shown}",
            fields=[FieldError("$", "expected application/json")],
        )


async def read_body(receive: Receive) -> bytes:
    """The whole body of a request, from a raw ASGI `receive` (ClientDisconnect if the client
    leaves first). Its size limit and deadline come from api.middleware.BodyLimitMiddleware."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def parse_json(body: bytes) -> Any:
    """The body as JSON with exact decimals, or a 422 naming what is wrong with it."""
    if not body.strip():
        raise ApiError(422, "the request needs a JSON body", fields=[FieldError("$", "empty")])
    try:
        return load_operation_json(body)
    except OperationError as error:
        raise ApiError(422, "the body is not valid JSON", fields=error.errors) from None
    except (ValueError, RecursionError) as error:  # e.g. a 5,000-digit integer, deep nesting
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(422, "the body cannot be read", fields=[FieldError("$", reason)]) from None


def validate(model: type[Model], data: Any) -> Model:
    if not isinstance(data, dict):
        raise ApiError(
            422, "the body must be a JSON object", fields=[FieldError("$", "expected an object")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(
            422,
            "the request does not fit its schema",
            fields=pydantic_field_errors(error.errors(include_url=False)),
        ) from None


def json_bytes(data: Any) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(data)  # type: ignore[no-any-return]
        except TypeError:  # a type orjson does not know (Decimal): the json module's errors
            pass
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
