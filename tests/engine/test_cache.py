"""The cache of checked bundles (engine/cache.py): used when the texts and the engine are the
same, never when either changed, and a corrupt entry is rebuilt rather than trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
from lexgate.engine import cache as engine_cache
from lexgate.engine import load_sources

SOURCES = {
    "common/v.policy": 'fact a: bool "a"\n',
    "x/r.policy": (
        'regime X "x" cite "X"\n in force from 2018-01-01\n currency EUR\n'
        ' applies when true cite "s"\n'
        'rule r "r" cite "R"\n violation when a\n'
    ),
}


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("LEXGATE_CACHE_DIR", str(directory))
    monkeypatch.delenv("LEXGATE_NO_CACHE", raising=False)
    return directory


def test_a_checked_bundle_is_cached_and_reused(cache_dir: Path) -> None:
    first = load_sources(SOURCES)
    entries = list(cache_dir.glob("bundle-*.pickle"))
    assert len(entries) == 1
    assert oct(cache_dir.stat().st_mode & 0o777) == "0o700"
    assert oct(entries[0].stat().st_mode & 0o777) == "0o600"
    again = load_sources(SOURCES)
    assert again.hash == first.hash
    assert again.decide({"a": True}).regimes["X"].status == "denied"


def test_an_edited_policy_gets_a_new_entry(cache_dir: Path) -> None:
    load_sources(SOURCES)
    edited = {**SOURCES, "x/r.policy": SOURCES["x/r.policy"].replace("when a", "when not a")}
    assert load_sources(edited).decide({"a": True}).regimes["X"].status == "allowed"
    assert len(list(cache_dir.glob("bundle-*.pickle"))) == 2


def test_a_corrupt_entry_is_rebuilt_not_trusted(cache_dir: Path) -> None:
    load_sources(SOURCES)
    (entry,) = cache_dir.glob("bundle-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert load_sources(SOURCES).decide({"a": True}).regimes["X"].status == "denied"


def test_a_cache_others_can_write_is_not_used(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o777)
    cache_dir.chmod(0o777)
    assert engine_cache.cache_dir() is None
    load_sources(SOURCES)
    assert not list(cache_dir.glob("bundle-*.pickle"))
