"""The bounded adversarial run of issue 12's "done when": about a hundred nasty requests against
a real uvicorn. No 5xx; every 4xx is the API's JSON error shape, and every 422 (and 415) names
the field path; no request takes over 1 s; the server's memory does not keep growing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adversarial.conftest import Target, raw_exchange

pytestmark = pytest.mark.slow

BASE: dict[str, Any] = {
    "controller": {
        "establishments": ["DE"],
        "worldwide_turnover": {"amount": "1000000000", "currency": "EUR"},
    },
    "subjects": {"locations": ["DE", "FR"], "count": 250000},
    "purposes": ["marketing"],
    "legal_basis": "none",
    "data_categories": ["contact"],
}
MAX_SECONDS = 1.0


def op(**changes: Any) -> bytes:
    return json.dumps({"operation": {**BASE, **changes}}).encode()


def cases() -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(id, method, path, body, extra headers)."""
    found: list[tuple[str, str, str, bytes, dict[str, str]]] = []

    def add(
        name: str, body: bytes, path: str = "/v1/decisions", method: str = "POST", **headers: str
    ) -> None:
        found.append((name, method, path, body, headers))

    # Sizes: every list far over its limit, huge strings, many keys, deep nesting.
    for field in ("transfers", "disclosures"):
        add(f"{field} x100000", op(**{field: [{}] * 100_000}))
        add(f"{field} x257", op(**{field: [{}] * 257}))
    for field in ("purposes", "data_categories"):
        add(f"{field} x100000", op(**{field: ["x"] * 100_000}))
    add("locations x100000", op(subjects={"locations": ["DE"] * 100_000}))
    add("establishments x401", op(controller={"establishments": ["DE"] * 401}))
    add("10k unknown keys", op(**{f"k{i}": 1 for i in range(10_000)}))
    add("900 kB string", op(legal_basis="x" * 900_000))
    add("2 MB body", b'{"operation": {"legal_basis": "' + b"x" * 2_000_000 + b'"}}')
    add("nested arrays x10000", b'{"operation": ' + b"[" * 10_000 + b"]" * 10_000 + b"}")
    add("nested objects x5000", b'{"operation": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001)
    add("batch of 1001", json.dumps({"operations": [{}] * 1001}).encode(), "/v1/decisions:batch")
    add(
        "batch of 300 bad",
        json.dumps({"operations": [{"legal_basis": 1}] * 300}).encode(),
        "/v1/decisions:batch",
    )
    add(
        "batch of 50 x 256 transfers",
        json.dumps(
            {"operations": [{**BASE, "transfers": [{"destination": "US"}] * 256}] * 50}
        ).encode(),
        "/v1/decisions:batch",
    )
    add(
        "explain with 256 transfers",
        json.dumps(
            {
                "operation": {
                    **BASE,
                    "transfers": [{"destination": "US", "mechanism": "none"}] * 256,
                },
                "explain": True,
            }
        ).encode(),
    )
    # Numbers.
    for name, text in [
        ("1e999999", "1e999999"),
        ("10^5000", "1" + "0" * 5000),
        ("-1", "-1"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("1.5", "1.5"),
        ("0.1e-999999", "0.1e-999999"),
        ("true", "true"),
        ("35 digits", ".1020452499485306739157495708919516e+37"),
    ]:
        add(f"count {name}", b'{"operation": {"subjects": {"count": ' + text.encode() + b"}}}")
        add(
            f"amount {name}",
            b'{"operation": {"controller": {"worldwide_turnover": '
            b'{"amount": ' + text.encode() + b', "currency": "EUR"}}}}',
        )
    add("hours 1e30", op(breach={"hours_to_authority": 1e30}))
    add("share 2", op(controller={"pi_sale_revenue_share": 2}))
    add("share 150%", op(controller={"pi_sale_revenue_share": "150%"}))
    # Codes, dates, currencies, enums.
    for code in ("DX", "ZZ", "XK", "de", "D", "DEU", "US-ZZ", "EU", "", "DE\u0000"):
        add(f"establishment {code!r}", op(controller={"establishments": [code]}))
    for as_of in (
        0,
        -1,
        1e10,
        "0",
        "2025-13-01",
        "2025-02-30",
        "20250601",
        "2025-06-01T00:00",
        [],
        {},
        None,
        True,
    ):
        add(f"as_of {as_of!r}", op(as_of=as_of))
    for currency in ("GBP", "CHF", "JPY", "eur", "", "EURO", 1):
        add(
            f"money in {currency!r}",
            op(controller={"worldwide_turnover": {"amount": "1", "currency": currency}}),
        )
        add(
            f"report in {currency!r}",
            json.dumps({"operation": BASE, "currency": currency}).encode(),
        )
    for basis in ("None", "nonsense", 1, None, ["none"], {"x": 1}):
        add(f"legal_basis {basis!r}", op(legal_basis=basis))
    # Keys and shapes.
    add("duplicate top key", b'{"operation": {}, "operation": {"legal_basis": "none"}}')
    add("duplicate nested key", b'{"operation": {"legal_basis": "none", "legal_basis": "consent"}}')
    add(
        "duplicate key in a list item",
        b'{"operation": {"transfers": [{"destination": "US", "destination": "CN"}]}}',
    )
    add("unknown field", op(legal_bassis="none"))
    add("unknown envelope field", json.dumps({"operation": BASE, "mode": "fast"}).encode())
    for raw in (
        b"",
        b" ",
        b"null",
        b"[]",
        b'"x"',
        b"1",
        b"{",
        b'{"operation": null}',
        b'{"operation": []}',
        b"\xff\xfe\x00garbage",
        b'{"operation": {"legal_basis": "\\ud800"}}',
        b"{'operation': {}}",
        b'{"operation": {}} trailing',
    ):
        add(f"body {raw[:20]!r}", raw)
    # Headers.
    add("text/plain", op(), **{"Content-Type": "text/plain"})
    add("no content type", op(), **{"Content-Type": ""})
    add("form encoded", op(), **{"Content-Type": "application/x-www-form-urlencoded"})
    add("json with charset", op(), **{"Content-Type": "application/json; charset=utf-8"})
    add("no key", op(), Authorization="")
    add("unknown key", op(), Authorization="Bearer lxg_0000_nothing")
    add("basic auth", op(), Authorization="Basic dXNlcjpwYXNz")
    # Paths and methods.
    add("GET decisions", b"", method="GET")
    add("PUT decisions", op(), method="PUT")
    add("unknown path", b"", "/v1/nothing", "GET")
    add("long id", b"", "/v1/decisions/" + "x" * 5000, "GET")
    add("id with NUL", b"", "/v1/decisions/a%00b", "GET")
    add("path traversal", b"", "/docs-assets/../../etc/passwd", "GET")
    add("trailing slash", op(), "/v1/decisions/")
    return found


CASES = cases()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_the_case_list_is_about_a_hundred() -> None:
    assert 90 <= len(CASES) <= 200, len(CASES)


def test_adversarial_run(target: Target) -> None:
    pid = target.server.process.pid  # type: ignore[union-attr]
    problems: list[str] = []
    slowest = (0.0, "")
    with httpx.Client(base_url=target.url, timeout=30) as client:
        for warm_up in range(2):  # the second pass must not grow the server's memory much
            if warm_up == 1:
                start_rss = rss_kb(pid)
            for name, method, path, body, extra in CASES:
                headers = target.headers()
                headers.update(extra)
                headers = {k: v for k, v in headers.items() if v != ""}
                started = time.monotonic()
                try:
                    response = client.request(method, path, content=body, headers=headers)
                except httpx.HTTPError as error:
                    problems.append(f"{name}: {error!r}")
                    continue
                took = time.monotonic() - started
                slowest = max(slowest, (took, name))
                problems.extend(_check(name, response, took))
    end_rss = rss_kb(pid)
    growth_mb = (end_rss - start_rss) / 1024
    print(
        f"\n{len(CASES)} cases x 2; slowest {slowest[0] * 1000:.0f} ms ({slowest[1]}); "
        f"server RSS {start_rss / 1024:.0f} MB -> {end_rss / 1024:.0f} MB "
        f"(+{growth_mb:.1f} MB over the second pass)"
    )
    assert not problems, "\n".join(problems)
    assert growth_mb < 50, f"the server grew by {growth_mb:.1f} MB over a repeated pass"


def _check(name: str, response: httpx.Response, took: float) -> list[str]:
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"{name}: {status} {response.text[:200]}")
    if took > MAX_SECONDS:
        problems.append(f"{name}: took {took:.2f} s")
    if len(response.content) > 100_000 and status != 200:
        problems.append(f"{name}: a {len(response.content)}-byte error answer")
    if 400 <= status < 500:
        try:
            error = response.json()["error"]
            assert error["code"] and error["message"]
        except (ValueError, KeyError, TypeError, AssertionError):
            problems.append(f"{name}: {status} without the JSON error shape: {response.text[:200]}")
            return problems
        if status in (415, 422) and not all(f.get("path") for f in error.get("fields", [{}])):
            problems.append(f"{name}: {status} without a field path: {error}")
    return problems


def test_raw_http_abuse(target: Target) -> None:
    """Requests uvicorn itself answers (or times out): JSON, never 5xx, closed in time."""
    port = target.server.port
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ):
        started = time.monotonic()
        answer = raw_exchange(port, raw)
        assert time.monotonic() - started < 20, raw[:30]
        if answer:
            status = int(answer.split(b" ", 2)[1])
            assert status < 500, answer[:300]
            if status >= 400:
                assert b"application/json" in answer.split(b"\r\n\r\n")[0].lower(), answer[:300]
