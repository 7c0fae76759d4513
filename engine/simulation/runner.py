"""Analyst simulation: many operations through the vectorised back end.

    from lexgate.engine import load_bundle
    bundle = load_bundle("policies")
    results = bundle.simulate(frame)            # pandas in, pandas out (same index)
    frame.join(results)

`run` evaluates a table partition by partition (cluster.py: in this process or on a Dask
cluster) and returns the per-row results; `compare` puts two bundles' results side by side. The
CLI is `lexgate simulate` (engine/cli/simulate.py), which uses `cluster.execute` directly so that
rows are generated, evaluated, written and summarised on the workers. docs/SIMULATION.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from .cluster import execute
from .kernel import Kernel
from .partitions import PARTITION, in_memory
from .tasks import compare

if TYPE_CHECKING:  # Bundle.simulate imports this module
    from ..bundle import Bundle

Progress = Callable[[int], None]


def run(
    bundle: Bundle,
    frame: pd.DataFrame,
    as_of: dt.date | None = None,
    currency: str = "EUR",
    workers: int = 0,
    cluster: str | None = None,
    progress: Progress | None = None,
    partition: int = PARTITION,
) -> pd.DataFrame:
    """Results for every row of `frame` (see `Kernel.run` for the columns), index preserved.
    `workers` > 0 starts a local Dask cluster; `cluster` is the address of a running one."""
    if not len(frame):
        return Kernel(bundle, currency).run(frame, as_of)
    outcome = execute(
        [bundle],
        in_memory(frame, partition),
        currency=currency,
        as_of=as_of,
        collect=True,
        workers=workers,
        address=cluster,
        progress=progress,
    )
    assert outcome.result is not None
    result = outcome.result
    result.index = frame.index
    return result


def simulate_frame(
    bundle: Bundle, frame: pd.DataFrame, as_of: dt.date | None = None, currency: str = "EUR"
) -> pd.DataFrame:
    """The notebook entry point behind `Bundle.simulate`."""
    return run(bundle, frame, as_of=as_of, currency=currency)


__all__ = ["compare", "run", "simulate_frame"]
