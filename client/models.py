"""The service's answers as pydantic models. Open (`extra="allow"`): a field the service adds
later is kept, not refused, so an older client keeps working; tests/client/test_models.py
checks every field declared here against the service's OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["allowed", "allowed_with_obligations", "denied", "not_applicable", "undetermined"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Violation(_Open):
    rule: str
    title: str
    cite: str | None
    exposure: list[dict[str, Any]] = Field(default_factory=list)


class Obligation(_Open):
    rule: str
    text: str
    within: str | None = None


class RegimeDecision(_Open):
    regime: str
    title: str
    status: Status
    violations: list[Violation] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class Decision(_Open):
    status: Status
    as_of: str
    currency: str
    bundle_hash: str
    exposure: dict[str, Any]
    missing: list[str]
    regimes: dict[str, RegimeDecision]


class LogReceipt(_Open):
    seq: int
    entry_hash: str


class DecisionResponse(_Open):
    decision_id: str
    time: str
    bundle_hash: str
    decision: Decision
    log: LogReceipt | None

    @property
    def status(self) -> Status:
        return self.decision.status

    def violations(self) -> list[tuple[str, Violation]]:
        """(regime, violation) of every regime, for a message to the user."""
        return [(n, v) for n, r in self.decision.regimes.items() for v in r.violations]

    def obligations(self) -> list[tuple[str, Obligation]]:
        return [(n, o) for n, r in self.decision.regimes.items() for o in r.obligations]


class LogEntry(_Open):
    seq: int
    decision_id: str
    time: str
    bundle_hash: str
    operation: dict[str, Any]
    decision: dict[str, Any]
    prev_hash: str
    entry_hash: str


class DecisionSummary(_Open):
    seq: int
    decision_id: str
    time: str
    bundle_hash: str
    status: str | None
    regimes: dict[str, str | None]
    profile: str | None
    violations: list[str]
    entry_hash: str


class DecisionPage(_Open):
    decisions: list[DecisionSummary]
    next_cursor: str | None


class RecordResult(_Open):
    id: str
    status: Literal["delete", "anonymise", "held", "undetermined", "keep"]
    action: str | None
    limit: str | None
    title: str | None
    cite: str | None
    due: str | None
    missing: list[str]


class RetentionResult(_Open):
    as_of: str
    bundle_hash: str
    results: list[RecordResult]
    counts: dict[str, int]
    limits: list[dict[str, Any]]


__all__ = [
    "Decision",
    "DecisionPage",
    "DecisionResponse",
    "DecisionSummary",
    "LogEntry",
    "LogReceipt",
    "Obligation",
    "RecordResult",
    "RegimeDecision",
    "RetentionResult",
    "Status",
    "Violation",
]
