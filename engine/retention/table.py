"""A table of customer-record metadata, read from CSV or Parquet (or JSON rows) and encoded
column by column for `vector.py`: sets as bit masks over their enum's members, dates as days
since 1970-01-01, flags as booleans, each with a mask of the cells that are known.

CSV cells: sets separated by `;`, `,` or `|` (`none` states an empty set), ISO dates, flags as
true/false/yes/no/1/0. An empty cell is unknown. A column the table lacks is unknown throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..ir import Vocabulary
from ..types import BOOL, DATE, EnumType, SetType

ID = "id"
RECORD = "customer_record"
EMPTY_SET = "none"
_TRUE = ("true", "yes", "y", "t", "1")
_FALSE = ("false", "no", "n", "f", "0")

Bools = npt.NDArray[np.bool_]
Masks = npt.NDArray[np.uint64]
Days = npt.NDArray[np.int64]


class RecordTableError(ValueError):
    """A table lexgate cannot read: names the column and, where it can, the row (1-based)."""

    def __init__(self, message: str, column: str | None = None, row: int | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.row = row


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedRecords:
    ids: pa.Array
    sets: dict[str, tuple[Masks, Bools]]  # column -> (n x words bit masks, known)
    members: dict[str, tuple[str, ...]]  # column -> the enum's members, in bit order
    dates: dict[str, tuple[Days, Bools]]
    flags: dict[str, tuple[Bools, Bools]]

    def __len__(self) -> int:
        return len(self.ids)


def record_fields(vocabulary: Vocabulary) -> dict[str, Any]:
    """The columns a retention table may have: `customer_record`'s fields and their types."""
    record = vocabulary.records.get(RECORD)
    if record is None:
        raise RecordTableError(f"the policy bundle declares no `record {RECORD}`")
    return dict(record.fields)


