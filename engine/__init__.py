"""lexgate's engine: policy language, checker, compiler and evaluator.

The public surface is small on purpose; everything else is internal and may change.

    from . import load_bundle
    bundle = load_bundle("policies")
    decision = bundle.decide({"legal_basis": "none", ...}, as_of=date(2025, 1, 1), currency="EUR")
    decision.status, decision.regimes["GDPR"].violations
"""

from typing import TYPE_CHECKING, Any

from .bundle import Bundle, load_bundle, load_sources
from .decision import Decision, RegimeDecision
from .diagnostics import Diagnostic, LexgateError, PolicyError, render, render_all
from .values import UNKNOWN, Duration, Money, Percent

if TYPE_CHECKING:
    from .tester import run_examples
    from .vocabulary import OperationError, load_operation_json

# Names whose modules load on first use (PEP 562): the operation vocabulary brings pydantic,
# which a warm start that decides validated facts never needs (bench/cold_start.py).
_LAZY = {
    "OperationError": "vocabulary",
    "load_operation_json": "vocabulary",
    "run_examples": "tester",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
