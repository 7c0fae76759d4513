"""`LexgateClient` and `AsyncLexgateClient`: the decision API over httpx, with timeouts,
retries and typed answers. What each call sends and the retry decision are shared (calls.py).

Retries follow what is safe to repeat. A GET is repeated on a connection error, a timeout, 429,
502, 503 or 504. A POST is repeated only when the service certainly did not act: the connection
was never made, or it answered 429 or 503 (lexgate answers 503 when its log cannot take the
decision, and then decides nothing). A POST whose answer timed out is not repeated: the decision
may be logged already, and a second one would be a second entry in the audit trail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Self

import httpx

from . import calls
from .calls import DEFAULT_TIMEOUT, Call, RetryPolicy
from .models import DecisionPage, DecisionResponse, DecisionSummary, LogEntry, RetentionResult

DEFAULT_RETRY = RetryPolicy()  # frozen: one shared default


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class LexgateClient:
    """A synchronous client. `http` lets a caller pass its own `httpx.Client` (a proxy, mTLS,
    or an in-process test client); otherwise one is made with `timeout`."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._owned = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._base = base_url.rstrip("/")
        self._headers = _headers(api_key)
        self.retry = retry
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

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
        flags = {"explain": explain, "questions": questions, "remediate": remediate}
        call = calls.decide(operation, profile, currency, flags)
        return DecisionResponse.model_validate(self._send(call).json())

    def decide_batch(
        self, operations: Sequence[Mapping[str, Any]], *, currency: str | None = None
    ) -> list[DecisionResponse]:
        answer = self._send(calls.decide_batch(operations, currency)).json()
        return [DecisionResponse.model_validate(r) for r in answer["results"]]

    def get_decision(self, decision_id: str) -> LogEntry:
        """The logged entry of a decision (scope `read_log`)."""
        return LogEntry.model_validate(self._send(calls.get_decision(decision_id)).json())

    def decisions_page(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> DecisionPage:
        """One page of the log, newest first. Filters: since, until (datetimes), status,
        regime, rule, profile, bundle."""
        call = calls.decisions_page(cursor, limit, filters)
        return DecisionPage.model_validate(self._send(call).json())

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
        answer = self._send(calls.check_retention(records, as_of)).json()
        return RetentionResult.model_validate(answer)

    def _send(self, call: Call) -> httpx.Response:
        for attempt in range(self.retry.attempts):
            try:
                response = self._http.request(
                    call.method, self._base + call.path, headers=self._headers, **call.send()
                )
            except httpx.TransportError as error:
                self._sleep(calls.after_error(call, error, attempt, self.retry))
                continue
            wait = calls.after_answer(call, response, attempt, self.retry)
            if wait is None:
                return response
            self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


class AsyncLexgateClient:
    """The same calls for asyncio code (a CRM backend on FastAPI, say)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._owned = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._base = base_url.rstrip("/")
        self._headers = _headers(api_key)
        self.retry = retry
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def decide(
        self,
        operation: Mapping[str, Any],
        *,
        profile: str | None = None,
        currency: str | None = None,
        explain: bool = False,
        questions: bool = False,
        remediate: bool = False,
    ) -> DecisionResponse:
        flags = {"explain": explain, "questions": questions, "remediate": remediate}
        call = calls.decide(operation, profile, currency, flags)
        return DecisionResponse.model_validate((await self._send(call)).json())

    async def decide_batch(
        self, operations: Sequence[Mapping[str, Any]], *, currency: str | None = None
    ) -> list[DecisionResponse]:
        answer = (await self._send(calls.decide_batch(operations, currency))).json()
        return [DecisionResponse.model_validate(r) for r in answer["results"]]

    async def get_decision(self, decision_id: str) -> LogEntry:
        return LogEntry.model_validate((await self._send(calls.get_decision(decision_id))).json())

    async def decisions_page(
        self, *, cursor: str | None = None, limit: int = 50, **filters: Any
    ) -> DecisionPage:
        call = calls.decisions_page(cursor, limit, filters)
        return DecisionPage.model_validate((await self._send(call)).json())

    async def iter_decisions(
        self, *, limit: int = 200, **filters: Any
    ) -> AsyncIterator[DecisionSummary]:
        cursor: str | None = None
        while True:
            page = await self.decisions_page(cursor=cursor, limit=limit, **filters)
            for summary in page.decisions:
                yield summary
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def check_retention(
        self, records: Sequence[Mapping[str, Any]], *, as_of: dt.date | None = None
    ) -> RetentionResult:
        answer = (await self._send(calls.check_retention(records, as_of))).json()
        return RetentionResult.model_validate(answer)

    async def _send(self, call: Call) -> httpx.Response:
        for attempt in range(self.retry.attempts):
            try:
                response = await self._http.request(
                    call.method, self._base + call.path, headers=self._headers, **call.send()
                )
            except httpx.TransportError as error:
                await self._sleep(calls.after_error(call, error, attempt, self.retry))
                continue
            wait = calls.after_answer(call, response, attempt, self.retry)
            if wait is None:
                return response
            await self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


__all__ = ["AsyncLexgateClient", "LexgateClient", "RetryPolicy"]
