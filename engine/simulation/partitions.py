"""Where a partition's rows come from, described small enough to send to a worker, which then
builds the rows itself: generated scenarios (a row range of a `ScenarioSpec`), a row group of a
Parquet file (read where it is evaluated), or rows already in memory (a CSV or JSON Lines file,
`Bundle.simulate`), which do travel.

Every piece knows the row numbers it covers, so results are put back in order and a Parquet
dataset written partition by partition reads back as the single-process table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import ir
from .scenarios import ScenarioSpec

PARTITION = 250_000  # rows per task: big enough for NumPy, small enough for a progress bar


@dataclass(frozen=True, slots=True)
class Generated:
    spec: ScenarioSpec
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    def load(self, vocabulary: ir.Vocabulary) -> pd.DataFrame:
        return self.spec.rows(self.start, self.stop, vocabulary)


@dataclass(frozen=True, slots=True)
class ParquetGroup:
    path: str
    group: int
    start: int  # row number of the group's first row in the whole input
    rows: int

    def load(self, vocabulary: ir.Vocabulary) -> pd.DataFrame:
        import pyarrow.parquet as pq

        frame = pq.ParquetFile(self.path).read_row_group(self.group).to_pandas()
        frame.index = pd.RangeIndex(self.start, self.start + self.rows)
        return frame


@dataclass(frozen=True, slots=True)
class InMemory:
    frame: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.frame)

    def load(self, vocabulary: ir.Vocabulary) -> pd.DataFrame:
        return self.frame


Piece = Generated | ParquetGroup | InMemory


def generated(spec: ScenarioSpec, size: int = PARTITION) -> list[Piece]:
    return [
        Generated(spec, start, min(start + size, spec.size)) for start in range(0, spec.size, size)
    ]


def in_memory(frame: pd.DataFrame, size: int = PARTITION) -> list[Piece]:
    if not len(frame):  # one empty partition: the result has the columns, the summary 0 rows
        return [InMemory(frame)]
    return [InMemory(frame.iloc[start : start + size]) for start in range(0, len(frame), size)]


def parquet(path: Path, size: int = PARTITION) -> list[Piece]:
    """One piece per row group of each file (a directory: its *.parquet files, by name); only
    the footers are read here. A file written as one huge group is one piece."""
    import pyarrow.parquet as pq

    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    pieces: list[Piece] = []
    start = 0
    for file in files:
        metadata = pq.ParquetFile(file).metadata
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            pieces.append(ParquetGroup(str(file), group, start, rows))
            start += rows
    return pieces


def sizes(pieces: list[Piece]) -> Iterator[int]:
    return (piece.rows for piece in pieces)
