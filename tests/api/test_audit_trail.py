"""The audit trail: `GET /v1/decisions` filtered and paged over a real log of 10,000 entries
(SQLite and PostgreSQL), `lexgate log export` round-tripping the same filters in three formats
with the verification of the chain segment it covers, `lexgate log report`, and the 4xx
answers to bad filters and cursors."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lexgate.api.app import create_app
from lexgate.api.decision_log import DecisionRecord, compute_entry_hash, open_decision_log
from lexgate.api.log_export import read_export
from lexgate.api.settings import Settings
from lexgate.api.testing import shipped_policies
from lexgate.engine.cli import app as cli
from typer.testing import CliRunner

from .conftest import Store

ENTRIES = 10_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BUNDLES = [hashlib.sha256(b"v1").hexdigest(), hashlib.sha256(b"v2").hexdigest()]
STATUSES = ["denied", "allowed", "undetermined", "allowed_with_obligations"]


def synthetic(i: int) -> dict[str, Any]:
    """Entry i's decision: a regular pattern, so what each filter selects can be counted."""
    gdpr = STATUSES[i % 4]
    pipl = "not_applicable" if i % 3 else STATUSES[(i // 3) % 4]
    overall = "denied" if "denied" in (gdpr, pipl) else gdpr
    regimes = {
        "GDPR": {
            "status": gdpr,
            "violations": [{"rule": "lawful_basis"}] if gdpr == "denied" else [],
        },
        "PIPL": {"status": pipl, "violations": [{"rule": "consent"}] if pipl == "denied" else []},
    }
    return {
        "status": overall,
        "regimes": regimes,
        "profile": {"id": "acme", "version": 1} if i % 5 == 0 else None,
    }


def moment(i: int) -> dt.datetime:
    return START + dt.timedelta(minutes=37 * i)  # ten thousand entries over ~257 days


def _fill(url: str) -> None:
    """10,000 entries through the log's own API: concurrent appends, group-committed."""

    async def fill() -> None:
        log = open_decision_log(url)
        try:
            for start in range(0, ENTRIES, 1000):
                await asyncio.gather(
                    *(
                        log.append_async(
                            DecisionRecord(
                                decision_id=f"d{i:05d}",
                                bundle_hash=BUNDLES[i % 2],
                                operation={"n": i},
                                decision=synthetic(i),
                                time=moment(i).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                            )
                        )
                        for i in range(start, min(start + 1000, ENTRIES))
                    )
                )
        finally:
            log.close()

    asyncio.run(fill())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, TestClient]]:
    if request.param == "sqlite":
        store = Store("sqlite", f"sqlite:///{tmp_path_factory.mktemp('trail') / 'log.db'}")
    else:
        server = request.getfixturevalue("postgres_server")
        store = Store("postgresql", server.create_database())
    _fill(store.url)
    application = create_app(Settings(policies=shipped_policies(), log_url=store.url))
    with TestClient(application, raise_server_exceptions=False) as client:
        key = application.state.lexgate.keys.create(["read_log"], "auditor")
        client.headers["Authorization"] = f"Bearer {key}"
        yield store, client


def _ids(indices: Any) -> list[str]:
    return [f"d{i:05d}" for i in indices]


