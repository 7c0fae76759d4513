"""What each call sends and what it expects back, shared by the synchronous and the async
client, and the retry decision they both follow (so the two cannot differ)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import LexgateApiError, LexgateUnavailable

RETRY_STATUSES = frozenset({429, 502, 503, 504})
POST_RETRY_STATUSES = frozenset({429, 503})  # the service did not act
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """`attempts` in all (1: no retry); waits grow from `backoff` seconds, doubling, with
    jitter, up to `max_backoff`, or what a `Retry-After` header asks (capped the same)."""

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 4.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        grown: float = min(self.backoff * 2**attempt, self.max_backoff)
        return grown * (0.5 + random.random() / 2)  # jitter: clients do not retry in step


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None

    def send(self) -> dict[str, Any]:
        sent: dict[str, Any] = {}
        if self.params:
            sent["params"] = self.params
        if self.json is not None:
            sent["json"] = self.json
        return sent


def decide(
    operation: Mapping[str, Any],
    profile: str | None,
    currency: str | None,
    flags: Mapping[str, bool],
) -> Call:
    body: dict[str, Any] = {"operation": dict(operation)}
    if profile is not None:
        body["profile"] = profile
    if currency is not None:
        body["currency"] = currency
    body.update({name: True for name, on in flags.items() if on})
    return Call("POST", "/v1/decisions", json=body)


def decide_batch(operations: Sequence[Mapping[str, Any]], currency: str | None) -> Call:
    body: dict[str, Any] = {"operations": [dict(o) for o in operations]}
    if currency is not None:
        body["currency"] = currency
    return Call("POST", "/v1/decisions:batch", json=body)


def get_decision(decision_id: str) -> Call:
    return Call("GET", f"/v1/decisions/{httpx.URL(decision_id).path}")


def decisions_page(cursor: str | None, limit: int, filters: Mapping[str, Any]) -> Call:
    params = {name: _param(value) for name, value in filters.items() if value is not None}
    params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    return Call("GET", "/v1/decisions", params=params)


def check_retention(records: Sequence[Mapping[str, Any]], as_of: dt.date | None) -> Call:
    body: dict[str, Any] = {"records": [_jsonable(r) for r in records]}
    if as_of is not None:
        body["as_of"] = as_of.isoformat()
    return Call("POST", "/v1/retention:check", json=body)


def after_error(
    call: Call, error: httpx.TransportError, attempt: int, policy: RetryPolicy
) -> float:
    """The wait before the next attempt after no answer, or the error to raise."""
    never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if call.method != "GET" and not never_sent:
        raise LexgateUnavailable(
            f"{call.method} {call.path}: no answer ({error!r}); it may have been decided and "
            "logged, so it is not repeated"
        ) from error
    if attempt + 1 >= policy.attempts:
        raise LexgateUnavailable(
            f"{call.method} {call.path}: {error!r} (after {policy.attempts} attempts)"
        ) from error
    return policy.wait(attempt, None)


def after_answer(
    call: Call, response: httpx.Response, attempt: int, policy: RetryPolicy
) -> float | None:
    """None when the answer is the result; else the wait before the next attempt (or raise)."""
    if response.status_code < 400:
        return None
    retry_on = RETRY_STATUSES if call.method == "GET" else POST_RETRY_STATUSES
    if response.status_code not in retry_on or attempt + 1 >= policy.attempts:
        raise api_error(response)
    return policy.wait(attempt, response.headers.get("retry-after"))


def api_error(response: httpx.Response) -> LexgateApiError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    return LexgateApiError(
        response.status_code,
        str(error.get("code", "http_error")),
        str(error.get("message", response.reason_phrase)),
        list(error.get("fields") or []),
    )


def _param(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat()
        if isinstance(value, dt.date)
        else sorted(value)
        if isinstance(value, set | frozenset)
        else value
        for key, value in record.items()
    }
