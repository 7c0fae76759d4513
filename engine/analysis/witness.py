"""Example operations: ask the solver for a model with as few stated facts as it can find, write
it as operation JSON, and decide it again with the ordinary evaluator.

Minimal: a soft constraint per fact (leave it unstated) and per list (keep it short), solved by
z3's MaxSMT (`Optimize`) under a time limit; past the limit the first model found is used, still
valid, only less small. Every example is re-decided by `Bundle.decide` before it is shown; the
caller compares the evaluator's decision with what the solver claimed (`agrees`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import z3

from .symbolic import SymbolicOperation

SOLVE_MS = 10_000  # one satisfiability question
MINIMISE_MS = 4_000  # the search for fewer facts, after a model is found


@dataclass(frozen=True, slots=True)
class Answer:
    status: str  # "sat", "unsat" or "unknown" (a time limit, nonlinear arithmetic)
    operation: dict[str, Any] | None = None
    as_of: dt.date | None = None


def check(
    op: SymbolicOperation,
    goal: Any,
    as_of: Any = None,
    *,
    minimise: bool = True,
    extra: Sequence[Any] = (),
) -> Answer:
    """Whether some operation satisfies `goal`; if so a small one, as operation JSON. `as_of`:
    a fixed date, or a z3 Int (the day number the solver picks) with its range in `extra`."""
    solver = z3.Solver()
    solver.set(timeout=SOLVE_MS)
    solver.add(goal, *op.constraints, *extra)
    result = solver.check()
    if result == z3.unsat:
        return Answer("unsat")
    if result != z3.sat:
        return Answer("unknown")
    model = solver.model()
    if minimise:
        model = _smaller(op, goal, extra, model)
    day = as_of
    if as_of is not None and not isinstance(as_of, dt.date):
        day = dt.date.fromordinal(model.eval(as_of, model_completion=True).as_long())
    return Answer("sat", op.operation(model, day), day)


def _smaller(op: SymbolicOperation, goal: Any, extra: Sequence[Any], model: Any) -> Any:
    optimiser = z3.Optimize()
    optimiser.set(timeout=MINIMISE_MS)
    optimiser.add(goal, *op.constraints, *extra)
    for soft in op.soft_unstated():
        optimiser.add_soft(soft)
    for lst in op.lists.values():
        for k in range(op.bound):  # one point per entry: the shortest list
            optimiser.add_soft(lst.length <= k)
    if optimiser.check() == z3.sat:
        return optimiser.model()
    return model  # the time limit: the first model, valid if not the smallest


def decided(bundle: Any, operation: dict[str, Any]) -> Any:
    """The evaluator's decision of an example operation (explained: exceptions in the trace)."""
    return bundle.decide(operation, explain=True)


def regime_view(decision: Any, regime: str) -> dict[str, Any]:
    """What the analysis compares of one regime's decision."""
    found = decision.regimes.get(regime)
    if found is None:
        return {"status": "absent", "violations": [], "obligations": [], "owed": []}
    return {
        "status": str(found.status),
        "violations": sorted(v.rule for v in found.violations),
        "obligations": sorted({o.rule for o in found.obligations}),
        # what each obligation says: its text and deadline (a change in them is a change)
        "owed": sorted(
            [o.rule, o.text, str(o.within) if o.within is not None else ""]
            for o in found.obligations
        ),
    }


def lists_rule(decision: Any, regime: str, rule: str, kind: str) -> bool:
    view = regime_view(decision, regime)
    return rule in (view["violations"] if kind == "violation" else view["obligations"])
