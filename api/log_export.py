"""`lexgate log export` and `lexgate log report`: the audit trail, filtered, out of the log.

Both read one consistent, read-only snapshot (a log written by older servers too: the filters
are applied as the log is scanned), and both carry the verification of the chain segment they
cover, computed on the same snapshot: the hash chain from the first entry through the last
exported one, and whether a signed checkpoint covers it.

Formats: JSON Lines (one canonical entry a line, as `GET /v1/decisions/{id}` gives it, then one
last line `{"verification": …}`), CSV (the entry's fields, operation and decision as canonical
JSON text, so each entry hash can be recomputed; the verification beside it in
`OUT.verification.json`) and Parquet (the same columns; the verification in the file's
metadata under `lexgate.verification`).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from .cli_support import err, out, verified
from .decision_log.chain import canonical_json
from .decision_log.query import LogFilter, QueryError, log_time, scan
from .decision_log.terms import summary_of

FORMATS = (".jsonl", ".csv", ".parquet")
COLUMNS = ("seq", "decision_id", "time", "bundle_hash", "status", "prev_hash", "entry_hash")
VERIFICATION_KEY = b"lexgate.verification"
BATCH = 2000


def _moment(text: str | None, option: str) -> str | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"`{text}` is not an ISO date or time", param_hint=option
        ) from None
    return log_time(moment)


def log_filter(
    since: str | None,
    until: str | None,
    status: str | None,
    regime: str | None,
    rule: str | None,
    profile: str | None,
    bundle: str | None,
) -> LogFilter:
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start and end and end <= start:
        raise typer.BadParameter("must be later than --since", param_hint="--until")
    try:
        return LogFilter(
            since=start,
            until=end,
            status=status,
            regime=regime,
            rule=rule,
            profile=profile,
            bundle_hash=bundle,
        )
    except QueryError as error:
        raise typer.BadParameter(error.message, param_hint=f"--{error.parameter}") from None


def segment(result: Any, first: int | None, last: int | None) -> dict[str, Any]:
    """The verification of entries 1..last (the chain the export's entries hang from)."""
    intact = result.ok or (last is not None and (result.first_bad_seq or 0) > last)
    signed = (
        result.last_checkpoint is not None and last is not None and result.last_checkpoint >= last
    )
    return {
        "first_seq": first,
        "last_seq": last,
        "chain_intact_through_last": bool(intact) if last is not None else result.ok,
        "signed_checkpoint_covers_last": signed,
        "checkpoint_key_trusted": result.anchored,
        "log": {
            "ok": result.ok,
            "entries_checked": result.entries_checked,
            "first_bad_seq": result.first_bad_seq,
            "fault": str(result.fault) if result.fault else None,
            "reason": result.reason,
            "last_checkpoint": result.last_checkpoint,
        },
    }


def _row(entry: Any, raw: Any) -> dict[str, Any]:
    operation, decision = bytes(raw[4]).decode("utf-8"), bytes(raw[5]).decode("utf-8")
    return {
        "seq": entry.seq,
        "decision_id": entry.decision_id,
        "time": entry.time,
        "bundle_hash": entry.bundle_hash,
        "status": entry.decision.get("status"),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "operation": operation,
        "decision": decision,
    }


@dataclass(slots=True)
class Covered:
    """The first and last seq of what an export or report covers (entries come in log order)."""

    first: int | None = None
    last: int | None = None

    def add(self, seq: int) -> None:
        self.first = seq if self.first is None else self.first
        self.last = seq


def _batches(found: Iterator[tuple[Any, Any]], seen: Covered) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for entry, raw in found:
        seen.add(entry.seq)
        batch.append(_row(entry, raw))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def write_export(
    snapshot: Any, result: Any, where: LogFilter, output: Path | None
) -> dict[str, Any]:
    """Write the entries `where` selects; returns the export's header (filters, verification)."""
    seen = Covered()
    suffix = ".jsonl" if output is None else output.suffix.lower()
    batches = _batches(scan(snapshot, where), seen)
    count = 0
    if suffix == ".jsonl":
        stream: IO[str] = sys.stdout if output is None else output.open("w", encoding="utf-8")
        try:
            for batch in batches:
                for row in batch:  # the canonical form GET /v1/decisions/{id} has
                    entry = {
                        **row,
                        "operation": json.loads(row["operation"]),
                        "decision": json.loads(row["decision"]),
                    }
                    del entry["status"]
                    stream.write(canonical_json(entry) + "\n")
                count += len(batch)
            header = _header(where, result, seen, count)
            stream.write(json.dumps({"verification": header}, sort_keys=True) + "\n")
        finally:
            if output is not None:
                stream.close()
        return header
    import pyarrow as pa

    schema = pa.schema(
        [
            (name, pa.int64() if name == "seq" else pa.string())
            for name in (*COLUMNS, "operation", "decision")
        ]
    )
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(output, schema) as writer:
            for batch in batches:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
            header = _header(where, result, seen, count)
            writer.add_key_value_metadata({VERIFICATION_KEY: json.dumps(header).encode()})
        return header
    import pyarrow.csv as pacsv

    assert output is not None
    with pacsv.CSVWriter(output, schema) as writer:
        for batch in batches:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    header = _header(where, result, seen, count)
    Path(f"{output}.verification.json").write_text(json.dumps(header, indent=2) + "\n")
    return header


def _header(where: LogFilter, result: Any, seen: Covered, count: int) -> dict[str, Any]:
    first, last = seen.first, seen.last
    filters = {name: getattr(where, name) for name in where.__slots__ if getattr(where, name)}
    return {"entries": count, "filters": filters, **segment(result, first, last)}


def read_export(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """An export read back: (entries with operation and decision parsed, the verification)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return lines[:-1], lines[-1]["verification"]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        header = json.loads((pq.read_metadata(path).metadata or {})[VERIFICATION_KEY])
    else:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        text = {name: pa.string() for name in (*COLUMNS, "operation", "decision")}
        table = pacsv.read_csv(
            path, convert_options=pacsv.ConvertOptions(column_types={**text, "seq": pa.int64()})
        )
        header = json.loads(Path(f"{path}.verification.json").read_text())
    rows = []
    for row in table.to_pylist():
        row.pop("status")
        rows.append(
            {
                **row,
                "operation": json.loads(row["operation"]),
                "decision": json.loads(row["decision"]),
            }
        )
    return rows, header


# ---- the commands ---------------------------------------------------------------------------

Since = Annotated[
    str | None, typer.Option("--since", help="From this date or time (ISO 8601, UTC if no zone).")
]
Until = Annotated[str | None, typer.Option("--until", help="Before this date or time (exclusive).")]
StatusOpt = Annotated[
    str | None, typer.Option("--status", help="Overall status, or the regime's with --regime.")
]
RegimeOpt = Annotated[
    str | None, typer.Option("--regime", help="Decisions this regime applied to (e.g. GDPR).")
]
RuleOpt = Annotated[str | None, typer.Option("--rule", help="Decisions violating this rule.")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", help="Decisions made with this profile.")
]
BundleOpt = Annotated[str | None, typer.Option("--bundle", help="Decisions of this bundle hash.")]


def _verified_snapshot(log: str | None, public_key: str | None, signing_key: Path | None) -> Any:
    return verified(log, public_key, signing_key)  # as `log verify` reads it


def log_export(
    log: Annotated[
        str | None, typer.Option("--log", help="The decision log (as `lexgate serve --log`).")
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="File (.jsonl, .csv, .parquet), or - for JSON Lines on stdout."
        ),
    ] = Path("-"),
    since: Since = None,
    until: Until = None,
    status: StatusOpt = None,
    regime: RegimeOpt = None,
    rule: RuleOpt = None,
    profile: ProfileOpt = None,
    bundle: BundleOpt = None,
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="The trusted checkpoint key (hex or key file)."),
    ] = None,
    signing_key: Annotated[
        Path | None, typer.Option("--signing-key", help="The log's signing key file.")
    ] = None,
) -> None:
    """Export entries (filtered) with the verification of the chain segment they cover."""
    where = log_filter(since, until, status, regime, rule, profile, bundle)
    target = None if str(output) == "-" else output
    if target is not None and target.suffix.lower() not in FORMATS:
        raise typer.BadParameter(
            f"`{output}` must end in {', '.join(FORMATS)}", param_hint="--output"
        )
    context, snapshot, result = _verified_snapshot(log, public_key, signing_key)
    try:
        header = write_export(snapshot, result, where, target)
    finally:
        context.__exit__(None, None, None)
    state = "intact" if header["chain_intact_through_last"] else "NOT intact"
    err.print(f"exported {header['entries']} entries; the chain through them is {state}")
    if not header["chain_intact_through_last"]:
        raise typer.Exit(1)


def log_report(
    log: Annotated[
        str | None, typer.Option("--log", help="The decision log (as `lexgate serve --log`).")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML report.")] = Path(
        "log-report.html"
    ),
    since: Since = None,
    until: Until = None,
    regime: RegimeOpt = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="The trusted checkpoint key.")
    ] = None,
    signing_key: Annotated[
        Path | None, typer.Option("--signing-key", help="The log's signing key file.")
    ] = None,
) -> None:
    """An HTML summary: decisions per status and regime, per day; the chain's verification."""
    from .log_report import render_report

    where = log_filter(since, until, None, regime, None, None, None)
    context, snapshot, result = _verified_snapshot(log, public_key, signing_key)
    try:
        seen = Covered()
        per_day: Counter[tuple[str, str]] = Counter()
        per_regime: Counter[tuple[str, str]] = Counter()
        rules: Counter[str] = Counter()
        for entry, raw in scan(snapshot, where):
            seen.add(entry.seq)
            summary = summary_of(bytes(raw[5]))
            per_day[(entry.time[:10], str(summary["status"]))] += 1
            for name, status in summary["regimes"].items():
                per_regime[(name, str(status))] += 1
            rules.update(summary["violations"])
    finally:
        context.__exit__(None, None, None)
    header = _header(where, result, seen, sum(per_day.values()))
    output.write_text(render_report(header, per_day, per_regime, rules), encoding="utf-8")
    out.print(f"wrote {output}: {header['entries']} decisions")
    if not header["chain_intact_through_last"]:  # the report says so too; a script must see it
        raise typer.Exit(1)
