"""lexgate's engine: policy language, checker, compiler and evaluator.

The public surface is small on purpose; everything else is internal and may change.

    from engine import load_bundle
    bundle = load_bundle("policies")
    decision = bundle.decide({"legal_basis": "none", ...}, as_of=date(2025, 1, 1), currency="EUR")
    decision.status, decision.regimes["GDPR"].violations
"""

from engine.bundle import Bundle, load_bundle, load_sources
from engine.decision import Decision, RegimeDecision
from engine.diagnostics import Diagnostic, LexgateError, PolicyError, render, render_all
from engine.tester import run_examples
from engine.values import UNKNOWN, Duration, Money, Percent
from engine.vocabulary import OperationError, load_operation_json

__all__ = [
    "UNKNOWN",
    "Bundle",
    "Decision",
    "Diagnostic",
    "Duration",
    "LexgateError",
    "Money",
    "OperationError",
    "Percent",
    "PolicyError",
    "RegimeDecision",
    "load_bundle",
    "load_operation_json",
    "load_sources",
    "render",
    "render_all",
    "run_examples",
]
