"""The playground at `/playground`: a browser editor over the bundle's policy files, with the
checker's diagnostics as you type, the examples, a decision and the formatter.

Edits live in the browser: every request carries the files it is about, and the server keeps
no copy and writes nothing (not even the engine's disk cache: parses are memoised per file in
memory instead), unless the app has API keys (`lexgate serve`) and an admin key saves a bundle
that loads (`/playground/api/save`: atomic writes inside the policy folder only). The page
and its assets are built from web/playground/ and committed under api/static/playground/, so
nothing is fetched from a CDN.

It is on, without a key, when the server is bound to a loopback address, and then answers only
requests addressed to a loopback host name (a DNS-rebinding page cannot reach it); bound to any
other address it is off unless `--playground` / LEXGATE_PLAYGROUND turns it on. Every input has
a limit: files, bytes per file and in all, the request body (the app's body limit) and the time
one check, example run or decision may take (422 past it, the work is stopped).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import importlib
import ipaddress
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from lexgate.engine import Bundle, LexgateError, OperationError, PolicyError, run_examples
from lexgate.engine.bundle import MAX_POLICY_BYTES, POLICY_SUFFIX, content_hash
from lexgate.engine.checker import check_modules
from lexgate.engine.diagnostics import Diagnostic
from lexgate.engine.parser import check_despite_syntax_errors, parse_module
from lexgate.engine.timebox import TimeLimitExceeded, run_limited
from lexgate.engine.vocabulary import FieldError
from pydantic import BaseModel, Field

from ..deps import authorize
from ..errors import ApiError, prefixed
from ..keys import Scope
from ..playground_files import read_bundle, read_operations, save_files
from ._body import json_bytes, parse_json, require_json, validate

STATIC = Path(__file__).resolve().parents[1] / "static" / "playground"
PREFIX = "/playground"

# Limits. The shipped packs are 45 files and 0.5 MB; these leave room for a much larger bundle
# and still bound the work of one request.
MAX_FILES = 300
MAX_FILE_BYTES = MAX_POLICY_BYTES  # the engine's own limit per policy file
MAX_BUNDLE_BYTES = 4 * 1_048_576
MAX_PATH_LENGTH = 200
MAX_OPERATION_EXAMPLES = 50
CHECK_SECONDS = 10.0  # parse + check + compile: about 0.5 s for the shipped packs, cold
EXAMPLES_SECONDS = 30.0  # every example of the bundle (each also has the engine's own limit)
DECIDE_SECONDS = 5.0
# One or two evaluations at a time: a second tab or a fast typist waits instead of piling up.
CONCURRENT_WORK = 2
# The body limit `lexgate playground` sets: a bundle at MAX_BUNDLE_BYTES, escaped as JSON.
PLAYGROUND_BODY_BYTES = 2 * MAX_BUNDLE_BYTES

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
# The page and its script are rebuilt with the sources: never cached by the browser.
NO_STORE = {"Cache-Control": "no-store"}

T = TypeVar("T")


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def playground_enabled(host: str, flag: bool | None) -> bool:
    """On for a loopback address unless turned off; elsewhere only when turned on."""
    return flag if flag is not None else is_loopback(host)


# ---- requests -------------------------------------------------------------------------------


class BundleRequest(BaseModel):
    files: dict[str, str] = Field(description="policy file path (relative) -> its text")


class DecideRequest(BundleRequest):
    operation: dict[str, Any]
    as_of: dt.date | None = None
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")


class SaveRequest(BundleRequest):
    save: list[str] = Field(max_length=MAX_FILES, description="the files of `files` to write")


class FormatRequest(BaseModel):
    path: str
    text: str


# ---- the work -------------------------------------------------------------------------------


class ParseMemo:
    """Parsed files by (name, text), the most recently used kept up to `max_chars` characters
    of text in all: a keystroke re-parses the file it changed, not the bundle, and a client
    sending many large files cannot make the memo grow past the bound. ASTs are frozen: safe
    to share between requests."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.size = 0
        self.entries: OrderedDict[tuple[str, str], tuple[Any, tuple[Diagnostic, ...]]] = (
            OrderedDict()
        )
        self.lock = threading.Lock()  # requests parse in worker threads

    def parse(self, file: str, text: str) -> tuple[Any, tuple[Diagnostic, ...]]:
        key = (file, text)
        with self.lock:
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
                return found
        module, diagnostics = parse_module(text, file)
        value = (module, tuple(diagnostics))
        with self.lock:
            if key not in self.entries and len(text) <= self.max_chars:
                self.entries[key] = value
                self.size += len(text)
                while self.size > self.max_chars:
                    (_, old), _ = self.entries.popitem(last=False)
                    self.size -= len(old)
        return value


