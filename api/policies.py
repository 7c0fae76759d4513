"""The bundle being served and its hot reload.

A reload parses, checks and compiles the new bundle and runs its examples before it is
swapped in with one reference assignment, so a request sees either the old bundle or the new
one, never a mix; a broken bundle is rejected with its diagnostics and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
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
