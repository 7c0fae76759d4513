"""`lexgate retention` end to end, and the checker's errors on retention limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lexgate.engine import load_bundle
from lexgate.engine.cli import app
from lexgate.engine.diagnostics import PolicyError
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
HEADER = "id,categories,purposes,last_interaction,contract_ended,contract_end,consent_withdrawn,"
RECORDS = (
    HEADER
    + """consent_withdrawn_on,legal_hold
a1,contact;online_identifiers,marketing,2022-01-10,no,,no,,no
a2,contact,marketing,2025-06-01,no,,yes,2026-10-01,no
a3,contact,marketing,,no,,no,,no
a4,commercial,service_delivery,,yes,2015-01-31,,,yes
a5,commercial,service_delivery,2020-01-01,yes,2015-01-31,,,
a6,none,marketing,2020-01-01,no,,,,no
"""
)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    path = tmp_path / "records.csv"
    path.write_text(RECORDS)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["retention", *args, "-p", str(ROOT / "policies")])
    return result.exit_code, result.output


def test_writes_the_records_to_act_on_with_reasons(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "act.json"
    code, text = _run(str(records), "--as-of", "2026-11-30", "-o", str(out))
    assert code == 0, text
    rows = {row["id"]: row for row in json.loads(out.read_text())}
    assert set(rows) == {"a1", "a2", "a3", "a4", "a5"}  # a6 is kept: no categories
    assert rows["a1"]["status"] == "delete" and rows["a1"]["limit"] == "marketing_contacts"
    assert rows["a1"]["due"] == "2024-01-10"
    assert "Art. 5(1)(e)" in rows["a1"]["cite"]
    assert rows["a2"]["limit"] == "withdrawn_consent" and rows["a2"]["due"] == "2026-10-31"
    assert rows["a3"]["status"] == "undetermined" and rows["a3"]["missing"] == "last_interaction"
    assert rows["a4"]["status"] == "held" and rows["a4"]["action"] == "anonymise"
    assert rows["a5"]["status"] == "undetermined" and rows["a5"]["missing"] == "legal_hold"


def test_a_day_earlier_the_withdrawal_limit_has_not_run(records: Path, tmp_path: Path) -> None:
    out = tmp_path / "act.parquet"
    code, _ = _run(str(records), "--as-of", "2026-10-30", "-o", str(out), "--all")
    assert code == 0
    rows = {row["id"]: row for row in pq.read_table(out).to_pylist()}
    assert len(rows) == 6
    assert rows["a2"]["status"] == "keep"
    assert str(rows["a2"]["due"]) == "2026-10-31"  # the next due date of a kept record


def test_csv_output_and_parquet_input_round_trip(records: Path, tmp_path: Path) -> None:
    csv_out = tmp_path / "act.csv"
    assert _run(str(records), "--as-of", "2026-11-30", "-o", str(csv_out))[0] == 0
    assert csv_out.read_text().splitlines()[0].startswith('"id","status","action"')


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("contact;wine", "`wine` is not a member of `data_category`"),
        ("contact", None),
    ],
)
def test_bad_cells_are_usage_errors_naming_column_and_row(
    tmp_path: Path, cell: str, message: str | None
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        f"id,categories,purposes,last_interaction\n1,contact,marketing,2020-01-01\n2,{cell},marketing,2020-13-01\n"
    )
    code, text = _run(str(path), "--as-of", "2026-11-30")
    assert code == 2
    if message:
        assert message in text and "row 2" in text
    else:
        assert "column `last_interaction`, row 2" in text and "not a date" in text


def test_unknown_output_suffix_and_as_of(records: Path) -> None:
    assert _run(str(records), "-o", "x.xlsx")[0] == 2
    assert _run(str(records), "--as-of", "30/11/2026")[0] == 2


LIMIT = """
retention marketing_contacts "t"
  of {categories} for marketing
  keep {keep} after {anchor} then {action}
  {cite}
"""


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"categories": "contacts"}, "E0103", "`contacts` is not a member of `data_category`"),
        ({"anchor": "last_interactoin"}, "E0102", "did you mean `last_interaction`"),
        ({"anchor": "legal_hold"}, "E0201", "must be a date field"),
        ({"action": "shred"}, "E0203", "`shred` is not a retention action"),
        ({"keep": "72 hours"}, "E0203", "a retention period is a whole number"),
        ({"cite": ""}, "E0310", "retention limit `marketing_contacts` has no citation"),
    ],
)
def test_checker_errors(tmp_path: Path, change: dict[str, str], code: str, text: str) -> None:
    bundle = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", bundle)
    values = {
        "categories": "contact",
        "keep": "24 months",
        "anchor": "last_interaction",
        "action": "delete",
        "cite": 'cite "internal policy"',
        **change,
    }
    (bundle / "retention" / "schedule.policy").write_text(LIMIT.format(**values))
    with pytest.raises(PolicyError) as raised:
        load_bundle(bundle)
    found = [d for d in raised.value.diagnostics if d.code == code]
    assert found, raised.value.diagnostics
    assert text in found[0].message + (found[0].help or "")
    assert found[0].span.line >= 2  # located in the file
