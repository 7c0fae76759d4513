"""Wire models of the API. Request envelopes are validated with them; the response models
describe (for OpenAPI and schemathesis) the JSON the engine's `to_dict()` produces. Response
models allow extra keys so that an engine adding a field is not a contract violation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

Status = Literal["denied", "undetermined", "allowed_with_obligations", "allowed", "not_applicable"]
_OPEN = ConfigDict(extra="allow")
_CLOSED = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------------
# `operation` is typed `dict` here and validated by the loaded bundle's own model; the OpenAPI
# document replaces it with a reference to the bundle's generated `Operation` schema.


class DecisionRequest(BaseModel):
    model_config = _CLOSED
    operation: dict[str, Any] = Field(description="the operation to decide (see `Operation`)")
    currency: str = Field("EUR", description="reporting currency for exposure amounts")
    explain: StrictBool = Field(False, description="include every rule's trace")
    profile: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="an organisation profile (PUT /v1/profiles/{id}) whose facts are merged "
        "under the operation's",
    )
    profile_version: int | None = Field(
        None, ge=1, le=10_000, description="that version (default: the latest)"
    )
    questions: StrictBool = Field(
        False, description="for undetermined regimes, the fewest missing facts that decide them"
    )
    remediate: StrictBool = Field(
        False,
        description="for denied or undetermined regimes, the smallest changes to "
        "controllable facts that make them allowed, with the exposure each removes",
    )


class ProfileOut(BaseModel):
    model_config = _OPEN
    id: str
    version: int
    time: str
    profile: dict[str, Any] = Field(description="the organisation facts, as sent")
    log: dict[str, Any] | None = Field(description="the version's entry in the decision log")


class ProfileList(BaseModel):
    model_config = _OPEN
    profiles: list[dict[str, Any]] = Field(description="{id, latest_version} for each profile")


class BatchRequest(BaseModel):
    model_config = _CLOSED
    operations: list[dict[str, Any]] = Field(description="operations to decide, in order")
    currency: str = Field("EUR", description="reporting currency for exposure amounts")
    explain: StrictBool = Field(False, description="include every rule's trace")


# --- decisions ------------------------------------------------------------------------------


class MoneyOut(BaseModel):
    model_config = _OPEN
    amount: str = Field(description="exact decimal, as a string")
    currency: str


_AT_LEAST = (
    "when `max` is null because a fact or rate is missing: what the known parts "
    "already add up to, a floor under the unknown maximum"
)


class ReportingRange(BaseModel):
    model_config = _OPEN
    min: MoneyOut | None
    max: MoneyOut | None
    max_at_least: MoneyOut | None = Field(None, description=_AT_LEAST)


class StepOut(BaseModel):
    model_config = _OPEN
    name: str = Field(description="a definition the fine formula read")
    value: Any


class ExposureLineOut(BaseModel):
    model_config = _OPEN
    fine: str
    title: str
    payer: str
    cite: str | None
    min: MoneyOut | None
    max: MoneyOut | None
    max_at_least: MoneyOut | None = Field(None, description=_AT_LEAST)
    reporting: ReportingRange
    steps: list[StepOut] = Field(description="intermediate figures of the formula, in order")
    missing: list[str]
    notes: list[str]


class ExceptionNotAppliedOut(BaseModel):
    model_config = _OPEN
    exception: str
    title: str
    cite: str | None
    missing: list[str] = Field(description="facts the exception reads that were not stated")
    notes: list[str]


class ViolationOut(BaseModel):
    model_config = _OPEN
    rule: str
    title: str
    cite: str | None
    exposure: list[ExposureLineOut]
    facts: dict[str, Any] = Field(description="facts the rule read (null = missing)")
    notes: list[str]
    exceptions_not_applied: list[ExceptionNotAppliedOut] = Field(
        default_factory=list,
        description="exceptions that did not excuse the violation while facts they read were not"
        " stated (e.g. a defence not invoked): stating them may change the answer",
    )


class ObligationOut(BaseModel):
    model_config = _OPEN
    rule: str
    text: str
    within: str | None
    cite: str | None
    confirm: list[str] = Field(
        description="a duty the operation did not state as met: the facts that would confirm "
        "it (stated false, each is a violation of the rule)"
    )
    depends_on: list[str] = Field(
        description="owed conditionally: the missing facts that decide whether it is owed"
    )


class UndeterminedRuleOut(BaseModel):
    model_config = _OPEN
    rule: str
    title: str
    cite: str | None
    missing: list[str] = Field(description="the missing facts that would decide it")
    note: str | None = Field(None, description="how the engine tried to settle it")


class NotAssessedOut(BaseModel):
    model_config = _OPEN
    topic: str
    title: str
    reason: str
    cite: str | None
    rules: list[str]


class DerivedFactOut(BaseModel):
    model_config = _OPEN
    path: str
    value: Any
    because: list[str] = Field(description="the facts the derivation read")
    cite: str | None


class RuleTraceOut(BaseModel):
    model_config = _OPEN
    rule: str
    title: str
    cite: str | None
    outcome: str
    facts: dict[str, Any]
    missing: list[str]
    exceptions: list[str]
    note: str | None = None


class AggregationOut(BaseModel):
    model_config = _OPEN
    method: str
    cite: str | None


class AmountOut(BaseModel):
    model_config = _OPEN
    min: MoneyOut | None
    max: MoneyOut | None
    max_at_least: MoneyOut | None = Field(None, description=_AT_LEAST)
    reporting: ReportingRange


class RegimeDecisionOut(BaseModel):
    model_config = _OPEN
    regime: str
    title: str
    status: Status
    reasons: list[str]
    violations: list[ViolationOut]
    obligations: list[ObligationOut]
    missing: list[str]
    undetermined_rules: list[UndeterminedRuleOut] = Field(
        description="rules some completion of the missing facts would violate and another not"
    )
    not_assessed: list[NotAssessedOut] = Field(
        description="topics (a breach, a request) the operation does not describe: not assessed"
    )
    currency: str
    aggregation: AggregationOut
    exposure: dict[str, AmountOut]
    notes: list[str]
    trace: list[RuleTraceOut] | None = Field(None, description="only with `explain`")


class DecisionOut(BaseModel):
    model_config = _OPEN
    status: Status
    as_of: str = Field(description="the date the law was applied at")
    currency: str
    bundle_hash: str
    exposure: ReportingRange
    missing: list[str]
    derived: list[DerivedFactOut] = Field(
        description="facts the operation did not state, filled in by the policies' derivations"
    )
    regimes: dict[str, RegimeDecisionOut]


class LogReceipt(BaseModel):
    model_config = _OPEN
    seq: int = Field(description="position in the decision log")
    entry_hash: str


class DecisionResponse(BaseModel):
    model_config = _OPEN
    decision_id: str = Field(description="UUID; `GET /v1/decisions/{id}` returns the log entry")
    time: str = Field(description="UTC time the decision was made (ISO 8601)")
    bundle_hash: str = Field(description="hash of the policy bundle that decided")
    decision: DecisionOut
    log: LogReceipt | None = Field(description="null only when the log is disabled")


class BatchResponse(BaseModel):
    model_config = _OPEN
    bundle_hash: str
    results: list[DecisionResponse]


class LogEntryOut(BaseModel):
    model_config = _OPEN
    seq: int
    decision_id: str
    time: str
    bundle_hash: str
    operation: dict[str, Any] = Field(description="the operation as received (decimals as text)")
    decision: dict[str, Any]
    prev_hash: str
    entry_hash: str


# --- policies, health, errors ---------------------------------------------------------------


class RegimeSummary(BaseModel):
    model_config = _OPEN
    name: str
    title: str
    currency: str
    in_force_from: str | None
    rules: int
    exceptions: int
    fines: int
    examples: int
    files: list[str]


class PoliciesResponse(BaseModel):
    model_config = _OPEN
    hash: str
    loaded_at: str
    regimes: list[RegimeSummary]
    facts: int
    currencies: list[str]


class ReloadResponse(BaseModel):
    model_config = _OPEN
    swapped: bool = Field(description="false when the bundle on disk is the one already served")
    previous_hash: str
    hash: str


class HealthResponse(BaseModel):
    model_config = _OPEN
    status: str
    bundle_hash: str | None = None
    log: str | None = None


class FieldErrorOut(BaseModel):
    path: str = Field(description="path of the offending field from the body's root")
    message: str


class ErrorDetail(BaseModel):
    model_config = _OPEN
    code: str
    message: str
    fields: list[FieldErrorOut] | None = None
    diagnostics: list[dict[str, Any]] | None = None
    more_fields: int | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "no API key, or an unknown or revoked one",
        403: "the key lacks the scope this route needs",
        404: "not found",
        408: "the body did not arrive within the server's body timeout",
        413: "the request body is larger than the server's limit",
        415: "the body is not declared as JSON (Content-Type: application/json)",
        422: "the body does not fit its schema; `fields` names each offending path (at most 50,"
        " and `more_fields` counts the rest)",
        503: "not ready",
    }
    return {s: {"model": ErrorResponse, "description": descriptions[s]} for s in statuses}
