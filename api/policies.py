"""The bundle being served and its hot reload.

A reload parses, checks and compiles the new bundle and runs its examples before it is
swapped in with one reference assignment, so a request sees either the old bundle or the new
one, never a mix; a broken bundle is rejected with its diagnostics and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import Bundle, PolicyError, load_bundle, run_examples
from engine.bundle import DEFAULT_CURRENCY
from engine.diagnostics import NO_SPAN, Diagnostic

logger = logging.getLogger("lexgate.policies")


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle and what every request needs from it, computed once per load."""

    bundle: Bundle
    loaded_at: float
    currencies: frozenset[str]
    summary: dict[str, Any] = field(repr=False)
    operation_schema: dict[str, Any] = field(repr=False)

    @property
    def hash(self) -> str:
        return self.bundle.hash


def prepare(path: Path) -> LoadedBundle:
    """Load and fully validate a bundle; raises PolicyError (with diagnostics) if it is broken."""
    from api.openapi import operation_json_schema

    bundle = load_bundle(path)
    report = run_examples(bundle)
    failed = [r for r in report.results if not r.passed]
    if failed:
        raise PolicyError([
            Diagnostic(
                "E0501",
                f"example `{result.description}` of {result.regime} fails: "
                + "; ".join(result.failures),
                result.span,
            )
            for result in failed
        ])
    currencies = {c for pair in bundle.rates.pairs() for c in pair} | {DEFAULT_CURRENCY}
    return LoadedBundle(
        bundle, time.time(), frozenset(currencies), bundle.summary(), operation_json_schema(bundle)
    )


@dataclass(frozen=True)
class ReloadOutcome:
    swapped: bool
    previous_hash: str
    current: LoadedBundle


class PolicyService:
    """Holds the serving bundle; `current` is read lock-free, reloads are serialised."""

    def __init__(
        self, path: Path, initial: LoadedBundle, on_swap: Callable[[LoadedBundle], None]
    ) -> None:
        self.path = path
        self.current = initial
        self._on_swap = on_swap
        self._lock = asyncio.Lock()
        on_swap(initial)

    async def reload(self) -> ReloadOutcome:
        """Raises PolicyError when the bundle on disk is broken; the old one stays."""
        async with self._lock:
            previous = self.current
            try:
                # Loading takes a while; a thread keeps the event loop answering meanwhile.
                candidate = await asyncio.to_thread(prepare, self.path)
            except PolicyError:
                raise
            except Exception as error:  # an unreadable tree must not take the server down
                logger.exception("policy reload failed")
                message = f"cannot load `{self.path}`: {error}"
                raise PolicyError([Diagnostic("E0002", message, NO_SPAN)]) from error
            if candidate.hash == previous.hash:
                return ReloadOutcome(False, previous.hash, previous)
            self.current = candidate  # the atomic swap
            self._on_swap(candidate)
            logger.info("policies reloaded: %s -> %s", previous.hash[:12], candidate.hash[:12])
            return ReloadOutcome(True, previous.hash, candidate)


async def watch_policies(service: PolicyService, debounce_ms: int, on_result: Callable[[str], None]
                         ) -> None:
    """Reload whenever a file under the policy directory changes (the `--watch` option)."""
    from watchfiles import awatch

    async for _changes in awatch(service.path, debounce=debounce_ms, recursive=True):
        try:
            outcome = await service.reload()
        except PolicyError as error:
            on_result("rejected")
            logger.error(
                "policy change rejected, still serving the previous bundle:\n%s",
                "\n".join(f"{d.code} {d.span}: {d.message}" for d in error.diagnostics),
            )
            continue
        on_result("swapped" if outcome.swapped else "unchanged")


def write_reload_stamp(stamp: Path, bundle_hash: str) -> None:
    """Record the bundle this worker now serves, for the other workers (atomic replace)."""
    temporary = stamp.with_name(f"{stamp.name}.{os.getpid()}")
    temporary.write_text(bundle_hash + "\n", encoding="utf-8")
    os.replace(temporary, stamp)


async def follow_reloads(
    service: PolicyService, stamp: Path, poll_ms: int, on_result: Callable[[str], None]
) -> None:
    """With several workers (`lexgate serve --workers N`): a reload in any worker (the admin
    route or --watch) writes the new bundle hash to `stamp`; every other worker sees it within
    `poll_ms` and reloads the same directory. A worker that cannot load it keeps its bundle and
    says so in the log at ERROR, naming both hashes (and tries again when the stamp changes)."""
    attempted = None
    while True:
        await asyncio.sleep(poll_ms / 1000)
        try:
            wanted = stamp.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if not wanted or wanted == service.current.hash or wanted == attempted:
            continue
        attempted = wanted
        try:
            outcome = await service.reload()
        except PolicyError as error:
            on_result("rejected")
            logger.error(
                "another worker serves bundle %s; this worker (pid %d) cannot load the policies "
                "and still serves %s:\n%s", wanted[:12], os.getpid(), service.current.hash[:12],
                "\n".join(f"{d.code} {d.span}: {d.message}" for d in error.diagnostics),
            )
            continue
        on_result("swapped" if outcome.swapped else "unchanged")