def _all_pages(client: TestClient, query: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(ENTRIES):  # bounded: every page moves the cursor down
        url = f"/v1/decisions?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["decisions"]) <= limit
        ids += [d["decision_id"] for d in page["decisions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the cursor never reached the end")


def test_pages_through_denied_gdpr_decisions(trail: tuple[Store, TestClient]) -> None:
    _, client = trail
    expected = _ids(
        reversed(
            [i for i in range(ENTRIES) if synthetic(i)["regimes"]["GDPR"]["status"] == "denied"]
        )
    )
    found = _all_pages(client, "status=denied&regime=GDPR", 50)
    assert found == expected  # every one, newest first, none twice
    assert len(found) == ENTRIES // 4


@pytest.mark.parametrize(
    ("query", "select"),
    [
        ("status=denied", lambda i: synthetic(i)["status"] == "denied"),
        ("regime=PIPL", lambda i: synthetic(i)["regimes"]["PIPL"]["status"] != "not_applicable"),
        ("rule=consent", lambda i: synthetic(i)["regimes"]["PIPL"]["status"] == "denied"),
        ("regime=GDPR&rule=consent", lambda i: False),
        (
            "profile=acme&status=allowed",
            lambda i: i % 5 == 0 and synthetic(i)["status"] == "allowed",
        ),
        (
            f"bundle={BUNDLES[1]}&status=undetermined",
            lambda i: i % 2 == 1 and synthetic(i)["status"] == "undetermined",
        ),
        (
            "since=2026-03-01T00:00:00Z&until=2026-03-08T00:00:00Z",
            lambda i: (
                dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
                <= moment(i)
                < dt.datetime(2026, 3, 8, tzinfo=dt.UTC)
            ),
        ),
    ],
)
def test_each_filter_selects_what_it_says(
    trail: tuple[Store, TestClient], query: str, select: Any
) -> None:
    _, client = trail
    expected = _ids(reversed([i for i in range(ENTRIES) if select(i)]))
    assert _all_pages(client, query, 500) == expected


def test_a_page_is_stable_while_entries_are_appended(trail: tuple[Store, TestClient]) -> None:
    _, client = trail
    first = client.get("/v1/decisions?status=denied&limit=3").json()
    second = client.get(f"/v1/decisions?status=denied&limit=3&cursor={first['next_cursor']}").json()
    seqs = [d["seq"] for d in first["decisions"] + second["decisions"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 6
    summary = first["decisions"][0]
    assert summary["status"] == "denied" and "GDPR" in summary["regimes"]
    assert len(summary["entry_hash"]) == 64


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("limit=0", "query.limit"),
        ("limit=501", "query.limit"),
        ("status=maybe", "query.status"),
        ("regime=gdpr", "query.regime"),
        ("bundle=abc", "query.bundle"),
        ("cursor=bm90LWEtY3Vyc29y", "query.cursor"),
        ("cursor=0", "query.cursor"),
        ("cursor=" + "9" * 19, "query.cursor"),
        ("since=yesterday", "query.since"),
        ("stauts=denied", "stauts"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(
    trail: tuple[Store, TestClient], query: str, path: str
) -> None:
    _, client = trail
    response = client.get(f"/v1/decisions?{query}")
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["error"]["fields"]]


def test_listing_needs_the_read_log_scope(trail: tuple[Store, TestClient]) -> None:
    _, client = trail
    assert client.get("/v1/decisions", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_export_with_filters_round_trips(
    trail: tuple[Store, TestClient], tmp_path: Path, suffix: str
) -> None:
    store, client = trail
    out = tmp_path / f"denied{suffix}"
    args = ["log", "export", "--log", store.url, "--status", "denied", "--regime", "GDPR"]
    args += ["--since", "2026-02-01", "--until", "2026-06-01", "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    entries, verification = read_export(out)
    listed = _all_pages(
        client, "status=denied&regime=GDPR&since=2026-02-01T00:00:00&until=2026-06-01T00:00:00", 500
    )
    assert [e["decision_id"] for e in entries] == list(reversed(listed))
    assert entries, "the range holds entries"
    for entry in entries:  # the exported fields are the hashed ones: each hash recomputes
        assert compute_entry_hash(entry) == entry["entry_hash"]
    assert verification["entries"] == len(entries)
    assert verification["last_seq"] == entries[-1]["seq"]
    assert verification["chain_intact_through_last"] is True
    assert verification["filters"]["status"] == "denied"


def test_export_reports_a_tampered_segment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = open_decision_log(url)
    for i in range(20):
        time = moment(i).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        log.append(DecisionRecord(f"t{i}", BUNDLES[0], {"n": i}, synthetic(i), time))
    log.close()
    Store("sqlite", url).execute(
        "UPDATE decision_log SET operation = ? WHERE seq = 3", (b'{"n":99}',)
    )
    out = tmp_path / "all.jsonl"
    late = CliRunner().invoke(cli, ["log", "export", "--log", url, "-o", str(out)])
    assert late.exit_code == 1  # the segment holds the altered entry
    rows, verification = read_export(out)
    assert len(rows) == 20 and verification["log"]["first_bad_seq"] == 3
    assert verification["chain_intact_through_last"] is False
    # entries 1 and 2 hang from the intact part of the chain: an export of them says so
    early = tmp_path / "early.jsonl"
    until = moment(2).isoformat()
    result = CliRunner().invoke(
        cli, ["log", "export", "--log", url, "--until", until, "-o", str(early)]
    )
    assert result.exit_code == 0, result.output
    rows, verification = read_export(early)
    assert [r["seq"] for r in rows] == [1, 2]
    assert verification["chain_intact_through_last"] is True


def test_report_counts_per_status_and_regime(
    trail: tuple[Store, TestClient], tmp_path: Path
) -> None:
    store, _ = trail
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli,
        [
            "log",
            "report",
            "--log",
            store.url,
            "--since",
            "2026-01-01",
            "--until",
            "2026-01-08",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    week = [i for i in range(ENTRIES) if moment(i) < dt.datetime(2026, 1, 8, tzinfo=dt.UTC)]
    assert f"<p>{len(week)} decisions" in text
    denied = sum(1 for i in week if synthetic(i)["status"] == "denied")
    assert "all decisions denied: " not in text  # counts live in the tables, not prose
    assert f"<td>{denied}</td>" in text
    assert "<svg" in text and "intact" in text


def test_an_older_log_is_indexed_when_it_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    log = open_decision_log(url)
    for i in range(12):
        log.append(DecisionRecord(f"o{i}", BUNDLES[0], {"n": i}, synthetic(i)))
    log.close()
    store = Store("sqlite", url)
    store.execute("DELETE FROM decision_log_terms")  # as if written before the index existed
    store.execute("UPDATE decision_log_terms_head SET seq = 0")
    application = create_app(Settings(policies=shipped_policies(), log_url=url))
    with TestClient(application) as client:
        key = application.state.lexgate.keys.create(["read_log"], "auditor")
        page = client.get("/v1/decisions?status=denied", headers={"Authorization": f"Bearer {key}"})
    assert [d["decision_id"] for d in page.json()["decisions"]] == [
        f"o{i}" for i in reversed(range(12)) if synthetic(i)["status"] == "denied"
    ]


def test_terms_of_a_real_decision_as_the_api_logs_it() -> None:
    from lexgate.api.decision_log import Canonical, canonical_bytes
    from lexgate.api.decision_log.terms import terms_of
    from lexgate.engine import load_bundle

    decision = load_bundle(shipped_policies()).decide(
        {"legal_basis": "none", "controller": {"establishments": ["DE"]}, "purposes": ["marketing"]}
    )
    as_dict = decision.to_dict()
    encoded = Canonical(canonical_bytes(as_dict, floats=False))
    assert terms_of(encoded) == terms_of(as_dict) == terms_of(bytes(encoded))
    found = set(terms_of(encoded))
    assert {"decision", "status=denied", "regime=GDPR", "regime=GDPR:status=denied"} <= found
    assert {"rule=lawful_basis", "rule=GDPR:lawful_basis"} <= found
    assert terms_of({"kind": "profile", "id": "acme", "version": 1}) == ()  # profile entries


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--status", "maybe"], "--status"),
        (["--regime", "gdpr"], "--regime"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--until"),
        (["--since", "yesterday"], "--since"),
        (["-o", "out.xlsx"], "--output"),
    ],
)
def test_export_refuses_bad_filters(tmp_path: Path, args: list[str], text: str) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    open_decision_log(url).close()
    result = CliRunner().invoke(cli, ["log", "export", "--log", url, *args])
    assert result.exit_code == 2
    assert text in result.output


def test_export_of_a_missing_log_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["log", "export", "--log", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no decision log" in result.output


def test_the_index_and_the_scan_select_the_same_entries(trail: tuple[Store, TestClient]) -> None:
    """The listing (the search index, SQL) and the export (a scan in Python) agree on any
    combination of filters."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from lexgate.api.decision_log.query import LogFilter, log_time, scan
    from lexgate.api.decision_log.verify import read_only

    store, client = trail
    days = st.integers(0, 260).map(lambda d: START + dt.timedelta(days=d))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        status=st.sampled_from([None, *STATUSES, "not_applicable"]),
        regime=st.sampled_from([None, "GDPR", "PIPL", "CCPA"]),
        rule=st.sampled_from([None, "lawful_basis", "consent"]),
        profile=st.sampled_from([None, "acme"]),
        bundle=st.sampled_from([None, *BUNDLES]),
        since=st.none() | days,
        span=st.integers(1, 120),
    )
    def check(status, regime, rule, profile, bundle, since, span) -> None:  # type: ignore[no-untyped-def]
        until = since + dt.timedelta(days=span) if since else None
        query = "&".join(
            f"{name}={value}"
            for name, value in [
                ("status", status), ("regime", regime), ("rule", rule), ("profile", profile),
                ("bundle", bundle), ("since", since and since.isoformat().replace("+00:00", "Z")),
                ("until", until and until.isoformat().replace("+00:00", "Z")),
            ]
            if value
        )  # fmt: skip
        listed = _all_pages(client, query, 500)
        where = LogFilter(
            since=log_time(since) if since else None,
            until=log_time(until) if until else None,
            status=status, regime=regime, rule=rule, profile=profile, bundle_hash=bundle,
        )  # fmt: skip
        with read_only(store.url) as snapshot:
            scanned = [entry.decision_id for entry, _ in scan(snapshot, where)]
        assert listed == list(reversed(scanned))

    check()


@pytest.mark.parametrize(
    ("span", "unit", "label"),
    [(30, "day", "2026-01-31"), (430, "week", "2026-W01"), (1800, "month", "2026-01")],
)
def test_the_report_chart_keeps_a_few_dozen_bars(span: int, unit: str, label: str) -> None:
    from collections import Counter

    from lexgate.api.log_report import bucketed

    per_day: Counter[tuple[str, str]] = Counter()
    for day in range(span + 1):
        per_day[((dt.date(2026, 1, 1) + dt.timedelta(days=day)).isoformat(), "denied")] += 2
    found_unit, grouped = bucketed(per_day)
    assert found_unit == unit
    assert sum(grouped.values()) == sum(per_day.values())
    assert len(grouped) <= 62 and (label, "denied") in grouped


def test_report_of_a_tampered_log_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = open_decision_log(url)
    for i in range(5):
        log.append(DecisionRecord(f"t{i}", BUNDLES[0], {"n": i}, synthetic(i)))
    log.close()
    Store("sqlite", url).execute("UPDATE decision_log SET time = ? WHERE seq = 2", ("2020-01-01",))
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["log", "report", "--log", url, "-o", str(out)])
    assert result.exit_code == 1
    assert "NOT intact" in out.read_text()


def test_an_entry_that_reaches_the_writer_without_its_terms_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer process (api/decision_log/writer.py) rebuilds each Pending from a few fields:
    the terms are found again from the decision's bytes when the entry is written."""
    from lexgate.api.decision_log import chain
    from lexgate.api.decision_log.query import LogFilter

    monkeypatch.setattr(chain, "terms_of", lambda decision: ())  # as a rebuilt Pending
    log = open_decision_log(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        for i in range(8):
            log.append(DecisionRecord(f"w{i}", BUNDLES[0], {"n": i}, synthetic(i)))
        entries, _ = log.page(LogFilter(status="denied"), None, 50)  # type: ignore[attr-defined]
    finally:
        log.close()
    expected = [f"w{i}" for i in reversed(range(8)) if synthetic(i)["status"] == "denied"]
    assert [e.decision_id for e in entries] == expected
