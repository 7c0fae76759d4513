"""lexgate's engine: policy language, checker, compiler and evaluator.

The public surface is small on purpose; everything else is internal and may change.

    from . import load_bundle
    bundle = load_bundle("policies")
    decision = bundle.decide({"legal_basis": "none", ...}, as_of=date(2025, 1, 1), currency="EUR")
    decision.status, decision.regimes["GDPR"].violations
"""

from .bundle import Bundle, load_bundle, load_sources
from .decision import Decision, RegimeDecision
from .diagnostics import Diagnostic, LexgateError, PolicyError, render, render_all
from .tester import run_examples
from .values import UNKNOWN, Duration, Money, Percent
from .vocabulary import OperationError, load_operation_json

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
