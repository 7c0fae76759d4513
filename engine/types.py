"""The policy language's types. Units are part of the type: money carries its currency and a
duration its dimension, so `EUR + USD` and `hours > months` are check-time errors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Type:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MoneyType(Type):
    currency: str | None  # None: a currency fixed only at run time (never mixed unchecked)

    def __str__(self) -> str:
        return f"money in {self.currency}" if self.currency else "money"


@dataclass(frozen=True, slots=True)
class DurationType(Type):
    # hours (hours, days, weeks), months (months, years), business_days: no conversion between
    # dimensions, because a month has no fixed number of days and business days depend on a
    # calendar
    dimension: str

    def __str__(self) -> str:
        return {"hours": "duration in hours/days", "months": "duration in months/years"}.get(
            self.dimension, "duration in business days"
        )


@dataclass(frozen=True, slots=True)
class EnumType(Type):
    members: tuple[str, ...]

    def __str__(self) -> str:
        return f"`{self.name}`"


@dataclass(frozen=True, slots=True)
class SetType(Type):
    element: Type

    def __str__(self) -> str:
        return f"set of {self.element}"


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    fields: tuple[tuple[str, Type], ...]

    def field(self, name: str) -> Type | None:
        return dict(self.fields).get(name)

    def __str__(self) -> str:
        return f"record `{self.name}`"


@dataclass(frozen=True, slots=True)
class ListType(Type):
    element: RecordType

    def __str__(self) -> str:
        return f"list of {self.element.name}"


@dataclass(frozen=True, slots=True)
class MapType(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"map of {self.key} to {self.value}"


BOOL = Type("bool")
COUNT = Type("count")
NUMBER = Type("number")
PERCENT = Type("percent")
DATE = Type("date")
TEXT = Type("text")
CODE = Type("country")
ERROR = Type("<error>")  # poison: an expression that already has a diagnostic

HOURS = DurationType("duration", "hours")
MONTHS = DurationType("duration", "months")
BUSINESS_DAYS = DurationType("duration", "business_days")

# unit word -> (dimension, how many base units one of it is)
UNITS = {
    "hours": ("hours", 1),
    "days": ("hours", 24),
    "weeks": ("hours", 168),
    "months": ("months", 1),
    "years": ("months", 12),
    "business_days": ("business_days", 1),
}
DURATION_TYPES = {"hours": HOURS, "months": MONTHS, "business_days": BUSINESS_DAYS}

# type names a declaration may use besides enums and records
BUILTIN_TYPES: dict[str, Type] = {
    "bool": BOOL,
    "count": COUNT,
    "number": NUMBER,
    "percent": PERCENT,
    "date": DATE,
    "text": TEXT,
    "country": CODE,
    "money": MoneyType("money", None),
    **{unit: DURATION_TYPES[UNITS[unit][0]] for unit in UNITS},
}


def is_numeric(t: Type) -> bool:
    return t in (COUNT, NUMBER)


def compatible(a: Type, b: Type) -> bool:
    """Whether values of `a` and `b` may be compared or combined as the same kind."""
    if a == ERROR or b == ERROR:
        return True
    if is_numeric(a) and is_numeric(b):
        return True
    if isinstance(a, MoneyType) and isinstance(b, MoneyType):
        return a.currency is None or b.currency is None or a.currency == b.currency
    if isinstance(a, SetType) and isinstance(b, SetType):
        return compatible(a.element, b.element)
    return a == b
