"""Reading a processing register (GDPR Art. 30 record of processing activities) from YAML, CSV
or a spreadsheet (.xlsx, via openpyxl).

YAML is the register's full form: an `organisation` block (Art. 30(1)(a): name, contact, DPO,
representative) and a list of `activities`, each with a name, owner, systems, the Art. 30 words
that are not facts (categories of data subjects, recipients, retention, security measures) and
its `operation`: operation JSON as `lexgate eval` takes it. A table (CSV, or the first sheet of a
workbook) has one activity per row: the columns below are the activity's own, every other column
is a fact path of the vocabulary (`purposes`, `controller.ciio`, `transfers`). A cell holding
JSON (`["DE", "FR"]`, `true`, `[{"destination": "US", …}]`) is read as JSON; otherwise a set fact
takes a list separated by `;` or `,` and anything else the text itself (an enum member, a
country code, a date). Every error names the file and the activity (row or index).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..types import SetType
from ..vocabulary import load_operation_json

# A register lists an organisation's processing activities: thousands at most. The limits keep
# a mistaken input (a customer table instead of the register) from running for hours.
MAX_REGISTER_BYTES = 10_000_000
MAX_ACTIVITIES = 5_000
MAX_TEXT = 2_000  # characters of one descriptive cell

# columns of a table that describe the activity rather than the operation
ACTIVITY_COLUMNS = (
    "id",
    "name",
    "owner",
    "systems",
    "description",
    "data_subjects",
    "recipients",
    "retention",
    "security_measures",
)
ORGANISATION_KEYS = ("name", "contact", "dpo", "representative", "joint_controllers")
SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx")


class RegisterError(ValueError):
    """A register that cannot be read: the message names the file and where in it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    id: str
    name: str
    owner: str
    systems: tuple[str, ...]
    operation: Mapping[str, Any]  # operation JSON (validated by the audit, not here)
    where: str  # "register.yaml: activities[2]" or "register.csv: row 4", for messages
    description: str = ""
    data_subjects: tuple[str, ...] = ()  # Art. 30(1)(c): categories of data subjects
    recipients: tuple[str, ...] = ()  # Art. 30(1)(d), in words (the operation's disclosures too)
    retention: str = ""  # Art. 30(1)(f), in words (the operation's retention.days too)
    security_measures: str = ""  # Art. 30(1)(g), in words (the facts security.* too)


@dataclass(frozen=True, slots=True)
class Register:
    path: str
    organisation: Mapping[str, str] = field(default_factory=dict)  # Art. 30(1)(a)
    activities: tuple[Activity, ...] = ()


