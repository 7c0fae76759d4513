"""`LexgateClient`: the decision API over httpx, with timeouts, retries and typed answers.

Retries follow what is safe to repeat. A GET is repeated on a connection error, a timeout, 429,
502, 503 or 504. A POST is repeated only when the service certainly did not act: the connection
was never made, or it answered 429 or 503 (lexgate answers 503 when its log cannot take the
decision, and then decides nothing). A POST whose answer timed out is not repeated: the decision
may be logged already, and a second one would be a second entry in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from .errors import LexgateApiError, LexgateUnavailable
from .models import DecisionPage, DecisionResponse, DecisionSummary, LogEntry, RetentionResult

M = TypeVar("M", bound=BaseModel)
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


class LexgateClient:
    """A synchronous client. `http` lets a caller pass its own `httpx.Client` (a proxy, mTLS,
    or an in-process test client); otherwise one is made with `timeout`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._owned = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.retry = retry
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    # ---- the calls --------------------------------------------------------------------------

    def decide(
        self,
        operation: Mapping[str, Any],
        *,
        profile: str | None = None,
        currency: str | None = None,
        explain: bool = False,
        questions: bool = False,
        remediate: bool = False,
    ) -> DecisionResponse:
        """One operation decided (and logged: `answer.decision_id` finds it later)."""
        body: dict[str, Any] = {"operation": dict(operation)}
        if profile is not None:
            body["profile"] = profile
        if currency is not None:
            body["currency"] = currency
        for name, flag in (
            ("explain", explain),
            ("questions", questions),
            ("remediate", remediate),
        ):
            if flag:
                body[name] = True
        return self._call("POST", "/v1/decisions", DecisionResponse, json=body)

    def decide_batch(
        self, operations: Sequence[Mapping[str, Any]], *, currency: str | None = None
    ) -> list[DecisionResponse]:
        body: dict[str, Any] = {"operations": [dict(o) for o in operations]}
        if currency is not None:
            body["currency"] = currency
        answer = self._request("POST", "/v1/decisions:batch", json=body)
        return [DecisionResponse.model_validate(r) for r in answer.json()["results"]]

    def get_decision(self, decision_id: str) -> LogEntry:
        """The logged entry of a decision (scope `read_log`)."""
        return self._call("GET", f"/v1/decisions/{httpx.URL(decision_id).path}", LogEntry)

    def decisions_page(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> DecisionPage:
        """One page of the log, newest first. Filters: since, until (datetimes), status,
        regime, rule, profile, bundle."""
        params = {name: _param(value) for name, value in filters.items() if value is not None}
        params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor
        return self._call("GET", "/v1/decisions", DecisionPage, params=params)

    def iter_decisions(self, *, limit: int = 200, **filters: Any) -> Iterator[DecisionSummary]:
        """Every logged decision matching the filters, page after page."""
        cursor: str | None = None
        while True:
            page = self.decisions_page(cursor=cursor, limit=limit, **filters)
            yield from page.decisions
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def check_retention(
        self, records: Sequence[Mapping[str, Any]], *, as_of: dt.date | None = None
    ) -> RetentionResult:
        """Which records must be deleted or anonymised (at most 5,000 a call)."""
        body: dict[str, Any] = {"records": [_jsonable(r) for r in records]}
        if as_of is not None:
            body["as_of"] = as_of.isoformat()
        return self._call("POST", "/v1/retention:check", RetentionResult, json=body)

    # ---- transport --------------------------------------------------------------------------

    def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        return model.model_validate(self._request(method, path, **kwargs).json())

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        retry_on = RETRY_STATUSES if method == "GET" else POST_RETRY_STATUSES
        last: str = ""
        for attempt in range(self.retry.attempts):
            try:
                response = self._http.request(
                    method, self._base + path, headers=self._headers, **kwargs
                )
            except httpx.ConnectError as error:  # never reached the service: safe to repeat
                last = f"cannot connect: {error}"
            except httpx.TimeoutException as error:
                if method != "GET" and not isinstance(
                    error, httpx.ConnectTimeout | httpx.PoolTimeout
                ):
                    raise LexgateUnavailable(
                        f"{method} {path}: no answer in time ({error!r}); it may have been "
                        "decided and logged, so it is not repeated"
                    ) from error
                last = f"timed out: {error!r}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in retry_on:
                    raise _api_error(response)
                last = f"answered {response.status_code}"
                if attempt + 1 == self.retry.attempts:
                    raise _api_error(response)
                self._sleep(self.retry.wait(attempt, response.headers.get("retry-after")))
                continue
            if attempt + 1 < self.retry.attempts:
                self._sleep(self.retry.wait(attempt, None))
        raise LexgateUnavailable(f"{method} {path}: {last} (after {self.retry.attempts} attempts)")


def _api_error(response: httpx.Response) -> LexgateApiError:
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
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat()
        if isinstance(value, dt.date)
        else sorted(value)
        if isinstance(value, set | frozenset)
        else value
        for key, value in record.items()
    }


__all__ = ["DEFAULT_TIMEOUT", "LexgateClient", "RetryPolicy"]