def read_records(path: str | Path) -> pa.Table:
    """A CSV or Parquet file as an Arrow table (every CSV column read as text)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix == ".csv":
            # the header only (the first block): every column is then read as text, so a
            # date or flag is parsed, and reported by row, the one way (below)
            with pacsv.open_csv(path) as reader:
                names = reader.schema.names
            text = {name: pa.string() for name in names}
            return pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types=text, strings_can_be_null=True),
            )
    except (OSError, pa.ArrowInvalid) as error:
        raise RecordTableError(f"cannot read `{path}`: {error}") from None
    raise RecordTableError(f"`{path}`: a records table is .csv or .parquet, not `{suffix}`")


def records_from_rows(rows: Sequence[Mapping[str, Any]], fields: Mapping[str, Any]) -> pa.Table:
    """JSON rows (the API's batch) as an Arrow table: sets as lists, dates as ISO text."""
    columns: dict[str, list[Any]] = {ID: [str(row.get(ID)) for row in rows]}
    for name, ftype in fields.items():
        values = [row.get(name) for row in rows]
        if isinstance(ftype, SetType):
            columns[name] = [None if v is None else [str(m) for m in v] for v in values]
        elif ftype == DATE:
            columns[name] = [None if v is None else str(v) for v in values]
        elif ftype == BOOL:
            columns[name] = [None if v is None else bool(v) for v in values]
    schema = {ID: pa.string()}
    for name, ftype in fields.items():
        if isinstance(ftype, SetType):
            schema[name] = pa.list_(pa.string())
        elif ftype == DATE:
            schema[name] = pa.string()
        elif ftype == BOOL:
            schema[name] = pa.bool_()
    return pa.table({name: pa.array(values, type=schema[name]) for name, values in columns.items()})


def _first_bad(valid_before: pa.Array, valid_after: pa.Array) -> int:
    bad = np.flatnonzero(
        np.asarray(valid_before.to_numpy(zero_copy_only=False), dtype=bool)
        & ~np.asarray(valid_after.to_numpy(zero_copy_only=False), dtype=bool)
    )
    return int(bad[0]) + 1 if len(bad) else 0


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _set_column(column: pa.Array, enum: EnumType, name: str) -> tuple[Masks, Bools]:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        # A CRM has few distinct combinations of categories: each distinct cell is split and
        # encoded once, and the rows take their masks by index.
        encoded = pc.dictionary_encode(column)
        distinct, known_distinct = _split_set(encoded.dictionary, enum, name, encoded.indices)
        codes = np.asarray(encoded.indices.fill_null(0).to_numpy(), dtype=np.int64)
        known = np.asarray(encoded.indices.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if len(distinct) == 0:
            return np.zeros((len(column), distinct.shape[1]), dtype=np.uint64), known
        return distinct[codes], known & known_distinct[codes]
    return _split_set(column, enum, name, None)


def _split_set(
    column: pa.Array, enum: EnumType, name: str, rows: pa.Array | None
) -> tuple[Masks, Bools]:
    """Bit masks of a text or list column; `rows` maps its cells to table rows (for errors)."""
    n = len(column)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        lists = pc.split_pattern_regex(pc.utf8_trim_whitespace(column), r"\s*[;,|]\s*")
    elif pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lists = column
    else:
        raise RecordTableError(f"column `{name}`: a set is text or a list, not {column.type}")
    known = np.asarray(lists.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
    flat = pc.utf8_trim_whitespace(pc.cast(pc.list_flatten(lists), pa.string()))
    keep = pc.and_(pc.not_equal(flat, ""), pc.not_equal(flat, EMPTY_SET)).fill_null(False)
    flat, parents = flat.filter(keep), parents[np.asarray(keep.to_numpy(zero_copy_only=False))]
    codes = pc.index_in(flat, value_set=pa.array(enum.members, pa.string()))
    if codes.null_count:
        at = int(np.flatnonzero(~np.asarray(codes.is_valid().to_numpy(zero_copy_only=False)))[0])
        cell = int(parents[at])
        if rows is not None:  # the first row holding that distinct cell
            cell = int(np.flatnonzero(np.asarray(rows.fill_null(-1).to_numpy()) == cell)[0])
        raise RecordTableError(
            f"column `{name}`, row {cell + 1}: `{flat[at].as_py()}` is not a member "
            f"of `{enum.name}` (one of: {', '.join(enum.members)})",
            name,
            cell + 1,
        )
    index = np.asarray(codes.to_numpy(), dtype=np.int64)
    words = max(1, -(-len(enum.members) // 64))
    masks = np.zeros((n, words), dtype=np.uint64)
    bits = np.left_shift(np.uint64(1), (index % 64).astype(np.uint64))
    np.bitwise_or.at(masks, (parents, index // 64), bits)
    return masks, known


def _date_column(column: pa.Array, name: str) -> tuple[Days, Bools]:
    try:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.utf8_trim_whitespace(column)
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
            parsed = pc.cast(pc.strptime(column, "%Y-%m-%d", "s", error_is_null=True), pa.date32())
            row = _first_bad(column.is_valid(), parsed.is_valid())
            if row:
                text = column[row - 1].as_py()
                message = f"column `{name}`, row {row}: `{text}` is not a date"
                raise RecordTableError(message, name, row)
            column = parsed
        elif not pa.types.is_date32(column.type):
            column = pc.cast(column, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise RecordTableError(f"column `{name}`: not dates ({error})") from None
    known = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    days = np.asarray(column.fill_null(0).cast(pa.int32()).to_numpy(), dtype=np.int64)
    return days, known


def _flag_column(column: pa.Array, name: str) -> tuple[Bools, Bools]:
    if pa.types.is_boolean(column.type):
        flags = column
    elif pa.types.is_integer(column.type):
        flags = pc.not_equal(column, 0)
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        words = pc.utf8_lower(pc.utf8_trim_whitespace(column))
        words = pc.if_else(pc.equal(words, ""), pa.scalar(None, pa.string()), words)
        truth = pc.is_in(words, value_set=pa.array(_TRUE))
        falsity = pc.is_in(words, value_set=pa.array(_FALSE))
        flags = pc.if_else(truth, True, pc.if_else(falsity, False, pa.scalar(None, pa.bool_())))
        row = _first_bad(words.is_valid(), flags.is_valid())
        if row:
            raise RecordTableError(
                f"column `{name}`, row {row}: `{words[row - 1].as_py()}` is not true or false",
                name,
                row,
            )
    else:
        raise RecordTableError(f"column `{name}`: a flag is true or false, not {column.type}")
    known = np.asarray(flags.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(flags.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return values, known


def encode_records(table: pa.Table, vocabulary: Vocabulary) -> EncodedRecords:
    """The table's columns encoded; a column of `customer_record` the table lacks is unknown."""
    n = table.num_rows
    fields = record_fields(vocabulary)
    ids = _column(table, ID) if ID in table.column_names else pa.array(np.arange(1, n + 1))
    sets: dict[str, tuple[Masks, Bools]] = {}
    members: dict[str, tuple[str, ...]] = {}
    dates: dict[str, tuple[Days, Bools]] = {}
    flags: dict[str, tuple[Bools, Bools]] = {}
    unknown = np.zeros(n, dtype=bool)
    for name, ftype in fields.items():
        present = name in table.column_names
        if isinstance(ftype, SetType) and isinstance(ftype.element, EnumType):
            members[name] = ftype.element.members
            words = max(1, -(-len(ftype.element.members) // 64))
            sets[name] = (
                _set_column(_column(table, name), ftype.element, name)
                if present
                else (np.zeros((n, words), dtype=np.uint64), unknown)
            )
        elif ftype == DATE:
            dates[name] = (
                _date_column(_column(table, name), name)
                if present
                else (np.zeros(n, np.int64), unknown)
            )
        elif ftype == BOOL:
            flags[name] = (
                _flag_column(_column(table, name), name)
                if present
                else (np.zeros(n, bool), unknown)
            )
    return EncodedRecords(ids=ids, sets=sets, members=members, dates=dates, flags=flags)


def decode_value(value: Any, ftype: Any) -> Any:
    """One JSON value as the scalar evaluator reads it (the API's small batches)."""
    if value is None:
        return None
    if isinstance(ftype, SetType):
        return frozenset(value)
    if ftype == DATE:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return bool(value)


def missing_columns(table: pa.Table, vocabulary: Vocabulary) -> list[str]:
    return [name for name in record_fields(vocabulary) if name not in table.column_names]
