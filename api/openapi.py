"""The OpenAPI document, with the loaded bundle's generated `Operation` schema and examples
computed by the loaded bundle (so `/docs` always shows a real decision). It is rebuilt when a
reload changes the bundle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from .deps import BEARER_SCHEME
from .policies import LoadedBundle, operation_json_schema

EXAMPLE_OPERATION: dict[str, Any] = {
    "controller": {
        "establishments": ["DE"],
        "worldwide_turnover": {"amount": "1000000000", "currency": "EUR"},
    },
    "subjects": {"locations": ["DE", "FR"], "count": 250000},
    "purposes": ["marketing"],
    "legal_basis": "none",
    "data_categories": ["contact"],
}
EXAMPLE_ID = "0b7f6f0e-2a52-4a4e-9d0c-6d8c3f2f1a10"
EXAMPLE_TIME = "2025-01-01T12:00:00.000000Z"


def _envelope(name: str, plural: bool, currencies: list[str], max_batch: int) -> dict[str, Any]:
    operation_ref = {"$ref": "#/components/schemas/Operation"}
    field = "operations" if plural else "operation"
    example_value: Any = [EXAMPLE_OPERATION] if plural else EXAMPLE_OPERATION
    schema = (
        {"type": "array", "items": operation_ref, "maxItems": max_batch}
        if plural
        else operation_ref
    )
    return {
        "title": name,
        "type": "object",
        "additionalProperties": False,
        "required": [field],
        "properties": {
            field: schema,
            "currency": {
                "type": "string",
                "enum": currencies,
                "default": "EUR",
                "description": "reporting currency for exposure amounts",
            },
            "explain": {
                "type": "boolean",
                "default": False,
                "description": "include every rule's trace",
            },
        },
        "examples": [{field: example_value, "currency": "EUR"}],
    }


def _example_answer(loaded: LoadedBundle) -> dict[str, Any] | None:
    try:
        decision = loaded.bundle.decide(EXAMPLE_OPERATION).to_dict()
    except Exception:  # a bundle whose vocabulary no longer fits the example: no example
        return None
    return {
        "decision_id": EXAMPLE_ID,
        "time": EXAMPLE_TIME,
        "bundle_hash": loaded.hash,
        "decision": decision,
        "log": {"seq": 1, "entry_hash": "e" * 64},
    }


def build_openapi(
    app: FastAPI,
    loaded: LoadedBundle | None,
    max_batch: int,
    documented: Sequence[BaseRoute] = (),
) -> dict[str, Any]:
    """`documented`: declarations of routes the app serves with plain Starlette routes (which
    FastAPI cannot describe), in the order they come first."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=[*documented, *app.routes],
    )
    schema.setdefault("components", {})["securitySchemes"] = {"apiKey": BEARER_SCHEME}
    for path, methods in schema["paths"].items():
        if path.startswith("/v1/"):  # every /v1 route needs a key; probes and docs do not
            for operation in methods.values():
                operation["security"] = [{"apiKey": []}]
    components = schema["components"].setdefault("schemas", {})
    if loaded is not None:
        operation = operation_json_schema(loaded.bundle, "#/components/schemas/{model}")
        components.update(operation.pop("$defs", {}))
        operation["examples"] = [EXAMPLE_OPERATION]
        components["Operation"] = operation
        # a profile's groups are subsets of the operation's: their own names (Profile…)
        profile = loaded.bundle.schema.profile_json_schema(
            "#/components/schemas/Profile{model}", sorted(loaded.bundle.internal_regimes)
        )
        components.update(
            {f"Profile{name}": body for name, body in profile.pop("$defs", {}).items()}
        )
        components["Profile"] = profile
        currencies = sorted(loaded.currencies)
    else:
        components["Operation"] = {"type": "object"}
        components["Profile"] = {"type": "object"}
        currencies = ["EUR"]
    components["DecisionRequest"] = _envelope("DecisionRequest", False, currencies, max_batch)
    components["BatchRequest"] = _envelope("BatchRequest", True, currencies, max_batch)
    answer = _example_answer(loaded) if loaded is not None else None
    if answer is not None:
        paths = schema["paths"]
        _set_example(paths, "/v1/decisions", answer)
        _set_example(
            paths,
            "/v1/decisions:batch",
            {"bundle_hash": answer["bundle_hash"], "results": [answer]},
        )
    return schema


def _set_example(paths: dict[str, Any], path: str, example: dict[str, Any]) -> None:
    content = paths.get(path, {}).get("post", {}).get("responses", {}).get("200", {})
    media = content.get("content", {}).get("application/json")
    if media is not None:
        media["example"] = example


def install_openapi(
    app: FastAPI,
    current: Callable[[], LoadedBundle | None],
    max_batch: int,
    documented: Sequence[BaseRoute] = (),
) -> None:
    cache: dict[str | None, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        loaded = current()
        key = loaded.hash if loaded is not None else None
        if key not in cache:
            cache.clear()
            cache[key] = build_openapi(app, loaded, max_batch, documented)
        app.openapi_schema = cache[key]
        return cache[key]

    app.openapi = openapi  # type: ignore[method-assign]
