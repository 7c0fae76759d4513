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


def test_a_truncated_entry_is_rebuilt(cache_dir: Path) -> None:
    load_sources(SOURCES)
    (entry,) = cache_dir.glob("bundle-*.pickle")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    assert engine_cache.load_checked(entry.name[len("bundle-") : -len(".pickle")]) is None
    assert load_sources(SOURCES).decide({"a": True}).regimes["X"].status == "denied"


def test_an_entry_that_is_not_a_checked_bundle_is_not_trusted(cache_dir: Path) -> None:
    load_sources(SOURCES)
    (entry,) = cache_dir.glob("bundle-*.pickle")
    key = entry.name[len("bundle-") : -len(".pickle")]
    entry.write_bytes(engine_cache.dumps({"regimes": "forged"}))
    assert engine_cache.load_checked(key) is None
    assert load_sources(SOURCES).decide({"a": False}).regimes["X"].status == "allowed"


def test_an_entry_of_an_older_layout_is_not_read(cache_dir: Path) -> None:
    """A plain pickle (the layout before FORMAT) or another format's header: rebuilt."""
    import pickle

    load_sources(SOURCES)
    (entry,) = cache_dir.glob("bundle-*.pickle")
    key = entry.name[len("bundle-") : -len(".pickle")]
    checked = engine_cache.load_checked(key)
    assert checked is not None
    entry.write_bytes(pickle.dumps(checked))
    assert engine_cache.load_checked(key) is None
    entry.write_bytes(b"lexgate-bundle-0\n" + pickle.dumps(checked))
    assert engine_cache.load_checked(key) is None


def test_a_changed_engine_never_meets_an_old_entry(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_sources(SOURCES)
    before = engine_cache.bundle_key(SOURCES)
    monkeypatch.setattr(engine_cache, "engine_fingerprint", lambda: "another engine")
    assert engine_cache.bundle_key(SOURCES) != before
    assert engine_cache.load_checked(engine_cache.bundle_key(SOURCES)) is None


def test_records_read_back_equal_the_checked_bundle(cache_dir: Path) -> None:
    """The compact record layout (class, field values) rebuilds every record exactly."""
    from lexgate.engine import load_bundle

    bundle = load_bundle(Path(__file__).parents[2] / "bench" / "gdpr_mini")
    again = engine_cache.loads(engine_cache.dumps(bundle.checked))
    assert again == bundle.checked


def test_only_the_newest_entries_are_kept(cache_dir: Path) -> None:
    import os

    cache_dir.mkdir(mode=0o700)
    for i in range(5):
        entry = cache_dir / f"bundle-{i}.pickle"
        entry.write_bytes(b"x")
        os.utime(entry, ns=(i * 10**9, i * 10**9))
    engine_cache.prune(cache_dir, "bundle", keep=2)
    assert sorted(p.name for p in cache_dir.glob("bundle-*.pickle")) == [
        "bundle-3.pickle",
        "bundle-4.pickle",
    ]


def test_a_warm_start_imports_neither_parser_nor_pydantic_nor_numpy(cache_dir: Path) -> None:
    """`import lexgate.engine` and loading a cached bundle stay light (bench/cold_start.py
    measures the time): Lark, pydantic, numpy and pandas load only when something needs them."""
    import subprocess
    import sys

    policies = Path(__file__).parents[2] / "bench" / "gdpr_mini"
    script = (
        "import sys, lexgate.engine as e; "
        f"e.load_bundle({str(policies)!r}); "
        "print(' '.join(m for m in ('lark', 'pydantic', 'numpy', 'pandas', 'dask') "
        "if m in sys.modules))"
    )
    loaded = "not run"
    for _ in range(3):  # the first run fills the cache (again, if the engine's files changed)
        run = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
        loaded = run.stdout.decode().strip()
        if not loaded:
            break
    assert loaded == ""


def test_an_edited_file_is_parsed_again_and_the_others_are_not(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lexgate.engine import parser

    load_sources(SOURCES)
    parsed: list[str] = []
    real = parser.parse_module

    def counting(text: str, file: str = "<policy>") -> object:
        parsed.append(file)
        return real(text, file)

    monkeypatch.setattr(parser, "parse_module", counting)
    edited = {**SOURCES, "x/r.policy": SOURCES["x/r.policy"].replace("when a", "when not a")}
    assert load_sources(edited).decide({"a": True}).regimes["X"].status == "allowed"
    assert parsed == ["x/r.policy"]


def test_a_corrupt_parsed_file_is_parsed_again(cache_dir: Path) -> None:
    load_sources(SOURCES)
    for entry in cache_dir.glob("*.pickle"):
        entry.write_bytes(engine_cache.dumps(("forged",)))
    assert load_sources(SOURCES).decide({"a": True}).regimes["X"].status == "denied"


def test_with_the_cache_off_nothing_is_hashed_or_written(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEXGATE_NO_CACHE", "1")

    def refuse() -> str:
        raise AssertionError("the engine's files were hashed with the cache off")

    monkeypatch.setattr(engine_cache, "engine_fingerprint", refuse)
    assert load_sources(SOURCES).decide({"a": True}).regimes["X"].status == "denied"
    assert not cache_dir.exists() or not list(cache_dir.iterdir())


def test_the_cli_starting_an_engine_command_imports_neither_lark_nor_the_service() -> None:
    """Every `lexgate` run imports the CLI: for `lexgate eval` (a cached bundle) neither the
    parser nor the decision service's modules are needed, and neither is imported."""
    import subprocess
    import sys

    script = (
        "import sys; sys.argv = ['lexgate', 'eval', '--help']\n"
        "import lexgate.engine.cli\n"
        "print(' '.join(m for m in ('lark', 'lexgate.api', 'numpy', 'pandas') "
        "if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    assert run.stdout.decode().strip() == ""