def read_register(path: Path, set_facts: Iterable[str] = ()) -> Register:
    """Read a register; `set_facts` are the vocabulary's set-valued fact paths (for tables)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RegisterError(
            f"{path}: a register is YAML (.yaml, .yml), CSV (.csv) or a spreadsheet (.xlsx)"
        )
    try:
        size = path.stat().st_size
    except OSError as error:
        raise RegisterError(f"cannot read `{path}`: {error.strerror}") from None
    if size > MAX_REGISTER_BYTES:
        raise RegisterError(f"{path}: {size:,} bytes; a register may hold {MAX_REGISTER_BYTES:,}")
    if suffix in (".yaml", ".yml"):
        return _from_yaml(path)
    rows = _csv_rows(path) if suffix == ".csv" else _xlsx_rows(path)
    return _from_rows(path, rows, frozenset(set_facts))


def set_fact_paths(vocabulary: Any) -> frozenset[str]:
    """The set-valued facts of a vocabulary (ir.Vocabulary): a table cell lists their members."""
    return frozenset(p for p, info in vocabulary.facts.items() if isinstance(info.type, SetType))


# ---- YAML -------------------------------------------------------------------------------------


def _from_yaml(path: Path) -> Register:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise RegisterError(f"cannot read `{path}`: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise RegisterError(f"{path}{where}: {problem}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("activities"), list):
        raise RegisterError(f"{path}: a register is a mapping with a list of `activities`")
    organisation = data.get("organisation") or {}
    if not isinstance(organisation, Mapping):
        raise RegisterError(f"{path}: organisation: a mapping (name, contact, dpo, …)")
    entries = data["activities"]
    _check_count(path, len(entries))
    activities = []
    for index, entry in enumerate(entries):
        where = f"{path.name}: activities[{index}]"
        if not isinstance(entry, Mapping):
            raise RegisterError(f"{where}: an activity is a mapping (name, owner, operation, …)")
        operation = entry.get("operation")
        if not isinstance(operation, Mapping):
            raise RegisterError(f"{where}.operation: the operation's facts, as a mapping")
        activities.append(_activity(entry, _jsonable(operation), where, index))
    _check_ids(activities)
    return Register(
        str(path),
        {k: _text(organisation.get(k), f"organisation.{k}") for k in ORGANISATION_KEYS},
        tuple(activities),
    )


def _jsonable(value: Any) -> Any:
    """YAML reads dates as dates and 1.5 as a float: back to what operation JSON would hold
    (an ISO date; a number's own text, so no binary float reaches a money amount)."""
    import datetime as dt

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return load_operation_json(repr(value))
    return value


# ---- tables (CSV, xlsx) ----------------------------------------------------------------------


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RegisterError(f"cannot read `{path}`: {error}") from None
    return list(csv.DictReader(io.StringIO(text)))


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise RegisterError(f"cannot read `{path}` as a spreadsheet: {error}") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return []
        names = [str(h).strip() if h is not None else "" for h in header]
        table = []
        for values in rows:
            if values is None or all(v is None or v == "" for v in values):
                continue
            table.append({n: v for n, v in zip(names, values, strict=False) if n})
            if len(table) > MAX_ACTIVITIES:
                break
        return table
    finally:
        book.close()


def _from_rows(path: Path, rows: list[dict[str, Any]], set_facts: frozenset[str]) -> Register:
    _check_count(path, len(rows))
    activities = []
    for index, row in enumerate(rows):
        where = f"{path.name}: row {index + 2}"  # the header is row 1
        operation: dict[str, Any] = {}
        for column, cell in row.items():
            if column is None:
                raise RegisterError(f"{where}: more cells than the header has columns")
            name = column.strip()
            if not name or name in ACTIVITY_COLUMNS or cell is None or cell == "":
                continue
            _put(operation, name, _cell(cell, name in set_facts), f"{where}, column `{name}`")
        entry = {k: row.get(k) for k in ACTIVITY_COLUMNS if row.get(k) not in (None, "")}
        for key in ("systems", "data_subjects", "recipients"):
            words = entry.get(key)
            if isinstance(words, str):
                entry[key] = _split(words)
        activities.append(_activity(entry, operation, where, index))
    _check_ids(activities)
    return Register(str(path), {}, tuple(activities))


def _cell(cell: Any, is_set: bool) -> Any:
    if isinstance(cell, bool | int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else load_operation_json(repr(cell))
    text = str(cell).strip()
    if text[:1] in '[{"' or text in ("true", "false") or _is_number(text):
        try:
            return load_operation_json(text)
        except Exception:  # not JSON after all: read as words below
            pass
    if is_set:
        return _split(text)
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(text: str) -> list[str]:
    separator = ";" if ";" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def _put(operation: dict[str, Any], path: str, value: Any, where: str) -> None:
    """`controller.ciio` = true -> {"controller": {"ciio": true}}."""
    *groups, leaf = path.split(".")
    target = operation
    for group in groups:
        child = target.setdefault(group, {})
        if not isinstance(child, dict):
            raise RegisterError(f"{where}: `{group}` is given as a value and as a group")
        target = child
    target[leaf] = value


# ---- shared ---------------------------------------------------------------------------------


def _activity(entry: Mapping[str, Any], operation: Any, where: str, index: int) -> Activity:
    name = _text(entry.get("name"), f"{where}.name")
    if not name:
        raise RegisterError(f"{where}: an activity needs a `name`")
    return Activity(
        id=_text(entry.get("id"), f"{where}.id") or f"A{index + 1:03d}",
        name=name,
        owner=_text(entry.get("owner"), f"{where}.owner"),
        systems=_words(entry.get("systems"), f"{where}.systems"),
        operation=operation,
        where=where,
        description=_text(entry.get("description"), f"{where}.description"),
        data_subjects=_words(entry.get("data_subjects"), f"{where}.data_subjects"),
        recipients=_words(entry.get("recipients"), f"{where}.recipients"),
        retention=_text(entry.get("retention"), f"{where}.retention"),
        security_measures=_text(entry.get("security_measures"), f"{where}.security_measures"),
    )


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        raise RegisterError(f"{where}: text, not {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise RegisterError(f"{where}: {len(text)} characters; at most {MAX_TEXT}")
    return text


def _words(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(_split(value))
    if not isinstance(value, list):
        raise RegisterError(f"{where}: a list of words")
    return tuple(_text(v, where) for v in value)


def _check_count(path: Path, count: int) -> None:
    if count == 0:
        raise RegisterError(f"{path}: the register lists no activities")
    if count > MAX_ACTIVITIES:
        raise RegisterError(f"{path}: more than {MAX_ACTIVITIES:,} activities")


def _check_ids(activities: list[Activity]) -> None:
    seen: dict[str, str] = {}
    for activity in activities:
        if activity.id in seen:
            raise RegisterError(
                f"{activity.where}: id `{activity.id}` is used by {seen[activity.id]} too"
            )
        seen[activity.id] = activity.where


def operation_json(activity: Activity) -> str:
    """The activity's operation as JSON text (for a table cell or a message)."""
    return json.dumps(activity.operation, ensure_ascii=False, sort_keys=True)
