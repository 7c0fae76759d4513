"""Findings as data: each with a kind, a location (file:line:col), a message, and where it
applies an example operation with the evaluator's decision of it — so the CLI, the playground
and a language server show the same thing (`to_dict`, `diagnostic`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..diagnostics import Diagnostic, Severity, Span


class FindingKind(StrEnum):
    DEAD_RULE = "dead_rule"  # can never fire, on any operation, on any day it is in force
    SWALLOWING_EXCEPTION = "swallowing_exception"  # applies whenever its rule would fire
    EXCEPTIONS_COVER_RULE = "exceptions_cover_rule"  # together they leave the rule dead
    DEAD_EXCEPTION = "dead_exception"  # never applies when its rule would fire
    CONTRADICTORY_OBLIGATIONS = "contradictory_obligations"  # no way to comply with both
    CONTRADICTORY_EXAMPLES = "contradictory_examples"  # the same operation, two answers
    PROVISION_WITHOUT_RULE = "provision_without_rule"  # cited only by dead rules
    NOT_ANALYSED = "not_analysed"  # a construct the translation does not cover
    UNDECIDED = "undecided"  # the solver gave no answer in its time limit
    DISAGREEMENT = "disagreement"  # the evaluator decided an example otherwise (a bug)


# the registry's codes (engine/error_codes.py): warnings, the bundle still loads
CODES: dict[FindingKind, str] = {
    FindingKind.DEAD_RULE: "W0601",
    FindingKind.SWALLOWING_EXCEPTION: "W0602",
    FindingKind.EXCEPTIONS_COVER_RULE: "W0603",
    FindingKind.DEAD_EXCEPTION: "W0604",
    FindingKind.CONTRADICTORY_OBLIGATIONS: "W0605",
    FindingKind.CONTRADICTORY_EXAMPLES: "W0606",
    FindingKind.PROVISION_WITHOUT_RULE: "W0607",
    FindingKind.NOT_ANALYSED: "W0608",
    FindingKind.UNDECIDED: "W0609",
    FindingKind.DISAGREEMENT: "W0610",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    kind: FindingKind
    regime: str
    rule: str | None
    message: str
    span: Span
    related: tuple[Span, ...] = ()
    example: dict[str, Any] | None = None  # operation JSON
    decision: dict[str, Any] | None = None  # the evaluator's decision of it (the regime)
    agrees: bool | None = None  # the evaluator decided the example as the solver claimed

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": CODES[self.kind],
            "kind": str(self.kind),
            "regime": self.regime,
            "rule": self.rule,
            "message": self.message,
            "location": str(self.span),
            "span": self.span.to_dict(),
            "related": [s.to_dict() for s in self.related],
            "example": self.example,
            "decision": self.decision,
            "agrees": self.agrees,
        }

    def diagnostic(self) -> Diagnostic:
        """The finding as a warning diagnostic (the form editors already show)."""
        notes = tuple(f"see also {s}" for s in self.related)
        return Diagnostic(
            CODES[self.kind],
            self.message,
            self.span,
            severity=Severity.WARNING,
            notes=notes,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    findings: tuple[Finding, ...]
    bound: int  # the list length the solver explored
    rules: int  # base rules looked at
    exceptions: int
    regimes: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # regimes not analysed (internal ones: a profile enables them)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "bound": self.bound,
            "bound_note": f"lists (transfers, disclosures) explored up to {self.bound} entries",
            "regimes": list(self.regimes),
            "skipped": list(self.skipped),
            "rules": self.rules,
            "exceptions": self.exceptions,
            "seconds": round(self.seconds, 2),
            "findings": [f.to_dict() for f in self.findings],
        }
