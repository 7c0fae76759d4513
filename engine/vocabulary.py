"""The operation vocabulary: pydantic model and JSON Schema generated from the `fact`, `enum`
and `record` declarations in policies/common, and the conversion of a validated operation to the
flat fact mapping the evaluator reads. Adding a fact to the policies needs no Python change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    WithJsonSchema,
    create_model,
)

from .diagnostics import NO_SPAN, Diagnostic, LexgateError, did_you_mean
from .error_codes import FieldCode
from .geography_codes import PLACES
from .ir import FactInfo, Vocabulary
from .types import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    NUMBER,
    PERCENT,
    TEXT,
    UNITS,
    DurationType,
    EnumType,
    ListType,
    MoneyType,
    SetType,
    Type,
)
from .values import KNOWN_CURRENCIES, Duration, Money, Percent

CODE_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"
_FORBID = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    message: str
    # What callers branch on; the message is for people and may be reworded.
    code: FieldCode = FieldCode.INVALID

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class OperationError(LexgateError):
    """An operation does not fit the vocabulary; each error names its field path."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__([Diagnostic("E0401", f"{e.path}: {e.message}", NO_SPAN) for e in errors])


# Amounts below a quadrillion cover any real turnover and keep every reported figure exact in
# the engine's 40-digit arithmetic (a cent of EUR 999 trillion needs 17 digits). More decimals
# than a currency has are accepted and kept; they only ever matter below the reported cent.
MAX_AMOUNT = Decimal(10) ** 15
_DECIMAL_TEXT = r"^\d{1,15}(\.\d+)?$"


def _exact_decimal(value: Any) -> Any:
    # JSON numbers arrive as Decimal (parsed with parse_float=Decimal) or int; a float that got
    # here anyway goes through its shortest repr, never its binary expansion
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, str):
        if not re.fullmatch(_DECIMAL_TEXT, value.strip()):
            raise ValueError('expected a plain decimal number such as "1200000.50"')
        value = Decimal(value.strip())
    if isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError("expected a number")
    if value < 0:
        raise ValueError("must not be negative")
    if value >= MAX_AMOUNT:
        raise ValueError("must be below 1,000,000,000,000,000")
    return value


class _NotWholeNumber(ValueError):
    """Tells `_errors` which code a failed count gets, without reading the message."""


def _whole_number(value: Any) -> int:
    # JSON Schema's "integer" admits 14453.0; so do we, but not 14453.5 and not true/false
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 15:
        # Before int(): int(Decimal("1e999999")) builds a million-digit integer, holding the
        # interpreter for tens of seconds.
        raise ValueError("must be at most 1,000,000,000,000,000")
    if (
        isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()
    ) or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _NotWholeNumber("expected a whole number")
    if value < 0:
        raise ValueError("must not be negative")
    if value > MAX_COUNT:
        raise ValueError("must be at most 1,000,000,000,000,000")
    return value


# "5%" (0-100, up to 6 decimals) or an exact fraction written as a string, "0.05" (0-1)
_PERCENT_TEXT = (
    r"^\s*(?:(?P<percent>100(?:\.0{1,6})?|\d{1,2}(?:\.\d{1,6})?)\s*%"
    r"|(?P<fraction>0(?:\.\d{1,8})?|1(?:\.0{1,8})?))\s*$"
)
# the same, without Python's named groups, for JSON Schema (ECMA-262 regular expressions)
_PERCENT_SCHEMA_TEXT = _PERCENT_TEXT.replace("?P<percent>", "").replace("?P<fraction>", "")
_PERCENT_HELP = 'expected a fraction from 0 to 1 such as 0.05, or a string such as "5%"'


def _percent(value: Any) -> Decimal:
    """A fraction (0.05, a JSON number) or a percentage string ("5%"), exactly as the JSON
    Schema says: 0 to 100%, at most 6 decimals in the string form."""
    if isinstance(value, str):
        match = re.fullmatch(_PERCENT_TEXT, value, flags=re.ASCII)
        if match is None:
            raise ValueError(_PERCENT_HELP)
        if match["percent"] is not None:
            return Decimal(match["percent"]) / 100
        return Decimal(match["fraction"])
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(_PERCENT_HELP)  # an object or array too: a 422, never a TypeError
    fraction = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not fraction.is_finite() or not (0 <= fraction <= 1):
        raise ValueError("a percentage must lie between 0% and 100%")
    return fraction


