"""The bundle being served and its hot reload.

A reload parses, checks and compiles the new bundle and runs its examples before it is
swapped in with one reference assignment, so a request sees either the old bundle or the new
one, never a mix; a broken bundle is rejected with its diagnostics and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lexgate.engine import Bundle, PolicyError, load_bundle, run_examples
from lexgate.engine.bundle import DEFAULT_CURRENCY
from lexgate.engine.diagnostics import NO_SPAN, Diagnostic

logger = logging.getLogger("lexgate.policies")
# A worker that could not load the bundle the others serve tries again this often.
RETRY_SECONDS = 5.0


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


def operation_json_schema(bundle: Bundle, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The operation schema the engine generates from the vocabulary (as strict as its
    validator: decimal strings with a pattern, ranges on numbers and percentages)."""
    return bundle.schema.model.model_json_schema(ref_template=ref_template)


def prepare(path: Path) -> LoadedBundle:
    """Load and fully validate a bundle; raises PolicyError (with diagnostics) if it is broken."""
    bundle = load_bundle(path)
    report = run_examples(bundle)
    failed = [r for r in report.results if not r.passed]
    if failed:
        raise PolicyError(
            [
                Diagnostic(
                    "E0501",
                    f"example `{result.description}` of {result.regime} fails: "
                    + "; ".join(result.failures),
                    result.span,
                )
                for result in failed
            ]
        )
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

    async def reload(self, source: Path | None = None, expect: str | None = None) -> ReloadOutcome:
        """Load the policy directory (or `source`, a published snapshot; `expect`: the hash it
        must have) and swap it in. Raises PolicyError when the bundle is broken; the old one
        stays. An unchanged bundle is published again (`on_swap`), so that a worker that
        could not follow the last reload is asked again."""
        async with self._lock:
            previous = self.current
            try:
                # Loading takes a while; a thread keeps the event loop answering meanwhile.
                candidate = await asyncio.to_thread(prepare, source or self.path)
                if expect is not None and candidate.hash != expect:
                    raise PolicyError(
                        [
                            Diagnostic(
                                "E0002",
                                f"the snapshot `{source}` hashes to {candidate.hash[:12]}, "
                                f"not {expect[:12]}",
                                NO_SPAN,
                            )
                        ]
                    )
            except PolicyError:
                raise
            except Exception as error:  # an unreadable tree must not take the server down
                logger.exception("policy reload failed")
                message = f"cannot load `{self.path}`: {error}"
                raise PolicyError([Diagnostic("E0002", message, NO_SPAN)]) from error
            if candidate.hash == previous.hash:
                self._on_swap(previous)
                return ReloadOutcome(False, previous.hash, previous)
            self.current = candidate  # the atomic swap
            self._on_swap(candidate)
            logger.info("policies reloaded: %s -> %s", previous.hash[:12], candidate.hash[:12])
            return ReloadOutcome(True, previous.hash, candidate)


async def watch_policies(
    service: PolicyService, debounce_ms: int, on_result: Callable[[str], None]
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


def snapshot_dir(stamp: Path, bundle_hash: str) -> Path:
    return stamp.parent / "bundles" / bundle_hash


def publish(stamp: Path, loaded: LoadedBundle, root: Path) -> None:
    """Make `loaded` the bundle every worker serves: copy its exact policy texts (as loaded, not
    as the directory holds them now) to a snapshot named by its hash, then point the stamp at
    it (atomic replace). Another worker loads the snapshot, so a file edited or broken right
    after this reload cannot make the workers disagree."""
    target = snapshot_dir(stamp, loaded.hash)
    if not target.exists():
        partial = target.with_name(f".{loaded.hash}.{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        base = root.resolve()
        for shown, text in loaded.bundle.checked.sources.items():
            file = Path(shown).resolve()
            relative = file.name if base.is_file() else file.relative_to(base)
            (partial / relative).parent.mkdir(parents=True, exist_ok=True)
            (partial / relative).write_text(text, encoding="utf-8")
        try:
            partial.rename(target)
        except OSError:  # another worker published the same bundle first
            shutil.rmtree(partial, ignore_errors=True)
    write_reload_stamp(stamp, loaded.hash)


def read_reload_stamp(stamp: Path) -> str | None:
    try:
        return stamp.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def write_reload_stamp(stamp: Path, bundle_hash: str) -> None:
    """Record the bundle this worker now serves, for the other workers (atomic replace)."""
    temporary = stamp.with_name(f"{stamp.name}.{os.getpid()}")
    temporary.write_text(bundle_hash + "\n", encoding="utf-8")
    os.replace(temporary, stamp)


async def follow_reloads(
    service: PolicyService, stamp: Path, poll_ms: int, on_result: Callable[[str], None]
) -> None:
    """With several workers (`lexgate serve --workers N`): a reload in any worker (the admin
    route or --watch) publishes the new bundle's snapshot and hash (`publish`); every other
    worker sees it within `poll_ms` and loads that same snapshot. A worker that cannot load it
    keeps its bundle, says so in the log at ERROR naming both hashes, tries again every
    RETRY_SECONDS, and meanwhile answers /readyz with 503 (api.routes.health)."""
    attempted, attempted_at = None, 0.0
    while True:
        await asyncio.sleep(poll_ms / 1000)
        wanted = read_reload_stamp(stamp)
        if not wanted or wanted == service.current.hash:
            continue
        if wanted == attempted and time.monotonic() - attempted_at < RETRY_SECONDS:
            continue
        attempted, attempted_at = wanted, time.monotonic()
        source = snapshot_dir(stamp, wanted)
        try:
            outcome = await service.reload(source if source.is_dir() else None, expect=wanted)
        except PolicyError as error:
            on_result("rejected")
            logger.error(
                "another worker serves bundle %s; this worker (pid %d) cannot load it and still "
                "serves %s:\n%s",
                wanted[:12],
                os.getpid(),
                service.current.hash[:12],
                "\n".join(f"{d.code} {d.span}: {d.message}" for d in error.diagnostics),
            )
            continue
        on_result("swapped" if outcome.swapped else "unchanged")
