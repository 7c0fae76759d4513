"""Running the simulation kernel on a Dask cluster, partition by partition.

Workers receive the policy sources (file name -> text), not a pickled bundle: compiled closures do
not pickle, and loading from sources is the same parse -> check -> compile path every process
takes, so a worker's kernel is the driver's. Each worker keeps one compiled kernel per bundle
hash. The rows of a partition are evaluated exactly as in one process, and partitions are put
back in order, so the result is the single-process result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from .kernel import Kernel

if TYPE_CHECKING:  # Bundle.simulate imports the simulation
    from ..bundle import Bundle

Build = Callable[[Mapping[str, str]], "Bundle"]  # Bundle.from_sources, pickled by reference


@lru_cache(maxsize=4)
def _kernel(
    build: Build, bundle_hash: str, sources: tuple[tuple[str, str], ...], currency: str
) -> Kernel:
    bundle = build(dict(sources))
    assert bundle.hash == bundle_hash, "a worker compiled different policies"
    return Kernel(bundle, currency)


def run_partition(
    build: Build,
    bundle_hash: str,
    sources: tuple[tuple[str, str], ...],
    currency: str,
    as_of: dt.date | None,
    frame: pd.DataFrame,
) -> pd.DataFrame:
    """The task one worker runs: the same `Kernel.run` as a single-process run."""
    return _kernel(build, bundle_hash, sources, currency).run(frame, as_of)


def run_on_cluster(
    bundle: Bundle,
    parts: Iterator[pd.DataFrame],
    count: int,
    currency: str,
    as_of: dt.date | None,
    address: str | None,
    workers: int,
    advance: Callable[[int], None],
) -> list[pd.DataFrame]:
    # distributed ships without annotations on these, hence the no-untyped-call ignores below
    from distributed import Client, LocalCluster, as_completed

    sources = tuple(sorted(bundle.checked.sources.items()))
    cluster = None
    if address is None:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(address or cluster)  # type: ignore[no-untyped-call]
    try:
        shared = client.scatter(sources, broadcast=True)  # type: ignore[no-untyped-call]
        futures = {}
        for index, part in enumerate(parts):
            future = client.submit(
                run_partition,
                type(bundle).from_sources,
                bundle.hash,
                shared,
                currency,
                as_of,
                part,
                pure=False,
            )
            futures[future] = (index, len(part))
        results: dict[int, pd.DataFrame] = {}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            index, rows = futures[future]
            results[index] = future.result()
            advance(rows)
        assert len(results) == count
        return [results[i] for i in range(count)]
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
