"""`lexgate retention RECORDS --as-of DATE`: which customer records must be deleted or
anonymised on a date, and why (the limit, its citation, the due date), column-wise over the
whole table. Arrow and numpy load inside the command, so other subcommands start as before."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .common import EXIT_USAGE, PoliciesOption, err, fail, load, out, parse_as_of

WRITERS = (".csv", ".parquet", ".json", ".jsonl")


def retention(
    records: Annotated[
        Path,
        typer.Argument(
            help="Customer-record metadata as CSV or Parquet: id, categories, purposes, the "
            "dates and flags of `customer_record` (policies/retention/records.policy)."
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The date to judge on (YYYY-MM-DD); default today."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the records to act on: .csv, .parquet, .json, .jsonl."
        ),
    ] = None,
    every: Annotated[
        bool,
        typer.Option(
            "--all", help="Write every record, the ones kept too (with the next due date)."
        ),
    ] = False,
    policies: PoliciesOption = Path("policies"),
) -> None:
    """Which records must be deleted or anonymised today, and why."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..retention import RecordTableError, encode_records, evaluate_table, read_records
    from ..retention.table import missing_columns

    day = parse_as_of(as_of) or dt.date.today()
    if output is not None and output.suffix.lower() not in WRITERS:
        fail(EXIT_USAGE, f"--output: `{output}` must end in {', '.join(WRITERS)}")
    bundle = load(policies)
    limits = bundle.checked.retention
    if not limits:
        fail(EXIT_USAGE, f"`{policies}` declares no `retention` limits")
    started = time.perf_counter()
    try:
        table = read_records(records)
        absent = missing_columns(table, bundle.checked.vocabulary)
        result = evaluate_table(limits, encode_records(table, bundle.checked.vocabulary), day)
    except RecordTableError as error:
        fail(EXIT_USAGE, str(error))
    seconds = time.perf_counter() - started
    if absent:
        err.print(f"warning: no column {', '.join(absent)}: unknown for every record")
    if not every:
        result = result.filter(pc.not_equal(result["status"].cast(pa.string()), "keep"))
    if output is not None:
        _write(result, output)
    counts = pc.value_counts(result["status"].cast(pa.string())).to_pylist()
    summary = Table(title=f"{table.num_rows:,} records on {day.isoformat()} ({seconds:.2f} s)")
    summary.add_column("status")
    summary.add_column("records", justify="right")
    for entry in sorted(counts, key=lambda c: str(c["values"])):
        summary.add_row(str(entry["values"]), f"{entry['counts']:,}")
    out.print(summary)
    if output is not None:
        out.print(f"wrote {result.num_rows:,} records to {output}")


def _write(result: object, output: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    assert isinstance(result, pa.Table)
    plain = pa.table(
        {name: result[name].cast(_plain(result[name].type)) for name in result.column_names}
    )
    suffix = output.suffix.lower()
    try:
        if suffix == ".parquet":
            pq.write_table(result, output)
        elif suffix == ".csv":
            pacsv.write_csv(plain, output)
        else:
            import orjson

            rows = plain.to_pylist()
            with output.open("wb") as handle:
                if suffix == ".json":
                    handle.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
                else:
                    for row in rows:
                        handle.write(orjson.dumps(row) + b"\n")
    except OSError as error:
        fail(EXIT_USAGE, f"cannot write `{output}`: {error}")


def _plain(kind: object) -> object:
    import pyarrow as pa

    return kind.value_type if isinstance(kind, pa.DictionaryType) else kind