# Four copies of a bundle of the shipped packs' size (0.5 MB), as it is being edited.
_memo = ParseMemo(max_chars=MAX_BUNDLE_BYTES // 2)


def check_bundle(files: dict[str, str]) -> Bundle:
    """The engine's load_sources (parse, check, compile) without its disk cache (edits are
    not written anywhere); PolicyError with every diagnostic when the bundle does not load."""
    modules: list[Any] = []
    diagnostics: list[Diagnostic] = []
    for file, text in sorted(files.items()):
        module, found = _memo.parse(file, text)
        modules.append(module)
        diagnostics.extend(found)
    if diagnostics:  # as load_sources: what did parse is checked too, every error in one run
        raise PolicyError(check_despite_syntax_errors(modules, dict(files), diagnostics))
    checked = check_modules(modules, dict(files))
    return Bundle(dataclasses.replace(checked, hash=content_hash(files)))


def _diagnostics(items: Any) -> list[dict[str, Any]]:
    return [d.to_dict() for d in items]


def _limit_files(files: dict[str, str]) -> None:
    if not files:
        raise ApiError(422, "the bundle has no files", fields=[FieldError("files", "empty")])
    if len(files) > MAX_FILES:
        raise ApiError(
            413,
            f"the bundle has {len(files)} files; the playground takes at most {MAX_FILES}",
            fields=[FieldError("files", f"more than {MAX_FILES} files")],
        )
    total = 0
    for path, text in files.items():
        where = f"files[{path[:MAX_PATH_LENGTH]!r}]"
        if len(path) > MAX_PATH_LENGTH or not _PATH.match(path) or ".." in path.split("/"):
            raise ApiError(
                422,
                "a file name must be a relative path of letters, digits, `_`, `-`, `.` and `/` "
                f"of at most {MAX_PATH_LENGTH} characters",
                fields=[FieldError(where, "invalid file name")],
            )
        if not path.endswith(POLICY_SUFFIX):
            raise ApiError(
                422,
                f"`{path}` is not a policy file (the name must end in {POLICY_SUFFIX})",
                fields=[FieldError(where, f"not a {POLICY_SUFFIX} file")],
            )
        size = len(text.encode("utf-8"))
        if size > MAX_FILE_BYTES:
            raise ApiError(
                413,
                f"`{path}` is {size:,} bytes; a policy file may hold at most {MAX_FILE_BYTES:,}",
                fields=[FieldError(where, "file too large")],
            )
        total += size
    if total > MAX_BUNDLE_BYTES:
        raise ApiError(
            413,
            f"the bundle is {total:,} bytes; the playground takes at most {MAX_BUNDLE_BYTES:,}",
            fields=[FieldError("files", "bundle too large")],
        )


def _check_payload(bundle: Bundle, started: float) -> dict[str, Any]:
    return {
        "ok": True,
        "hash": bundle.hash,
        "diagnostics": [],
        "warnings": _diagnostics(bundle.checked.warnings),
        "summary": bundle.summary(),
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def _broken(error: PolicyError, started: float) -> dict[str, Any]:
    return {
        "ok": False,
        "diagnostics": _diagnostics(error.diagnostics),
        "warnings": [],
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def run_check(files: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        return _check_payload(check_bundle(files), started)
    except PolicyError as error:
        return _broken(error, started)


def _example_status(decision: Any, regime: str) -> str | None:
    found = None if decision is None else decision.regimes.get(regime)
    return None if found is None else str(found.status)


def run_bundle_examples(files: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        bundle = check_bundle(files)
    except PolicyError as error:
        return {**_broken(error, started), "results": []}
    report = run_examples(bundle)
    results = [
        {
            "regime": result.regime,
            "description": result.description,
            "span": result.span.to_dict(),
            "passed": result.passed,
            "failures": list(result.failures),
            "status": _example_status(result.decision, result.regime),
        }
        for result in report.results
    ]
    passed = sum(1 for r in results if r["passed"])
    return {
        **_check_payload(bundle, started),
        "results": results,
        "passed": passed,
        "failed": len(results) - passed,
        "coverage": {
            regime: {
                "rules_percent": round(coverage.percent(coverage.rules), 1),
                "provisions_percent": round(coverage.percent(coverage.provisions), 1),
            }
            for regime, coverage in report.coverage.items()
        },
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def run_decide(request: DecideRequest) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        bundle = check_bundle(request.files)
    except PolicyError as error:
        return {**_broken(error, started), "decision": None}
    try:
        decision = bundle.decide(
            request.operation, as_of=request.as_of, currency=request.currency, questions=True
        )
    except OperationError as error:
        raise ApiError(
            422,
            "the operation does not fit the vocabulary",
            fields=prefixed(error.errors, "operation"),
        ) from None
    except LexgateError as error:  # e.g. a currency the bundle has no rate for
        raise ApiError(
            422,
            "the operation cannot be decided: " + "; ".join(d.message for d in error.diagnostics),
            fields=[FieldError("operation", "cannot be decided")],
        ) from None
    except (ArithmeticError, OverflowError) as error:
        raise ApiError(
            422,
            "the operation cannot be decided",
            fields=[FieldError("operation", f"a value is out of range ({error})")],
        ) from None
    return {
        "ok": True,
        "hash": bundle.hash,
        "decision": decision.to_dict(explain=True),
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def formatter() -> Callable[[str, str], str] | None:
    """engine/formatter.py's `format_source(text, path)`, once it exists (imported lazily so
    the playground works, without its format button, on an engine that has none)."""
    try:
        module = importlib.import_module("lexgate.engine.formatter")
    except ImportError:
        return None
    found = getattr(module, "format_source", None)
    return found if callable(found) else None


def run_format(request: FormatRequest) -> dict[str, Any]:
    format_source = formatter()
    if format_source is None:
        raise ApiError(
            503,
            "the formatter is not available in this version of lexgate "
            "(lexgate.engine.formatter.format_source is missing)",
        )
    try:
        text = format_source(request.text, request.path)
    except LexgateError as error:  # a file that does not parse cannot be laid out
        return {"ok": False, "text": None, "diagnostics": _diagnostics(error.diagnostics)}
    return {"ok": True, "text": text, "changed": text != request.text, "diagnostics": []}


# ---- saving ----------------------------------------------------------------------------


def run_save(root: Path, request: SaveRequest) -> dict[str, Any]:
    """Save only a bundle that loads: a broken one is answered with its diagnostics (422) and
    nothing is written. The server keeps serving its bundle until a reload."""
    try:
        bundle = check_bundle(request.files)
    except PolicyError as error:
        raise ApiError(
            422,
            f"not saved: the bundle does not load ({len(error.diagnostics)} error(s))",
            code="policy_error",
            extra={"diagnostics": _diagnostics(error.diagnostics)},
        ) from None
    saved = save_files(root, request.files, request.save)
    return {"ok": True, "saved": saved, "hash": bundle.hash}


# ---- routes ---------------------------------------------------------------------------------


def install_playground(
    app: FastAPI,
    policies: Path,
    *,
    local_only: bool,
    examples: Path | None = None,
    saving: bool = False,
) -> None:
    """Add `/playground` (the page, its assets, its JSON routes) to `app`. `local_only`: answer
    only requests whose Host is a loopback name (the server is bound to loopback). `saving`:
    the app has API keys (`lexgate serve`), and an admin key may save edited files."""
    root = policies.resolve()
    operations_dir = examples or root.parent / "examples"
    gate = asyncio.Semaphore(CONCURRENT_WORK)

    def allow(request: Request) -> None:
        host = request.url.hostname or ""
        if local_only and not is_loopback(host):
            raise ApiError(
                403,
                f"the playground answers only requests to localhost, not to `{host}` (serve it "
                "on another address with `lexgate serve --playground` or `lexgate playground "
                "--remote`)",
            )

    async def bounded(work: Callable[[], T], seconds: float, what: str) -> T:
        async with gate:
            try:
                return await asyncio.to_thread(run_limited, seconds, work)
            except TimeLimitExceeded:
                raise ApiError(
                    422,
                    f"{what} took longer than the playground's limit of {seconds:g} s",
                    code="time_limit",
                ) from None

    async def body(request: Request, model: type[Any]) -> Any:
        allow(request)
        require_json(request.headers.get("content-type", ""))
        data = validate(model, parse_json(await request.body()))
        if hasattr(data, "files"):
            _limit_files(data.files)
        return data

    router = APIRouter(prefix=PREFIX, include_in_schema=False)

    @router.get("")
    async def page(request: Request) -> Response:
        allow(request)
        if not (STATIC / "index.html").is_file():
            raise ApiError(404, "the playground's page is not built (npm run build)")
        return FileResponse(STATIC / "index.html", headers=NO_STORE)

    @router.get("/")
    async def slash(request: Request) -> Response:
        allow(request)
        return RedirectResponse(PREFIX, status_code=308)

    @router.get("/api/bundle")
    async def bundle(request: Request) -> Response:
        allow(request)
        files = await asyncio.to_thread(read_bundle, root, MAX_FILES, MAX_FILE_BYTES)
        operations = await asyncio.to_thread(
            read_operations, operations_dir, MAX_OPERATION_EXAMPLES, MAX_FILE_BYTES
        )
        return _json(
            {
                "root": root.name,
                "files": files,
                "operations": operations,
                "formatter": formatter() is not None,
                "save": saving,
                "limits": {
                    "files": MAX_FILES,
                    "file_bytes": MAX_FILE_BYTES,
                    "bundle_bytes": MAX_BUNDLE_BYTES,
                    "check_seconds": CHECK_SECONDS,
                    "examples_seconds": EXAMPLES_SECONDS,
                    "decide_seconds": DECIDE_SECONDS,
                },
            }
        )

    @router.post("/api/check")
    async def check(request: Request) -> Response:
        data = await body(request, BundleRequest)
        return _json(await bounded(lambda: run_check(data.files), CHECK_SECONDS, "checking"))

    @router.post("/api/examples")
    async def examples_route(request: Request) -> Response:
        data = await body(request, BundleRequest)
        work = functools.partial(run_bundle_examples, data.files)
        return _json(await bounded(work, EXAMPLES_SECONDS, "running the examples"))

    @router.post("/api/decide")
    async def decide(request: Request) -> Response:
        data = await body(request, DecideRequest)
        work = functools.partial(run_decide, data)
        return _json(await bounded(work, DECIDE_SECONDS, "deciding the operation"))

    @router.post("/api/format")
    async def format_route(request: Request) -> Response:
        data = await body(request, FormatRequest)
        _limit_files({data.path: data.text})
        work = functools.partial(run_format, data)
        return _json(await bounded(work, CHECK_SECONDS, "formatting"))

    @router.post("/api/save")
    async def save(request: Request) -> Response:
        allow(request)
        if not saving:
            raise ApiError(
                403,
                "this playground saves nothing (`lexgate playground`); save with `lexgate serve` "
                "and an admin key, or download the file",
            )
        state = getattr(request.app.state, "lexgate", None)
        await authorize(state, request.headers.get("authorization", ""), Scope.ADMIN)
        data = await body(request, SaveRequest)
        work = functools.partial(run_save, root, data)
        return _json(await bounded(work, CHECK_SECONDS, "checking the bundle to save"))

    app.include_router(router)
    if STATIC.is_dir():
        app.mount(f"{PREFIX}/assets", StaticFiles(directory=STATIC), name="playground-assets")


def _json(data: dict[str, Any]) -> Response:
    return Response(json_bytes(data), media_type="application/json", headers=NO_STORE)


def create_playground_app(policies: Path, *, host: str, enabled: bool | None = None) -> FastAPI:
    """The playground alone (`lexgate playground`): no decision log, no keys, nothing on disk."""
    from ..errors import install_handlers
    from ..middleware import BodyLimitMiddleware

    app = FastAPI(title="lexgate playground", docs_url=None, redoc_url=None, openapi_url=None)
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=PLAYGROUND_BODY_BYTES)
    if playground_enabled(host, enabled):
        install_playground(app, policies, local_only=is_loopback(host))

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse(PREFIX)

    @app.get("/readyz", include_in_schema=False)
    async def ready() -> Response:  # what api.testing.ServerProcess waits for
        return _json({"status": "ready"})

    return app
