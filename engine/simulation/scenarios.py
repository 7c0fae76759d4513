"""Scenario tables for `lexgate simulate`: operations read from CSV / Parquet / JSON Lines, or a
base operation with sweeps (`--vary`) and sampled facts (`--sample N --dist ...`).

Generated values are rounded to what the fact can hold exactly (money to cents, counts to whole
numbers), so a scenario is an operation the API would accept as it stands. Sampling draws block
by block from `SeedSequence(seed).spawn`, so a seed gives the same scenarios however the run is
split into partitions or workers.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import ir
from ..types import BOOL, COUNT, MoneyType, Type
from .operation_rows import flatten_operation
from .vector_values import FACT_SCALE, fact_scale

BLOCK = 100_000  # rows drawn from one child seed


class InputError(ValueError):
    """A sweep, distribution or input file the simulator cannot use; says what was expected."""


def read_operations(path: Path, vocabulary: ir.Vocabulary) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    try:
                        operation = json.loads(line, parse_float=Decimal)
                    except json.JSONDecodeError as error:
                        raise InputError(f"{path}:{number}: not valid JSON: {error.msg}") from None
                    rows.append(flatten_operation(operation, vocabulary))
        return pd.DataFrame(rows)
    raise InputError(f"`{path}`: expected a .csv, .parquet or .jsonl file")


# ---- sweeps ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sweep:
    path: str
    values: tuple[float | str, ...]
    log: bool = False


SWEEP = re.compile(
    r"^(?P<path>[\w.\[\]]+)=(?P<lo>[^.]+?)\.\.(?P<hi>[^:]+)(:(?P<scale>lin|log))?"
    r"(:(?P<n>\d+))?$"
)


def parse_sweep(text: str) -> Sweep:
    """`PATH=LO..HI[:lin|log][:N]` or `PATH=a,b,c`."""
    match = SWEEP.match(text.replace(" ", ""))
    if match:
        lo, hi = float(match["lo"]), float(match["hi"])
        n = int(match["n"] or 20)
        log = match["scale"] == "log"
        if log and lo <= 0:
            raise InputError(f"`{text}`: a log sweep starts above 0")
        values = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
        return Sweep(match["path"], tuple(float(v) for v in values), log)
    if "=" in text:
        path, _, items = text.partition("=")
        return Sweep(path.strip(), tuple(v.strip() for v in items.split(",") if v.strip()))
    raise InputError(f"`{text}`: expected PATH=LO..HI[:lin|log][:N] or PATH=a,b,c")


# ---- distributions ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Distribution:
    path: str
    kind: str  # lognormal | normal | uniform | choice
    args: tuple[float, ...] = ()
    choices: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "lognormal":
            return rng.lognormal(self.args[0], self.args[1], n)
        if self.kind == "normal":
            return rng.normal(self.args[0], self.args[1], n)
        if self.kind == "uniform":
            return rng.uniform(self.args[0], self.args[1], n)
        weights = np.array(self.weights) / sum(self.weights)
        return np.array(self.choices, dtype=object)[rng.choice(len(self.choices), n, p=weights)]


DIST = re.compile(r"^(?P<path>[\w.\[\]]+)\s*~\s*(?P<kind>\w+)\((?P<args>.*)\)$")


def parse_distribution(text: str) -> Distribution:
    """`PATH~lognormal(mu,sigma)`, `~normal(mean,sd)`, `~uniform(lo,hi)`,
    `~choice(a:0.7,b:0.3)` (weights optional; a set is written `DE|FR`)."""
    match = DIST.match(text.strip())
    if not match:
        raise InputError(
            f"`{text}`: expected PATH~lognormal(mu,sigma), uniform(lo,hi), "
            "normal(mean,sd) or choice(a:weight,b:weight)"
        )
    path, kind, args = match["path"], match["kind"], [a.strip() for a in match["args"].split(",")]
    if kind in ("lognormal", "normal", "uniform"):
        if len(args) != 2:
            raise InputError(f"`{text}`: {kind} takes two numbers")
        return Distribution(path, kind, (float(args[0]), float(args[1])))
    if kind == "choice":
        choices, weights = [], []
        for arg in args:
            value, _, weight = arg.partition(":")
            choices.append(value.strip())
            weights.append(float(weight) if weight else 1.0)
        return Distribution(path, kind, choices=tuple(choices), weights=tuple(weights))
    raise InputError(f"`{text}`: unknown distribution `{kind}`")


# ---- building the table ----------------------------------------------------------------------


def _fact_type(path: str, vocabulary: ir.Vocabulary) -> Type | None:
    info = vocabulary.facts.get(path)
    return info.type if info is not None else None


def _column(path: str, values: np.ndarray, vocabulary: ir.Vocabulary) -> tuple[str, Any]:
    """A generated column, rounded to what the fact holds exactly."""
    t = _fact_type(path, vocabulary)
    if values.dtype == object:
        if t == BOOL:
            return path, pd.array([str(v).lower() == "true" for v in values], dtype="boolean")
        return path, values
    if isinstance(t, MoneyType):
        return f"{path}.amount", np.round(np.maximum(values, 0), 2)
    if t == COUNT:
        return path, np.rint(np.maximum(values, 0)).astype(np.int64)
    # the column's fixed-point scale (durations to the thousandth of their unit, numbers and
    # percentages to 6 places), so a generated value never forces the scalar fallback
    digits = fact_scale(t) if t is not None else FACT_SCALE["number"]
    return path, np.round(np.maximum(values, 0), digits)


def scenarios(
    base: dict[str, Any],
    sweeps: list[Sweep],
    distributions: list[Distribution],
    samples: int,
    seed: int,
    vocabulary: ir.Vocabulary,
    currency: str,
) -> pd.DataFrame:
    """The base operation once per sweep point and sample: sweeps form a grid; each grid point
    gets `samples` draws (1 when nothing is sampled)."""
    spec = ScenarioSpec.build(base, sweeps, distributions, samples, seed, vocabulary, currency)
    return spec.rows(0, spec.size, vocabulary)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSpec:
    """What `scenarios` builds, small enough to ship to every worker: any range of its rows is
    generated where it is evaluated. Row r is grid point r // draws, draw r % draws; draw d comes
    from block d // BLOCK, seeded from the run's seed and the block number alone, so the rows are
    the same however the run is cut into partitions or spread over workers."""

    base_row: dict[str, Any]
    sweeps: tuple[Sweep, ...]
    distributions: tuple[Distribution, ...]
    draws: int
    seed: int
    currency: str

    @classmethod
    def build(
        cls,
        base: dict[str, Any],
        sweeps: list[Sweep],
        distributions: list[Distribution],
        samples: int,
        seed: int,
        vocabulary: ir.Vocabulary,
        currency: str,
    ) -> ScenarioSpec:
        return cls(
            base_row=flatten_operation(base, vocabulary),
            sweeps=tuple(sweeps),
            distributions=tuple(distributions),
            draws=samples if distributions else 1,
            seed=seed,
            currency=currency,
        )

    @property
    def points(self) -> int:
        return len(list(itertools.product(*(s.values for s in self.sweeps)))) or 1

    @property
    def size(self) -> int:
        return self.points * self.draws

    def rows(self, start: int, stop: int, vocabulary: ir.Vocabulary) -> pd.DataFrame:
        """Rows `start` to `stop` (exclusive), indexed by their row numbers."""
        grid = list(itertools.product(*(s.values for s in self.sweeps))) or [()]
        numbers = np.arange(start, stop, dtype=np.int64)
        at, draw = numbers // self.draws, numbers % self.draws
        n = len(numbers)
        data: dict[str, Any] = {name: [value] * n for name, value in self.base_row.items()}
        for i, sweep in enumerate(self.sweeps):
            column = np.array([point[i] for point in grid], dtype=object)[at]
            if all(isinstance(v, float) for v in sweep.values):
                column = column.astype(np.float64)
            name, values = _column(sweep.path, column, vocabulary)
            data[name] = values
            _money_currency(data, sweep.path, vocabulary, self.base_row, self.currency, n)
        if self.distributions:
            blocks = np.unique(draw // BLOCK)
            for distribution in self.distributions:
                drawn = {int(b): self._block(distribution, int(b)) for b in blocks}
                name, values = _column(distribution.path, _pick(drawn, draw), vocabulary)
                data[name] = values
                _money_currency(
                    data, distribution.path, vocabulary, self.base_row, self.currency, n
                )
        return pd.DataFrame(data, index=pd.RangeIndex(start, stop))

    def _block(self, distribution: Distribution, block: int) -> np.ndarray:
        child = np.random.SeedSequence(self.seed, spawn_key=(block,))
        rng = np.random.default_rng([*child.generate_state(2), _stable_hash(distribution.path)])
        return distribution.draw(rng, min(BLOCK, self.draws - block * BLOCK))


def _pick(drawn: dict[int, np.ndarray], draw: np.ndarray) -> np.ndarray:
    """drawn[d // BLOCK][d % BLOCK] for every d in `draw`, keeping the blocks' dtype."""
    first = next(iter(drawn.values()))
    out = np.empty(len(draw), dtype=first.dtype)
    for block, values in drawn.items():
        where = draw // BLOCK == block
        out[where] = values[draw[where] % BLOCK]
    return out


def _money_currency(
    data: dict[str, Any],
    path: str,
    vocabulary: ir.Vocabulary,
    base_row: dict[str, Any],
    currency: str,
    n: int,
) -> None:
    if isinstance(_fact_type(path, vocabulary), MoneyType):
        data[f"{path}.currency"] = [base_row.get(f"{path}.currency", currency)] * n


def _stable_hash(text: str) -> int:
    # each fact its own stream, independent of the order the distributions were given in
    return int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little") % (2**32)
