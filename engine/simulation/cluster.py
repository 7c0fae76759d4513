"""Running a simulation partition by partition, in this process or on a Dask cluster.

The driver sends each task a small description of its rows (engine/simulation/partitions.py)
and the policy sources once (scattered to every worker); the workers build or read the rows,
evaluate them, write them to the output dataset and keep them. Three passes, each reduced where
the results are:

1. `evaluate` per partition (results stay on the worker; the progress bar follows these);
2. the partitions' summaries (counts, exact sums, bucketed histograms) merged on the driver;
3. for the quantiles, each partition's distinct values in the few buckets that hold the wanted
   ranks (summary.py), so the quantiles are exact.

Per-row results come back only when asked (`collect`, as `Bundle.simulate` does). Without a
cluster the same tasks run one after another here, so the answers are the same.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from .lookup import codes_of, currencies_of, facts_of
from .partitions import InMemory, Piece
from .summary import BASELINE, REFORM, Part, finish, merge, merge_values, wanted
from .tasks import (
    Settings,
    Sources,
    evaluate,
    part_of,
    remember,
    result_of,
    values_of,
)

if TYPE_CHECKING:  # Bundle.simulate imports the simulation
    from ..bundle import Bundle

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A run's answer: one summary per bundle, the merged partial summary (the plots' data),
    the per-row results when collected, and where the time went."""

    summaries: list[dict[str, Any]]
    merged: Part
    result: pd.DataFrame | None
    currencies: dict[str, str]
    codes: list[dict[str, list[dict[str, Any]]]]  # per bundle: the rule columns' lookup table
    facts: list[dict[str, list[str]]]  # per bundle: the fact of each bit of REGIME.missing
    timings: dict[str, float] = field(default_factory=dict)  # per stage, summed over tasks
    driver: dict[str, float] = field(default_factory=dict)  # wall time of each pass
    tasks: int = 0


def execute(
    bundles: Sequence[Bundle],
    pieces: Sequence[Piece],
    *,
    currency: str = "EUR",
    as_of: dt.date | None = None,
    output: str | None = None,
    result_format: str = "parquet",
    sweep_column: str | None = None,
    collect: bool = False,
    workers: int = 0,
    address: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Evaluate every piece with each bundle (a baseline and optionally a reform)."""
    advance = progress or (lambda _: None)
    if not pieces:  # nothing to evaluate: one empty partition gives the columns and a summary
        pieces = [InMemory(pd.DataFrame())]
    settings = Settings(
        build=type(bundles[0]).from_sources,
        hashes=tuple(b.hash for b in bundles),
        currency=currency,
        as_of=as_of,
        output=output,
        result_format=result_format,
        sweep_column=sweep_column,
    )
    sources = [tuple(sorted(b.checked.sources.items())) for b in bundles]
    if workers or address:
        return _on_cluster(
            bundles, settings, sources, pieces, collect, workers or 2, address, advance
        )
    driver: dict[str, float] = {}
    start = time.perf_counter()
    for bundle in bundles:
        remember(bundle, currency)
    driver["compile"] = time.perf_counter() - start
    evaluated = []
    for index, piece in enumerate(pieces):
        evaluated.append(evaluate(settings, index, piece, *sources))
        advance(piece.rows)
    driver["evaluate"] = time.perf_counter() - driver["compile"] - start
    parts = [part_of(e) for e in evaluated]
    merged = merge(p for _, p, _ in parts)
    buckets = wanted(merged)
    values = merge_values(values_of(e, buckets) for e in evaluated)
    result = _concat([result_of(e) for e in evaluated]) if collect else None
    driver["reduce"] = time.perf_counter() - start - driver["compile"] - driver["evaluate"]
    return _outcome(bundles, currency, merged, values, result, parts, driver)


def _outcome(
    bundles: Sequence[Bundle],
    currency: str,
    merged: Part,
    values: Any,
    result: pd.DataFrame | None,
    parts: Sequence[tuple[int, Part, dict[str, float]]],
    driver: dict[str, float],
) -> Outcome:
    currencies = currencies_of(bundles[0], currency)
    codes = [codes_of(bundle) for bundle in bundles]
    runs = [BASELINE, REFORM][: len(bundles)]
    timings: dict[str, float] = {}
    for _, _, task in parts:
        for stage, seconds in task.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return Outcome(
        summaries=[
            finish(merged, values, currencies_of(bundle, currency), run, code, facts_of(bundle))
            for bundle, run, code in zip(bundles, runs, codes, strict=True)
        ],
        merged=merged,
        result=result,
        currencies=currencies,
        codes=codes,
        facts=[facts_of(bundle) for bundle in bundles],
        timings=timings,
        driver=driver,
        tasks=len(parts),
    )


def _concat(results: list[pd.DataFrame]) -> pd.DataFrame:
    result = pd.concat(results)
    result.attrs["currencies"] = results[0].attrs.get("currencies", {})
    return result


def local_cluster(workers: int) -> Any:
    """A local cluster of `workers` processes, one thread each, without the MALLOC_TRIM_THRESHOLD_
    that Dask's nanny sets in its workers (to hand memory back to the OS sooner). Any explicit
    setting also fixes glibc's mmap threshold at 128 KiB, so each temporary column is a fresh
    mmap whose pages are faulted in again: with it, the kernel took 2x as long in one process
    (0.95 s -> 1.9 s for 50,000 scenarios of the full bundle, 2026-11-30); on the workers of a
    loaded 2-core machine the difference was within the noise."""
    import dask
    from distributed import LocalCluster

    environ = {
        key: value
        for key, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
        if key != "MALLOC_TRIM_THRESHOLD_"
    }
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def _on_cluster(
    bundles: Sequence[Bundle],
    settings: Settings,
    sources: list[Sources],
    pieces: Sequence[Piece],
    collect: bool,
    workers: int,
    address: str | None,
    advance: Progress,
) -> Outcome:
    # distributed ships without annotations on these, hence the no-untyped-call ignores below
    from distributed import Client, as_completed

    driver: dict[str, float] = {}
    start = time.perf_counter()
    cluster = None
    if address is None:
        cluster = local_cluster(workers)
    client = Client(address or cluster)  # type: ignore[no-untyped-call]
    driver["start"] = time.perf_counter() - start
    try:
        shared = [client.scatter(s, broadcast=True) for s in sources]  # type: ignore[no-untyped-call]
        futures = []
        rows = {}
        for index, piece in enumerate(pieces):
            # rows already in memory travel once, as data, not inside the task graph
            sent = client.scatter(piece) if isinstance(piece, InMemory) else piece  # type: ignore[no-untyped-call]
            future = client.submit(evaluate, settings, index, sent, *shared, pure=False)
            futures.append(future)
            rows[future.key] = piece.rows
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            future.result()  # a task's error is raised here, with its traceback
            advance(rows[future.key])
        driver["evaluate"] = time.perf_counter() - start - driver["start"]
        parts = client.gather([client.submit(part_of, f) for f in futures])  # type: ignore[no-untyped-call]
        parts = sorted(parts, key=lambda p: p[0])
        merged = merge(p for _, p, _ in parts)
        buckets = wanted(merged)
        values = merge_values(
            client.gather([client.submit(values_of, f, buckets) for f in futures])  # type: ignore[no-untyped-call]
        )
        result = (
            _concat(client.gather([client.submit(result_of, f) for f in futures]))  # type: ignore[no-untyped-call]
            if collect
            else None
        )
        driver["reduce"] = time.perf_counter() - start - driver["start"] - driver["evaluate"]
        return _outcome(bundles, settings.currency, merged, values, result, parts, driver)
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
