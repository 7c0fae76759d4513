"""Retention benchmark (issue 15). Generates a table of customer-record metadata (a tenth of the
cells left empty: unknown), writes it as CSV and Parquet, and prints, in one run:

1. `lexgate retention` on the CSV, end to end in a subprocess (start, load the bundle, read,
   evaluate, write the records to act on as Parquet): wall time;
2. in-process: read + encode + evaluate of the Parquet and the CSV table, records/s;
3. the scalar evaluator (engine/retention/scalar.py) in a loop on a sample, scaled to the table.

Figures are single-run wall times on this machine (shared with other work: noisy). Run:
    .venv/bin/python bench/retention_bench.py [--rows N] [--policies DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from lexgate.engine import load_bundle
from lexgate.engine.retention import encode_records, evaluate_record, evaluate_table, read_records

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 30)
CATEGORIES = [
    "contact",
    "online_identifiers",
    "inferences",
    "commercial",
    "identifiers",
    "financial_account",
    "communications_content",
    "health",
]
PURPOSES = [
    "marketing",
    "direct_marketing",
    "profiling",
    "analytics",
    "service_delivery",
    "security",
]


def _sets(rng: np.random.Generator, names: list[str], n: int) -> pa.Array:
    picks = rng.random((n, len(names))) < 0.3
    joined = np.array([";".join(np.array(names)[row]) or "none" for row in picks[:4096]])
    text = joined[rng.integers(0, len(joined), n)]  # reuse 4,096 distinct sets: fast to build
    return pa.array(text, mask=rng.random(n) < 0.1)


def _dates(rng: np.random.Generator, n: int) -> pa.Array:
    days = rng.integers(
        (dt.date(2012, 1, 1) - dt.date(1970, 1, 1)).days, (AS_OF - dt.date(1970, 1, 1)).days, n
    ).astype(np.int32)
    return pa.array(days, pa.int32(), mask=rng.random(n) < 0.1).cast(pa.date32())


def _flags(rng: np.random.Generator, n: int, share: float) -> pa.Array:
    return pa.array(rng.random(n) < share, mask=rng.random(n) < 0.1)


def generate(n: int, seed: int = 15) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "id": pa.array(np.arange(1, n + 1)),
            "categories": _sets(rng, CATEGORIES, n),
            "purposes": _sets(rng, PURPOSES, n),
            "collected": _dates(rng, n),
            "last_interaction": _dates(rng, n),
            "contract_ended": _flags(rng, n, 0.3),
            "contract_end": _dates(rng, n),
            "consent_withdrawn": _flags(rng, n, 0.1),
            "consent_withdrawn_on": _dates(rng, n),
            "legal_hold": _flags(rng, n, 0.02),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--sample", type=int, default=20_000)
    args = parser.parse_args()
    bundle = load_bundle(args.policies)
    limits, vocabulary = bundle.checked.retention, bundle.checked.vocabulary
    table = generate(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        csv_path, parquet_path = Path(folder, "records.csv"), Path(folder, "records.parquet")
        pacsv.write_csv(table, csv_path)
        pq.write_table(table, parquet_path)
        out = Path(folder, "act.parquet")
        command = [
            sys.executable,
            "-m",
            "lexgate.engine",
            "retention",
            str(csv_path),
            "--as-of",
            AS_OF.isoformat(),
            "-o",
            str(out),
            "-p",
            str(args.policies),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        cli = time.perf_counter() - started
        acted = pq.read_metadata(out).num_rows
        print(
            f"lexgate retention, {args.rows:,} records (CSV, end to end): {cli:.2f} s; "
            f"{acted:,} records to act on or undetermined"
        )
        for label, path in (("Parquet", parquet_path), ("CSV", csv_path)):
            started = time.perf_counter()
            result = evaluate_table(limits, encode_records(read_records(path), vocabulary), AS_OF)
            seconds = time.perf_counter() - started
            print(
                f"in-process, {label}: read + encode + evaluate {seconds:.2f} s "
                f"({args.rows / seconds:,.0f} records/s)"
            )
    rows = table.slice(0, args.sample).to_pylist()
    for row in rows:
        for key in ("categories", "purposes"):
            if row[key] is not None:
                row[key] = frozenset(m for m in row[key].split(";") if m != "none")
    started = time.perf_counter()
    verdicts = [evaluate_record(limits, row, AS_OF) for row in rows]
    scalar = (time.perf_counter() - started) / len(rows) * args.rows
    vector = result.slice(0, len(rows)).to_pylist()
    same = sum(
        (v.status.value, v.limit, v.due, ";".join(v.missing) or None)
        == (r["status"], r["limit"], r["due"], r["missing"])
        for v, r in zip(verdicts, vector, strict=True)
    )
    print(f"the column-wise result agrees with the scalar one on {same:,} of {len(rows):,} records")
    print(
        f"scalar evaluator, {len(rows):,} records in a loop, scaled to {args.rows:,}: "
        f"{scalar:.1f} s (vectorised in-process is {scalar / seconds:.0f}x faster)"
    )
    statuses = result["status"].cast(pa.string()).value_counts().to_pylist()
    print("statuses:", {entry["values"]: entry["counts"] for entry in statuses})


if __name__ == "__main__":
    main()
