"""The flattened-operation table: column names, encoding to the vectorised back end's columns,
and the conversion of one row back to operation JSON (for the scalar back end).

Column names are the fact paths of policies/common (`legal_basis`, `breach.subjects`); money
is two columns (`controller.worldwide_turnover.amount` and `.currency`, or the amount alone in
the default currency); list facts have one column per position and field up to a fixed maximum
(`transfers[0].mechanism`, `transfers[1].destination`) and a length column (`transfers.length`;
null = the list is missing). Sets are lists (Parquet, JSON Lines) or text (`DE|FR`,
`["DE","FR"]`, `{DE, FR}`). A null cell is a missing fact: unknown, never false or zero.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

import numpy as np
import pandas as pd

from .. import ir
from ..types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    PERCENT,
    TEXT,
    UNITS,
    DurationType,
    EnumType,
    ListType,
    MoneyType,
    RecordType,
    SetType,
    Type,
)
from .vector_values import (
    BitsCol,
    BoolCol,
    Codebook,
    CodeCol,
    ListCol,
    MoneyColumn,
    NumCol,
    fact_scale,
    words_for,
)

MAX_LIST_LENGTH = 64  # positions a list column set may describe; longer rows go scalar
LIST_ITEM = re.compile(r"^(?P<list>[a-z_][\w.]*)\[(?P<index>\d+)\]\.(?P<field>.+)$")


class TableError(ValueError):
    """A cell does not fit the vocabulary; names the column and the first bad row."""


def is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


# ---- reading cells ----------------------------------------------------------------------------


def parse_set(value: Any) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        text = text.strip("{}")
        return [part.strip() for part in re.split(r"[,;|]", text) if part.strip()]
    return [str(v) for v in value]


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, float | np.floating):
        return Decimal(repr(float(value)))
    if isinstance(value, np.integer):
        return Decimal(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            return Decimal(text[:-1].strip()) / 100
        return Decimal(text)
    return Decimal(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    raise ValueError("expected true or false")


# ---- encoding -----------------------------------------------------------------------------------


class Columns:
    """The encoded fact columns of one table (pandas DataFrame), built on first use."""

    def __init__(
        self,
        frame: pd.DataFrame,
        vocabulary: ir.Vocabulary,
        countries: set[str],
        default_currency: str,
    ):
        self.frame = frame
        self.n = len(frame)
        self.vocabulary = vocabulary
        self.default_currency = default_currency
        self.fallback = np.zeros(self.n, dtype=bool)  # rows the encoding cannot represent
        self._cache: dict[str, Any] = {}
        self.lists = _list_columns(frame.columns)
        self.countries = Codebook(countries | self._data_countries())

    # -- which columns mean what --

    def _data_countries(self) -> set[str]:
        found: set[str] = set()
        for name in self.frame.columns:
            t = self._type_of_column(name)
            if t is None or not (t == CODE or (isinstance(t, SetType) and t.element == CODE)):
                continue
            for cell in pd.unique(self._cells(name)):
                if is_null(cell):
                    continue
                found.update(parse_set(cell) if isinstance(t, SetType) else [str(cell)])
        return found

    def _type_of_column(self, name: str) -> Type | None:
        match = LIST_ITEM.match(name)
        if match:
            info = self.vocabulary.facts.get(match["list"])
            if info is not None and isinstance(info.type, ListType):
                return info.type.element.field(match["field"])
            return None
        info = self.vocabulary.facts.get(name)
        return info.type if info is not None else None

    def _cells(self, name: str) -> np.ndarray:
        column = self.frame[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            # lists are unhashable; tuples keep pd.unique/factorize working
            values: np.ndarray = column.to_numpy(dtype=object)
            sample = values[: min(len(values), 64)]
            if all(isinstance(v, str) or is_null(v) for v in sample):
                try:
                    pd.factorize(values)
                    return values
                except TypeError:
                    pass  # a list further down
            # Filled cell by cell: np.array() of equal-length tuples (a pandas-written Parquet
            # list column with one item in every row) builds a 2-D array, and pd.unique then
            # fails with "Buffer has wrong number of dimensions".
            cells = np.empty(len(values), dtype=object)
            for index, value in enumerate(values):
                cells[index] = tuple(value) if isinstance(value, list | np.ndarray) else value
            return cells
        array: np.ndarray = column.to_numpy()
        return array

    # -- public --

    def fact(self, path: str) -> Any:
        if path not in self._cache:
            self._cache[path] = self._encode_fact(path)
        return self._cache[path]

    def _encode_fact(self, path: str) -> Any:
        info = self.vocabulary.facts[path]
        if isinstance(info.type, ListType):
            return self._encode_list(path, info.type.element)
        return self._encode(path, info.type, info.unit)

    def _encode(self, name: str, t: Type, unit: str | None) -> Any:
        if isinstance(t, MoneyType):
            return self._encode_money(name)
        if name not in self.frame.columns:
            return None
        try:
            return self._encode_cells(name, t, unit)
        except (ValueError, InvalidOperation, TypeError, json.JSONDecodeError) as error:
            reason = error or "a value does not fit its type"
            raise TableError(f"column `{name}`: {reason}") from None

    def _encode_cells(self, name: str, t: Type, unit: str | None) -> Any:
        series = self.frame[name]
        known = series.notna().to_numpy()
        if t == BOOL:
            if series.dtype == bool or isinstance(series.dtype, pd.BooleanDtype):
                return BoolCol(series.to_numpy(dtype=bool, na_value=False), known)
            codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
            table = np.array([_bool(v) for v in uniques] + [False], dtype=bool)
            return BoolCol(table[codes], known)
        if isinstance(t, EnumType) or t == CODE:
            members = t.members if isinstance(t, EnumType) else self.countries.codes
            lookup = {m: i for i, m in enumerate(members)}
            codes, uniques = pd.factorize(self._cells(name), use_na_sentinel=True)
            mapped = np.empty(len(uniques) + 1, dtype=np.int32)
            mapped[-1] = -1
            for i, value in enumerate(uniques):
                if str(value) not in lookup:
                    raise ValueError(
                        f"`{value}` is not one of {', '.join(members[:12])}"
                        + (", …" if len(members) > 12 else "")
                    )
                mapped[i] = lookup[str(value)]
            return CodeCol(mapped[codes], known)
        if isinstance(t, SetType):
            element = t.element
            members = element.members if isinstance(element, EnumType) else self.countries.codes
            lookup = {m: i for i, m in enumerate(members)}
            words = (
                words_for(len(members)) if isinstance(element, EnumType) else self.countries.words
            )
            codes, uniques = pd.factorize(self._cells(name), use_na_sentinel=True)
            table = np.zeros((len(uniques) + 1, words), dtype=np.uint64)
            for i, cell in enumerate(uniques):
                for member in parse_set(cell):
                    if member not in lookup:
                        raise ValueError(f"`{member}` is not a member of {t}")
                    bit = lookup[member]
                    table[i, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
            return BitsCol(table[codes], known)
        if t == DATE:
            days = pd.to_datetime(series, errors="raise")
            ordinals = np.array(
                [d.toordinal() if not is_null(d) else 0 for d in days.dt.date], dtype=np.int64
            )
            return NumCol(ordinals, known, 0)
        if t == TEXT:
            return None  # text facts are read by the scalar back end (no IR op vectorises them)
        factor = UNITS[unit][1] if isinstance(t, DurationType) and unit else 1
        return self._number(series, known, fact_scale(t), factor, t)

    def _number(
        self, series: pd.Series, known: np.ndarray, scale: int, factor: int, t: Type
    ) -> NumCol:
        """Exact fixed point; a value with more digits than `scale` (or too large) sends its row
        to the scalar evaluator rather than being rounded."""
        unit = 10**scale
        raw = series.to_numpy()
        if raw.dtype.kind in "iu":
            values = raw.astype(np.int64)
            exact = np.abs(values) < 2**62 // (unit * factor)
            fixed = np.where(exact, values, 0) * (unit * factor)
        elif raw.dtype.kind == "f":
            scaled = np.rint(raw * unit)
            with np.errstate(invalid="ignore"):
                exact = (scaled / unit == raw) & (np.abs(scaled) < 2**51)
            fixed = np.where(exact, scaled, 0).astype(np.int64) * factor
        else:
            cells = raw.astype(object)
            fixed = np.zeros(self.n, dtype=np.int64)
            exact = np.ones(self.n, dtype=bool)
            cache: dict[Any, tuple[int, bool]] = {}
            for i in np.flatnonzero(known):
                cell = cells[i]
                key = (type(cell), cell)
                if key not in cache:
                    with localcontext() as context:  # exact: never round an input to fit
                        context.prec = 80
                        number = _decimal(cell) * factor * unit
                    ok = number == number.to_integral_value() and abs(number) < 2**62
                    cache[key] = (int(number) if ok else 0, ok)
                fixed[i], exact[i] = cache[key]
        exact &= known
        self._validate(fixed, known, exact, t, unit)
        self.fallback |= known & ~exact
        return NumCol(fixed, known, scale)

    def _validate(
        self, fixed: np.ndarray, known: np.ndarray, exact: np.ndarray, t: Type, unit: int
    ) -> None:
        bad = exact & (fixed < 0)
        if t == PERCENT:
            bad |= exact & (fixed > unit)
        if t == COUNT:
            bad |= known & ~exact  # a count is a whole number
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            what = {"percent": "between 0% and 100%", "count": "a whole number ≥ 0"}.get(
                t.name, "≥ 0"
            )
            raise ValueError(f"row {row}: expected {what}")

    def _encode_money(self, name: str) -> MoneyColumn | None:
        amount_name = f"{name}.amount" if f"{name}.amount" in self.frame.columns else name
        if amount_name not in self.frame.columns:
            return None
        money_type = MoneyType("money", self.default_currency)
        try:
            amounts = self._encode_cells(amount_name, money_type, None)
        except (ValueError, InvalidOperation, TypeError) as error:
            raise TableError(f"column `{amount_name}`: {error}") from None
        currency_name = f"{name}.currency"
        if currency_name not in self.frame.columns:
            return MoneyColumn(amounts, np.array([]), self.default_currency)
        currencies = self.frame[currency_name].to_numpy(dtype=object)
        known = amounts.known & self.frame[currency_name].notna().to_numpy()
        amounts = NumCol(amounts.values, known, amounts.scale)
        distinct = {c for c in pd.unique(currencies[known]) if not is_null(c)}
        if len(distinct) <= 1:
            return MoneyColumn(
                amounts, currencies, distinct.pop() if distinct else self.default_currency
            )
        return MoneyColumn(amounts, currencies, None)

    def _encode_list(self, path: str, record: RecordType) -> ListCol | None:
        positions = self.lists.get(path)
        length_name = f"{path}.length"
        if positions is None and length_name not in self.frame.columns:
            return None
        fields: dict[int, dict[str, Any]] = {}
        present = np.zeros(self.n, dtype=np.int64)  # 1 + the last position with a value
        for index, names in sorted((positions or {}).items()):
            element: dict[str, Any] = {}
            for field_name, frame_columns in names.items():
                field_type = record.field(field_name)
                if field_type is None:
                    raise TableError(
                        f"column `{frame_columns[0]}`: record `{record.name}` has "
                        f"no field `{field_name}`"
                    )
                base = f"{path}[{index}].{field_name}"
                element[field_name] = self._encode(base, field_type, _base_unit(field_type))
                for column in frame_columns:
                    present = np.where(self.frame[column].notna().to_numpy(), index + 1, present)
            fields[index] = element
        if length_name in self.frame.columns:
            lengths = self._encode(length_name, COUNT, None)
            length, known = lengths.values, lengths.known
        else:
            length, known = present, np.ones(self.n, dtype=bool)
        self.fallback |= known & (length > MAX_LIST_LENGTH)
        longest = int(min(length[known].max(initial=0), MAX_LIST_LENGTH))
        elements = [fields.get(i, {}) for i in range(max(longest, len(fields)))]
        return ListCol(length, known, elements)

    def view(self, rows: np.ndarray | None) -> ColumnsView:
        return ColumnsView(self, rows)


class ColumnsView:
    """The rows of one as-of group, sliced from the encoded columns on first use."""

    def __init__(self, columns: Columns, rows: np.ndarray | None):
        self.columns = columns
        self.rows = rows
        self._cache: dict[str, Any] = {}

    def __call__(self, path: str) -> Any:
        if path not in self._cache:
            col = self.columns.fact(path)
            self._cache[path] = col if self.rows is None or col is None else _take(col, self.rows)
        return self._cache[path]


def _take(col: Any, rows: np.ndarray) -> Any:
    if isinstance(col, BoolCol):
        return BoolCol(col.values[rows], col.known[rows])
    if isinstance(col, NumCol):
        return NumCol(col.values[rows], col.known[rows], col.scale)
    if isinstance(col, CodeCol):
        return CodeCol(col.values[rows], col.known[rows])
    if isinstance(col, BitsCol):
        return BitsCol(col.words[rows], col.known[rows])
    if isinstance(col, MoneyColumn):
        currencies = col.currencies[rows] if col.currencies.size else col.currencies
        return MoneyColumn(_take(col.amounts, rows), currencies, col.single)
    if isinstance(col, ListCol):
        return ListCol(
            col.length[rows],
            col.known[rows],
            [
                {k: _take(v, rows) if v is not None else None for k, v in e.items()}
                for e in col.elements
            ],
        )
    return col


def _base_unit(t: Type | None) -> str | None:
    if isinstance(t, DurationType):
        return next(u for u, (dim, factor) in UNITS.items() if dim == t.dimension and factor == 1)
    return None


def _list_columns(names: Any) -> dict[str, dict[int, dict[str, list[str]]]]:
    """list fact -> position -> field -> the frame columns that hold it (money: two)."""
    lists: dict[str, dict[int, dict[str, list[str]]]] = {}
    for name in names:
        match = LIST_ITEM.match(str(name))
        if match:
            field = match["field"]
            if field.endswith((".amount", ".currency")):
                field = field.rsplit(".", 1)[0]
            item = lists.setdefault(match["list"], {}).setdefault(int(match["index"]), {})
            item.setdefault(field, []).append(str(name))
    return lists


def unknown_columns(names: Any, vocabulary: ir.Vocabulary) -> list[str]:
    """Columns that name no fact: likely typos, reported so a fact is not silently missing."""
    known_names = {"as_of"}
    for path, info in vocabulary.facts.items():
        if isinstance(info.type, MoneyType):
            known_names |= {path, f"{path}.amount", f"{path}.currency"}
        elif isinstance(info.type, ListType):
            known_names.add(f"{path}.length")
        else:
            known_names.add(path)
    odd = []
    for name in names:
        text = str(name)
        match = LIST_ITEM.match(text)
        if match and match["list"] in vocabulary.facts:
            continue
        if text not in known_names and not text.startswith("_"):
            odd.append(text)
    return odd
