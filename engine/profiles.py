"""Organisation profiles: the facts about an organisation that do not change between its
operations (shared/DESIGN.md, "Organisation profiles").

A profile is operation JSON holding only organisation facts (`organisation facts …` in
policies/common/levels.policy). It is validated like an operation, and each fact in it must be
an organisation fact: an operation fact in a profile is an error naming its path. When an
operation is decided with a profile, the profile's facts are merged under the operation's (a
fact the operation states wins, and the decision says so).
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

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "facts": sorted(self.facts)}


def load_profile(
    schema: OperationSchema, data: Any, profile_id: str = "profile", version: int | None = None
) -> Profile:
    """Validate profile JSON. Raises OperationError naming each wrong field."""
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
    return Profile(profile_id, version, facts)


@dataclass(frozen=True, slots=True)
class ProfileUse:
    """What a decision took from a profile."""

    id: str
    version: int | None
    facts: tuple[str, ...]  # the profile's facts the decision used
    overridden: tuple[str, ...]  # the profile's facts the operation stated itself

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "facts": list(self.facts),
            "overridden_by_operation": list(self.overridden),
        }


def merged(profile: Profile, facts: Mapping[str, Any]) -> tuple[dict[str, Any], ProfileUse]:
    """The operation's facts over the profile's, and what came from where."""
    overridden = tuple(sorted(p for p in profile.facts if facts.get(p) is not None))
    used = tuple(sorted(p for p in profile.facts if facts.get(p) is None))
    result = {**profile.facts, **{k: v for k, v in facts.items() if v is not None}}
    return result, ProfileUse(profile.id, profile.version, used, overridden)
