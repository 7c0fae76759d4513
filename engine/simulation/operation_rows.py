"""One table row to operation JSON and back: the scalar back end's view of a row of the
flattened-operation table (operation_table.py encodes the same conventions for the vectorised
back end, so both back ends see the same facts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import ir
from ..types import (
    BOOL,
    COUNT,
    DATE,
    NUMBER,
    PERCENT,
    DurationType,
    ListType,
    MoneyType,
    SetType,
    Type,
)
from .operation_table import LIST_ITEM, _bool, _decimal, is_null, parse_set


def flatten_operation(operation: Mapping[str, Any], vocabulary: ir.Vocabulary) -> dict[str, Any]:
    """Nested operation JSON -> one table row (the inverse of `row_to_operation`)."""
    row: dict[str, Any] = {}

    def walk(data: Mapping[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = prefix + key
            info = vocabulary.facts.get(path)
            if path == "as_of":
                row["as_of"] = value
            elif info is None and isinstance(value, Mapping):
                walk(value, path + ".")
            elif info is not None and isinstance(info.type, ListType) and value is not None:
                row[f"{path}.length"] = len(value)
                for i, item in enumerate(value):
                    for field, v in item.items():
                        _put(row, f"{path}[{i}].{field}", v)
            elif info is not None and isinstance(info.type, SetType) and value is not None:
                row[path] = "|".join(sorted(str(v) for v in value))
            else:
                _put(row, path, value)

    walk(operation, "")
    return row


def _put(row: dict[str, Any], name: str, value: Any) -> None:
    if isinstance(value, Mapping) and "amount" in value:
        row[f"{name}.amount"] = value["amount"]
        row[f"{name}.currency"] = value.get("currency")
    elif value is not None:
        row[name] = value


def row_to_operation(
    row: Mapping[str, Any], vocabulary: ir.Vocabulary, default_currency: str
) -> dict[str, Any]:
    """One table row -> operation JSON for the scalar back end (validated there like an API
    request). Follows exactly the conventions `Columns` encodes, so both back ends see the same
    facts: a null cell is missing; a null `.currency` makes the money missing; a list without a
    `.length` column is as long as its last position with a value."""
    operation: dict[str, Any] = {}
    money: dict[str, dict[str, Any]] = {}
    items: dict[str, dict[int, dict[str, Any]]] = {}
    lengths: dict[str, Any] = {}
    facts = vocabulary.facts
    for key, value in row.items():
        name = str(key)
        if name == "as_of":
            if not _null_cell(value):
                operation["as_of"] = _date_text(value)
            continue
        match = LIST_ITEM.match(name)
        if match and isinstance(getattr(facts.get(match["list"]), "type", None), ListType):
            record = facts[match["list"]].type.element  # type: ignore[attr-defined]
            field, part = match["field"], "amount"
            if record.field(field) is None and field.endswith((".amount", ".currency")):
                field, part = field.rsplit(".", 1)
            item = items.setdefault(match["list"], {}).setdefault(int(match["index"]), {})
            item.setdefault(field, {})[part] = value
            continue
        if name.endswith(".length") and isinstance(
            getattr(facts.get(name[:-7]), "type", None), ListType
        ):
            lengths[name[:-7]] = value
            continue
        path, part = name, "amount"
        if path not in facts and name.endswith((".amount", ".currency")):
            path, part = name.rsplit(".", 1)
        info = facts.get(path)
        if info is None:
            continue
        if isinstance(info.type, MoneyType):
            money.setdefault(path, {})[part] = value
        elif not _null_cell(value):
            _nested(operation, path)[path.rsplit(".", 1)[-1]] = _wire(value, info.type)
    for path, parts in money.items():
        amount = _money(parts, default_currency)
        if amount is not None:
            _nested(operation, path)[path.rsplit(".", 1)[-1]] = amount
    for path in {*items, *lengths}:
        record = facts[path].type.element  # type: ignore[attr-defined]
        positions = items.get(path, {})
        if path in lengths:
            if _null_cell(lengths[path]):
                continue
            length = int(lengths[path])
        else:
            filled = [
                i
                for i, fields in positions.items()
                if any(not _null_cell(v) for parts in fields.values() for v in parts.values())
            ]
            length = max(filled, default=-1) + 1
        values = []
        for i in range(length):
            element: dict[str, Any] = {}
            for field, parts in positions.get(i, {}).items():
                t = record.field(field)
                if isinstance(t, MoneyType):
                    amount = _money(parts, default_currency)
                    if amount is not None:
                        element[field] = amount
                elif not _null_cell(parts.get("amount")):
                    element[field] = _wire(parts["amount"], t) if t is not None else parts["amount"]
            values.append(element)
        _nested(operation, path)[path.rsplit(".", 1)[-1]] = values
    return operation


def _null_cell(value: Any) -> bool:
    return not isinstance(value, list | tuple | np.ndarray) and is_null(value)


def _money(parts: Mapping[str, Any], default_currency: str) -> dict[str, Any] | None:
    amount = parts.get("amount")
    if _null_cell(amount):
        return None
    if "currency" in parts:
        if _null_cell(parts["currency"]):
            return None
        return {"amount": _wire(amount, NUMBER), "currency": str(parts["currency"])}
    return {"amount": _wire(amount, NUMBER), "currency": default_currency}


def _nested(operation: dict[str, Any], path: str) -> dict[str, Any]:
    node = operation
    for part in path.split(".")[:-1]:
        node = node.setdefault(part, {})
    return node


def _wire(value: Any, t: Type) -> Any:
    """A cell as the JSON value the API would receive (exact: floats via their shortest repr)."""
    if isinstance(t, SetType):
        return parse_set(value)
    if t == BOOL:
        return _bool(value)
    if t == COUNT:
        number = _decimal(value)
        return int(number) if number == number.to_integral_value() else number
    if t == DATE:
        return _date_text(value)
    if t in (NUMBER, PERCENT) or isinstance(t, DurationType | MoneyType):
        return (
            _decimal(value)
            if not (isinstance(value, str) and value.strip().endswith("%"))
            else value
        )
    if isinstance(value, np.generic):
        return value.item()
    return value


def _date_text(value: Any) -> str:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def iter_rows(frame: pd.DataFrame, rows: np.ndarray) -> Iterator[dict[str, Any]]:
    columns = list(frame.columns)
    for values in frame.iloc[rows].itertuples(index=False, name=None):
        yield dict(zip(columns, values, strict=True))
