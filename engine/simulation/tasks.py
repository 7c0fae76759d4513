"""What one worker does with one partition: build the rows (or read them), evaluate them with
every bundle of the run, write them to the output dataset, and summarise them. The same
functions run in this process when there is no cluster.

Workers receive each bundle's policy sources once (scattered by the driver) and a function that
builds a bundle from them (`Bundle.from_sources`, passed in so this package never imports
engine.bundle); a worker compiles each bundle once and keeps its kernel, keyed by the bundle
hash. The rows of a partition are evaluated exactly as in one process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .kernel import Kernel
from .partitions import Piece
from .summary import BASELINE, REFORM, Part, Values, partial, prefixes, values_in

if TYPE_CHECKING:  # Bundle.simulate imports the simulation
    from ..bundle import Bundle

Build = Callable[[Mapping[str, str]], "Bundle"]  # Bundle.from_sources, pickled by reference
Sources = tuple[tuple[str, str], ...]

_KERNELS: dict[tuple[str, str], Kernel] = {}  # (bundle hash, currency) -> kernel, per process
KEPT = 4  # kernels a process keeps (a baseline and a reform, twice over); the oldest goes first


def kernel_for(build: Build, bundle_hash: str, sources: Sources, currency: str) -> Kernel:
    kernel = _KERNELS.get((bundle_hash, currency))
    if kernel is None:
        bundle = build(dict(sources))
        assert bundle.hash == bundle_hash, "a worker compiled different policies"
        kernel = Kernel(bundle, currency)
        _keep(kernel)
    return kernel


def remember(bundle: Bundle, currency: str) -> None:
    """Compile `bundle` here unless this process has its kernel (a run without workers)."""
    if (bundle.hash, currency) not in _KERNELS:
        _keep(Kernel(bundle, currency))


def _keep(kernel: Kernel) -> None:
    while len(_KERNELS) >= KEPT:
        del _KERNELS[next(iter(_KERNELS))]
    _KERNELS[(kernel.bundle.hash, kernel.currency)] = kernel


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The run, as every task sees it."""

    build: Build
    hashes: tuple[str, ...]  # the baseline's bundle, then a reform's
    currency: str
    as_of: dt.date | None
    output: str | None = None  # a directory: this partition's file goes there
    result_format: str = "parquet"
    sweep_column: str | None = None  # the swept fact, for the sweep plot's data


@dataclass(slots=True)
class Evaluated:
    """A partition's results, held where they were computed."""

    index: int
    result: pd.DataFrame
    part: Part
    timings: dict[str, float] = field(default_factory=dict)


def evaluate(settings: Settings, index: int, piece: Piece, *sources: Sources) -> Evaluated:
    """The task of pass one (the same in one process and on a worker)."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = timings.get(name, 0.0) + now - clock
        clock = now

    kernels = [
        kernel_for(settings.build, h, s, settings.currency)
        for h, s in zip(settings.hashes, sources, strict=True)
    ]
    lap("compile")
    frame = piece.load(kernels[0].bundle.checked.vocabulary)
    lap("load")
    results = [k.run(frame, settings.as_of) for k in kernels]
    result = results[0] if len(results) == 1 else compare(results[0], results[1])
    result.index = frame.index  # the partition's row numbers: results go back in order
    lap("kernel")
    if settings.output is not None:
        _write(frame, result, Path(settings.output), index, settings.result_format)
        lap("write")
    currencies = kernels[0].currencies()
    runs = [BASELINE, REFORM][: len(kernels)]
    sweep = None
    if settings.sweep_column is not None and settings.sweep_column in frame.columns:
        x = pd.to_numeric(frame[settings.sweep_column], errors="coerce")
        sweep = (x, _sweep_series(currencies, len(kernels) > 1))
    # each bundle's own regimes (a reform may add or drop one)
    keys = [
        key for run, k in zip(runs, kernels, strict=True) for key in prefixes(k.currencies(), [run])
    ]
    part = partial(result, keys, runs, sweep)
    lap("summary")
    return Evaluated(index, result, part, timings)


def _sweep_series(currencies: Mapping[str, str], reform: bool) -> dict[str, str]:
    """The series the sweep plot draws: the total and each regime in the reporting currency,
    and a reform's total."""
    reporting = currencies["total"]
    series = {"total": "exposure_max_minor"} | {
        name: f"{name}.exposure_max_minor"
        for name, c in currencies.items()
        if name != "total" and c == reporting
    }
    return series | ({"reform total": f"{REFORM}exposure_max_minor"} if reform else {})


def _write(frame: pd.DataFrame, result: pd.DataFrame, folder: Path, index: int, fmt: str) -> None:
    table = pd.concat([frame.reset_index(drop=True), result.reset_index(drop=True)], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        table.to_parquet(folder / f"part-{index:05d}.parquet", index=False)
    else:
        table.to_csv(folder / f"part-{index:05d}.csv", index=False)


def compare(baseline: pd.DataFrame, reform: pd.DataFrame) -> pd.DataFrame:
    """Baseline results side by side with a reform's: `reform.*` columns, the change in total
    exposure (minor units) and whether the overall status changed."""
    joined = baseline.join(reform.add_prefix(REFORM))
    for end in ("min", "max"):
        joined[f"delta.exposure_{end}_minor"] = (
            reform[f"exposure_{end}_minor"] - baseline[f"exposure_{end}_minor"]
        )
    joined["status_changed"] = (
        baseline["status"].astype(str) != reform["status"].astype(str)
    ).to_numpy(dtype=bool)
    joined.attrs["currencies"] = baseline.attrs.get("currencies", {})
    return joined


def part_of(evaluated: Evaluated) -> tuple[int, Part, dict[str, float]]:
    return evaluated.index, evaluated.part, evaluated.timings


def values_of(evaluated: Evaluated, buckets: Mapping[str, set[int]]) -> Values:
    return values_in(evaluated.result, buckets)


def result_of(evaluated: Evaluated) -> pd.DataFrame:
    return evaluated.result


def rows_of(pieces: Sequence[Piece]) -> int:
    return sum(piece.rows for piece in pieces)