_DECIMAL_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1e15},
        {"type": "string", "pattern": _DECIMAL_TEXT},
    ]
}
NonNegativeDecimal = Annotated[
    Decimal, PlainValidator(_exact_decimal), WithJsonSchema(_DECIMAL_SCHEMA)
]
ExactDecimal = NonNegativeDecimal  # every number in the vocabulary is a non-negative quantity
PercentValue = Annotated[
    Decimal,
    PlainValidator(_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": _PERCENT_SCHEMA_TEXT},
            ],
            "description": 'a fraction (0.05) or a percentage string ("5%"), 0-100%',
        }
    ),
]
MAX_COUNT = 10**15
CountValue = Annotated[
    int,
    PlainValidator(_whole_number),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_COUNT}),
]
_CODE_HELP = "expected an ISO 3166 code such as DE or US-CA"
_CODE = re.compile(CODE_PATTERN)


def _place_code(value: Any) -> str:
    """An ISO 3166-1 alpha-2 country code or a US state (US-CA): a code no rule knows would
    silently make a regime not applicable, so it is an error at its path."""
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ValueError(_CODE_HELP)
    if value not in PLACES:
        raise ValueError(
            f"`{value}` is not an ISO 3166-1 country code or a US state "
            "(US-CA); " + _CODE_HELP.removeprefix("expected ").replace("an ISO", "use an ISO")
        )
    return value


CodeValue = Annotated[
    str,
    PlainValidator(_place_code),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(PLACES),
            "description": "ISO 3166-1 alpha-2 country code, or a US state as US-CA",
        }
    ),
]

_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_DATE = re.compile(_DATE_TEXT)


