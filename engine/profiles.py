"""Organisation profiles: the facts about an organisation that do not change between its
operations (shared/DESIGN.md, "Organisation profiles").

A profile is operation JSON holding only organisation facts (`organisation facts …` in
policies/common/levels.policy). It is validated like an operation, and each fact in it must be
an organisation fact: an operation fact in a profile is an error naming its path. When an
operation is decided with a profile, the profile's facts are merged under the operation's (a
fact the operation states wins, and the decision says so).

`"enable": ["INTERNAL"]` in a profile turns on internal regimes (`kind internal` in the
policies: the organisation's own rules, stricter than the law), which are off by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .vocabulary import FieldError, OperationError, OperationSchema


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    version: int | None
    facts: Mapping[str, Any]  # validated, typed, keyed by fact path
    enable: tuple[str, ...] = ()  # internal regimes this organisation's decisions run

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "facts": sorted(self.facts),
            "enable": list(self.enable),
        }


ENABLE = "enable"
MAX_ENABLE = 16  # internal regimes one profile may enable


def _enabled(data: Any, internal: frozenset[str]) -> tuple[str, ...]:
    """The `enable` list of a profile: names of internal regimes of the bundle."""
    names = data.get(ENABLE, []) if isinstance(data, Mapping) else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise OperationError([FieldError(ENABLE, "a list of internal regime names")])
    if len(names) > MAX_ENABLE:
        raise OperationError([FieldError(ENABLE, f"at most {MAX_ENABLE} regimes")])
    known = ", ".join(sorted(internal)) or "none in these policies"
    wrong = [
        FieldError(f"{ENABLE}[{i}]", f"`{name}` is not an internal regime (internal: {known})")
        for i, name in enumerate(names)
        if name not in internal
    ]
    if wrong:
        raise OperationError(wrong)
    return tuple(dict.fromkeys(names))


def load_profile(
    schema: OperationSchema,
    data: Any,
    profile_id: str = "profile",
    version: int | None = None,
    internal: frozenset[str] = frozenset(),
) -> Profile:
    """Validate profile JSON. Raises OperationError naming each wrong field. `internal`: the
    bundle's internal regimes, which `enable` may name."""
    enable = _enabled(data, internal)
    if isinstance(data, Mapping) and ENABLE in data:
        data = {k: v for k, v in data.items() if k != ENABLE}
    if isinstance(data, Mapping) and "as_of" in data:
        raise OperationError(
            [FieldError("as_of", "a profile holds facts, not the date of an operation")]
        )
    facts, _ = schema.validate(data)
    organisation = schema.vocabulary.organisation
    wrong = [
        FieldError(
            path,
            "describes an operation, not the organisation: send it with the "
            "operation (organisation facts: policies/common/levels.policy)",
        )
        for path in sorted(facts)
        if path not in organisation
    ]
    if wrong:
        raise OperationError(wrong)
    return Profile(profile_id, version, facts, enable)


@dataclass(frozen=True, slots=True)
class ProfileUse:
    """What a decision took from a profile."""

    id: str
    version: int | None
    facts: tuple[str, ...]  # the profile's facts the decision used
    overridden: tuple[str, ...]  # the profile's facts the operation stated itself
    enable: tuple[str, ...] = ()  # the internal regimes the profile enabled

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "facts": list(self.facts),
            "overridden_by_operation": list(self.overridden),
        }
        if self.enable:
            data["enable"] = list(self.enable)
        return data


def merged(profile: Profile, facts: Mapping[str, Any]) -> tuple[dict[str, Any], ProfileUse]:
    """The operation's facts over the profile's, and what came from where."""
    overridden = tuple(sorted(p for p in profile.facts if facts.get(p) is not None))
    used = tuple(sorted(p for p in profile.facts if facts.get(p) is None))
    result = {**profile.facts, **{k: v for k, v in facts.items() if v is not None}}
    return result, ProfileUse(profile.id, profile.version, used, overridden, profile.enable)
