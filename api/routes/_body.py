"""Reading a JSON body with exact decimals (never FastAPI's float parsing) and validating it."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from api.errors import ApiError, pydantic_field_errors
from engine import OperationError, load_operation_json
from engine.vocabulary import FieldError

try:  # optional accelerator for answers; json alone gives the same JSON
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: Request) -> Any:
    return parse_json(await request.body())


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
        raise ApiError(422, "the body must be a JSON object",
                       fields=[FieldError("$", "expected an object")])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(
            422, "the request does not fit its schema",
            fields=pydantic_field_errors(error.errors(include_url=False)),
        ) from None


def json_bytes(data: Any) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(data)  # type: ignore[no-any-return]
        except TypeError:  # a type orjson does not know (Decimal): the json module's errors
            pass
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