def _iso_date(value: Any) -> dt.date:
    """A date written as an ISO 8601 string (2025-06-01); a number is not a date (`0` would
    otherwise be read as 1970-01-01)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"`{value}` is not a calendar date") from None
    raise ValueError("expected a date as a string such as 2025-06-01")


DateValue = Annotated[
    dt.date,
    PlainValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DATE_TEXT}),
]

# Limits on every list an operation may carry (shown as maxItems in the JSON Schema): a set
# of codes or enum members never needs more than there are places (306); a record list
# (transfers, disclosures) 256 records, decided in a few milliseconds. Without them one
# request of 100,000 items held a server for seconds and wrote a 26 MB log entry.
MAX_SET_ITEMS = 400
MAX_RECORDS = 256
# Field errors reported for one operation: enough to fix a request, bounded for a hostile one.
MAX_FIELD_ERRORS = 100


def money_model(currencies: frozenset[str] | None = None) -> type[BaseModel]:
    """The wire model of money: the currencies the bundle can convert (a declared rate, or a
    regime's own); every currency lexgate knows when no bundle says."""
    allowed: Any = Literal[tuple(sorted(currencies or KNOWN_CURRENCIES))]
    model: type[BaseModel] = create_model(
        "MoneyValue",
        __config__=_FORBID,
        amount=(NonNegativeDecimal, ...),
        currency=(allowed, ...),
    )
    return model


MoneyValue = money_model()


def _annotation(
    t: Type,
    description: str | None,
    records: dict[str, type[BaseModel]],
    money: type[BaseModel] = MoneyValue,
) -> Any:
    if t == BOOL:
        return StrictBool
    if t == COUNT:
        return CountValue
    if t == NUMBER:
        return ExactDecimal
    if t == PERCENT:
        return PercentValue
    if t == DATE:
        return DateValue
    if t == TEXT:
        return str
    if t == CODE:
        return CodeValue
    if isinstance(t, MoneyType):
        return money
    if isinstance(t, DurationType):
        return NonNegativeDecimal
    if isinstance(t, EnumType):
        return Literal[t.members]
    if isinstance(t, SetType):
        element = _annotation(t.element, None, records, money)
        return Annotated[list[element], Field(max_length=MAX_SET_ITEMS)]  # type: ignore[valid-type]
    if isinstance(t, ListType):
        record_model = records[t.element.name]
        return Annotated[list[record_model], Field(max_length=MAX_RECORDS)]  # type: ignore[valid-type]
    raise TypeError(f"no wire format for {t}")  # pragma: no cover


def _field(annotation: Any, description: str | None) -> Any:
    return (annotation | None, Field(default=None, description=description))


class OperationSchema:
    """The pydantic model of an operation and the conversion to facts, built from a bundle's
    vocabulary once per bundle."""

    def __init__(self, vocabulary: Vocabulary, currencies: frozenset[str] | None = None):
        self.vocabulary = vocabulary
        self.units = {p: f.unit for p, f in vocabulary.facts.items()}
        self.money = money_model(currencies) if currencies else MoneyValue
        records: dict[str, type[BaseModel]] = {}
        for record in vocabulary.records.values():
            fields = {
                name: _field(_annotation(ftype, None, records, self.money), None)
                for name, ftype in record.fields
            }
            records[record.name] = create_model(
                _model_name(record.name),
                __config__=_FORBID,
                __doc__=vocabulary.descriptions.get(record.name),
                **fields,
            )
        self.record_models = records
        self.model = self._group_model("Operation", "", list(vocabulary.facts.values()), records)

    def _group_model(
        self, name: str, prefix: str, facts: list[FactInfo], records: dict[str, type[BaseModel]]
    ) -> type[BaseModel]:
        fields: dict[str, Any] = {}
        groups: dict[str, list[FactInfo]] = {}
        for fact in facts:
            rest = fact.path[len(prefix) :]
            head, _, tail = rest.partition(".")
            if tail:
                groups.setdefault(head, []).append(fact)
            else:
                description = fact.description
                if fact.unit:
                    description = f"{description or ''} (in {fact.unit})".strip()
                fields[head] = _field(
                    _annotation(fact.type, description, records, self.money), description
                )
        for head, members in groups.items():
            fields[head] = _field(
                self._group_model(_model_name(prefix + head), f"{prefix}{head}.", members, records),
                None,
            )
        if not prefix:
            fields["as_of"] = _field(
                DateValue, "the date the law is applied at, as 2025-06-01 (default: today)"
            )
        return create_model(name, __config__=_FORBID, **fields)

    def json_schema(self) -> dict[str, Any]:
        return self.model.model_json_schema()

    def profile_json_schema(
        self, ref_template: str = "#/$defs/{model}", internal: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The JSON Schema of an organisation profile: the operation's shape with only the
        organisation facts (policies/common/levels.policy), and no `as_of`. `internal`: the
        bundle's internal regimes, the only names `enable` accepts (so a client reading the
        schema cannot send one the service refuses)."""
        organisation = self.vocabulary.organisation
        facts = [f for f in self.vocabulary.facts.values() if f.path in organisation]
        model = self._group_model("Profile", "", facts, self.record_models)
        schema = model.model_json_schema(ref_template=ref_template)
        schema.get("properties", {}).pop("as_of", None)
        names = sorted(internal)
        schema.setdefault("properties", {})["enable"] = {
            "type": "array",
            # no internal regime in the bundle: only the empty list (an empty enum is invalid)
            "items": {"type": "string", "enum": names} if names else {"type": "string"},
            "maxItems": 16 if names else 0,
            "description": "internal regimes (`kind internal`) to run for this organisation",
        }
        return schema

    # ---- operation -> facts ------------------------------------------------------------------

    def validate(self, operation: Any) -> tuple[dict[str, Any], dt.date | None]:
        """Validate an operation (parsed JSON) and return (facts, as_of). Raises
        `OperationError` naming each bad field's path."""
        if not isinstance(operation, Mapping):
            raise OperationError([FieldError("$", "an operation is a JSON object")])
        try:
            model = self.model.model_validate(operation)
        except ValidationError as error:
            raise OperationError(self._errors(error)) from None
        data = model.model_dump(exclude_none=True)
        as_of = data.pop("as_of", None)
        facts: dict[str, Any] = {}
        self._flatten(data, "", facts)
        return facts, as_of

    def _flatten(self, data: Mapping[str, Any], prefix: str, facts: dict[str, Any]) -> None:
        for key, value in data.items():
            path = prefix + key
            info = self.vocabulary.facts.get(path)
            if info is None:
                self._flatten(value, path + ".", facts)
            else:
                facts[path] = self.typed(value, info.type, info.unit)

    def typed(self, value: Any, t: Type, unit: str | None) -> Any:
        if isinstance(t, MoneyType):
            return Money(value["amount"], value["currency"])
        if t == PERCENT:
            return Percent(value)
        if isinstance(t, DurationType):
            factor = UNITS[unit][1] if unit else 1
            return Duration(value * factor, t.dimension)
        if isinstance(t, SetType):
            return frozenset(value)
        if isinstance(t, ListType):
            fields = dict(t.element.fields)
            return [
                {
                    name: self.typed(v, fields[name], _base_unit(fields[name]))
                    for name, v in record.items()
                    if v is not None
                }
                for record in value
            ]
        return value

    def _errors(self, error: ValidationError) -> list[FieldError]:
        errors = []
        items = error.errors(include_url=False)
        if len(items) > MAX_FIELD_ERRORS:
            # 10,000 unknown keys are 10,000 errors, each with a did-you-mean: name the first
            # ones and count the rest.
            rest = len(items) - MAX_FIELD_ERRORS
            items = items[:MAX_FIELD_ERRORS]
        else:
            rest = 0
        for item in items:
            loc = [
                p
                for p in item["loc"]
                if not (
                    isinstance(p, str)
                    and p.startswith(
                        (
                            "function-",
                            "literal[",
                            "list[",
                            "constrained-",
                            "decimal",
                            "lax-",
                            "json-or-python",
                        )
                    )
                )
            ]
            path = _path(loc)
            kind = item["type"]
            code = FieldCode.INVALID
            if kind == "extra_forbidden":
                parent = _path(loc[:-1])
                known = self._known_fields(parent)
                hint = did_you_mean(str(loc[-1]), known)
                message = "unknown field" + (f"; {hint}" if hint else "")
            elif kind == "literal_error":
                expected = item.get("ctx", {}).get("expected", "")
                message = "expected one of " + expected.replace("'", "")
            elif kind in ("bool_type", "bool_parsing"):
                message = "expected true or false"
            elif kind in ("int_type", "int_parsing", "int_from_float"):
                message = "expected a whole number"
                code = FieldCode.WHOLE_NUMBER
            elif kind == "string_pattern_mismatch" and CODE_PATTERN in str(item.get("ctx", {})):
                message = "expected an ISO 3166 code such as DE or US-CA"
            else:
                message = item["msg"][0].lower() + item["msg"][1:]
                message = message.replace("Value error, ", "").replace("value error, ", "")
                if isinstance(item.get("ctx", {}).get("error"), _NotWholeNumber):
                    code = FieldCode.WHOLE_NUMBER
            errors.append(FieldError(path or "$", message, code))
        if rest:
            errors.append(FieldError("$", f"{rest} more errors like these were not listed"))
        return errors

    def _known_fields(self, parent: str) -> list[str]:
        prefix = re.sub(r"\[\d+\]", "", parent)
        if prefix:
            for fact in self.vocabulary.facts.values():
                if fact.path == prefix and isinstance(fact.type, ListType):
                    return [n for n, _ in fact.type.element.fields]
            prefix += "."
        names = {
            f.path[len(prefix) :].split(".")[0]
            for f in self.vocabulary.facts.values()
            if f.path.startswith(prefix)
        }
        return sorted(names | ({"as_of"} if not prefix else set()))


def _base_unit(t: Type | None) -> str | None:
    if isinstance(t, DurationType):
        return next(u for u, (dim, factor) in UNITS.items() if dim == t.dimension and factor == 1)
    return None


def _path(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _model_name(name: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[._]", name))


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """An object that repeated a key: marked, so its path can be found and reported."""

    duplicate: str = ""


def _objects(repeated: list[bool]) -> Any:
    """An `object_pairs_hook` that builds dicts as json does and notes a repeated key (the
    tree is walked for its path only then: most bodies have none)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) == len(pairs):
            return result
        seen: set[str] = set()
        marked = _DuplicateKeys(result)
        marked.duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        repeated.append(True)
        return marked

    return build


def _find_duplicate(value: Any, path: str) -> FieldError | None:
    if isinstance(value, _DuplicateKeys):
        where = f"{path}.{value.duplicate}" if path else value.duplicate
        return FieldError(
            where,
            "this key appears more than once in its object; JSON keys must "
            "be unique (which value was meant is ambiguous)",
        )
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        child = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        found = _find_duplicate(item, child)
        if found is not None:
            return found
    return None


def _integer(text: str) -> int | Decimal:
    # Python refuses to convert integers over 4,300 digits (with an interpreter-internal
    # message); as a Decimal the value reaches the vocabulary, whose bound names its path.
    return int(text) if len(text) <= 40 else Decimal(text)


def load_operation_json(text: str | bytes) -> Any:
    """Parse operation JSON keeping numbers exact (a JSON number becomes the Decimal of its
    text). Raises OperationError on malformed JSON and on an object with a repeated key (the
    last would silently win, and the log would keep only the parsed form)."""
    repeated: list[bool] = []
    try:
        value = json.loads(
            text, parse_float=Decimal, parse_int=_integer, object_pairs_hook=_objects(repeated)
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        where = (
            f" at line {line}, column {error.colno}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        message = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise OperationError([FieldError("$", f"not valid JSON{where}: {message}")]) from None
    duplicate = _find_duplicate(value, "") if repeated else None
    if duplicate is not None:
        raise OperationError([duplicate])
    return value
