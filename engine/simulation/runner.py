"""Analyst simulation: many operations through the vectorised back end.

    from lexgate.engine import load_bundle
    bundle = load_bundle("policies")
    results = bundle.simulate(frame)            # pandas in, pandas out (same index)
    frame.join(results)

`run` splits a table into partitions and evaluates them with `Kernel.run` (kernel.py)
in this process or on a Dask cluster (cluster.py); `compare` runs two bundles on the same
scenarios. The CLI is `lexgate simulate` (engine/cli/simulate.py); docs/SIMULATION.md has the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pandas as pd

from .kernel import Kernel

if TYPE_CHECKING:  # Bundle.simulate imports this module
    from ..bundle import Bundle

PARTITION = 250_000  # rows per task: big enough for NumPy, small enough for a progress bar

Progress = Callable[[int], None]


def _parts(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def run(
    bundle: Bundle,
    frame: pd.DataFrame,
    as_of: dt.date | None = None,
    currency: str = "EUR",
    workers: int = 0,
    cluster: str | None = None,
    progress: Progress | None = None,
    partition: int = PARTITION,
    kernel: Kernel | None = None,
) -> pd.DataFrame:
    """Results for every row of `frame` (see `Kernel.run` for the columns), index preserved.
    `workers` > 0 starts a local Dask cluster; `cluster` is the address of a running one."""
    advance = progress or (lambda _: None)
    count = (len(frame) + partition - 1) // partition
    if workers or cluster:
        from .cluster import run_on_cluster

        results = run_on_cluster(
            bundle, _parts(frame, partition), count, currency, as_of, cluster, workers or 2, advance
        )
    else:
        kernel = kernel or Kernel(bundle, currency)
        results = []
        for part in _parts(frame, partition):
            results.append(kernel.run(part, as_of))
            advance(len(part))
    if not results:
        return Kernel(bundle, currency).run(frame, as_of)
    result = pd.concat(results, ignore_index=True)
    result.index = frame.index
    result.attrs["currencies"] = results[0].attrs["currencies"]
    return result


def compare(baseline: pd.DataFrame, reform: pd.DataFrame) -> pd.DataFrame:
    """Baseline results side by side with a reform's: `reform.*` columns, the change in total
    exposure (minor units) and whether the overall status changed."""
    joined = baseline.join(reform.add_prefix("reform."))
    for end in ("min", "max"):
        joined[f"delta.exposure_{end}_minor"] = (
            reform[f"exposure_{end}_minor"] - baseline[f"exposure_{end}_minor"]
        )
    joined["status_changed"] = (
        baseline["status"].astype(str) != reform["status"].astype(str)
    ).to_numpy(dtype=bool)
    joined.attrs["currencies"] = baseline.attrs.get("currencies", {})
    return joined


def simulate_frame(
    bundle: Bundle, frame: pd.DataFrame, as_of: dt.date | None = None, currency: str = "EUR"
) -> pd.DataFrame:
    """The notebook entry point behind `Bundle.simulate`."""
    return run(bundle, frame, as_of=as_of, currency=currency)


__all__ = ["compare", "run", "simulate_frame"]
