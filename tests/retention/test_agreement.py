"""The column-wise retention evaluation agrees with the scalar one, record by record, on
generated records with missing cells (hypothesis), through both table paths (JSON rows and CSV)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lexgate.engine import load_bundle
from lexgate.engine.retention import (
    encode_records,
    evaluate_record,
    evaluate_table,
    read_records,
    records_from_rows,
)
from lexgate.engine.retention.table import record_fields

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = load_bundle(ROOT / "policies")
LIMITS = BUNDLE.checked.retention
VOCABULARY = BUNDLE.checked.vocabulary
FIELDS = record_fields(VOCABULARY)
CATEGORIES = [
    "contact",
    "online_identifiers",
    "inferences",
    "commercial",
    "identifiers",
    "communications_content",
    "health",
]
PURPOSES = ["marketing", "direct_marketing", "profiling", "analytics", "service_delivery", "hr"]

# dates near the period boundaries matter most: month ends, leap days, the as-of date itself
dates = st.one_of(
    st.dates(dt.date(2010, 1, 1), dt.date(2027, 12, 31)),
    st.sampled_from(
        [
            dt.date(2024, 2, 29),
            dt.date(2016, 11, 30),
            dt.date(2024, 11, 30),
            dt.date(2025, 11, 30),
            dt.date(2026, 10, 31),
            dt.date(2014, 5, 31),
        ]
    ),
)
records = st.fixed_dictionaries(
    {
        "categories": st.none() | st.frozensets(st.sampled_from(CATEGORIES), max_size=3),
        "purposes": st.none() | st.frozensets(st.sampled_from(PURPOSES), max_size=3),
        "collected": st.none() | dates,
        "last_interaction": st.none() | dates,
        "contract_ended": st.none() | st.booleans(),
        "contract_end": st.none() | dates,
        "consent_withdrawn": st.none() | st.booleans(),
        "consent_withdrawn_on": st.none() | dates,
        "legal_hold": st.none() | st.booleans(),
    }
)
as_of_dates = st.sampled_from([dt.date(2026, 11, 30), dt.date(2024, 2, 29), dt.date(2025, 1, 1)])


def _scalar_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [
        {
            "status": row["status"],
            "limit": row["limit"],
            "due": row["due"],
            "missing": tuple(row["missing"].split(";")) if row["missing"] else (),
        }
        for row in table.to_pylist()
    ]


def _expected(rows: list[dict[str, Any]], as_of: dt.date) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        verdict = evaluate_record(LIMITS, row, as_of)
        out.append(
            {
                "status": verdict.status.value,
                "limit": verdict.limit,
                "due": verdict.due,
                "missing": verdict.missing,
            }
        )
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(records, min_size=1, max_size=40), as_of=as_of_dates)
def test_vectorised_agrees_with_scalar_on_json_rows(
    rows: list[dict[str, Any]], as_of: dt.date
) -> None:
    table = records_from_rows([{"id": i, **row} for i, row in enumerate(rows)], FIELDS)
    result = evaluate_table(LIMITS, encode_records(table, VOCABULARY), as_of)
    assert _scalar_rows(result) == _expected(rows, as_of)


def _csv_cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, frozenset):
        return ";".join(sorted(value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value.isoformat()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(records, min_size=1, max_size=40), as_of=as_of_dates)
def test_vectorised_agrees_with_scalar_through_csv(
    rows: list[dict[str, Any]], as_of: dt.date, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("csv") / "records.csv"
    columns = {"id": pa.array([str(i) for i in range(len(rows))])}
    for name in FIELDS:
        columns[name] = pa.array([_csv_cell(row[name]) for row in rows], pa.string())
    pacsv.write_csv(pa.table(columns), path)
    result = evaluate_table(LIMITS, encode_records(read_records(path), VOCABULARY), as_of)
    assert _scalar_rows(result) == _expected(rows, as_of)


def test_the_generated_cases_reach_every_status() -> None:
    """The property above is not vacuous: the generator's records reach each status."""
    found = set()
    for row in [
        {
            "categories": frozenset({"contact"}),
            "purposes": frozenset({"marketing"}),
            "last_interaction": dt.date(2020, 1, 1),
            "legal_hold": False,
        },
        {
            "categories": frozenset({"commercial"}),
            "purposes": frozenset({"service_delivery"}),
            "contract_ended": True,
            "contract_end": dt.date(2012, 1, 1),
            "legal_hold": False,
        },
        {
            "categories": frozenset({"contact"}),
            "purposes": frozenset({"marketing"}),
            "last_interaction": dt.date(2020, 1, 1),
            "legal_hold": True,
        },
        {"categories": frozenset({"contact"}), "purposes": None, "legal_hold": False},
        {"categories": frozenset({"health"}), "purposes": frozenset({"hr"})},
    ]:
        found.add(evaluate_record(LIMITS, row, dt.date(2026, 11, 30)).status.value)
    assert found == {"delete", "anonymise", "held", "undetermined", "keep"}
