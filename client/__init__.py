"""A small typed client for the lexgate decision API (httpx + pydantic, nothing else).

    from lexgate.client import LexgateClient

    with LexgateClient("https://lexgate.internal", api_key="lxg_…") as lexgate:
        answer = lexgate.decide({"purposes": ["marketing"], "legal_basis": "consent"})
        if answer.decision.status == "denied": ...

See client/README.md; a worked CRM integration is client/examples/crm_export_hook.py.
"""

from .calls import RetryPolicy
from .errors import LexgateApiError, LexgateError, LexgateUnavailable
from .http import AsyncLexgateClient, LexgateClient
from .models import (
    Decision,
    DecisionPage,
    DecisionResponse,
    DecisionSummary,
    LogEntry,
    LogReceipt,
    RecordResult,
    RegimeDecision,
    RetentionResult,
    Violation,
)

__all__ = [
    "AsyncLexgateClient",
    "Decision",
    "DecisionPage",
    "DecisionResponse",
    "DecisionSummary",
    "LexgateApiError",
    "LexgateClient",
    "LexgateError",
    "LexgateUnavailable",
    "LogEntry",
    "LogReceipt",
    "RecordResult",
    "RegimeDecision",
    "RetentionResult",
    "RetryPolicy",
    "Violation",
]
