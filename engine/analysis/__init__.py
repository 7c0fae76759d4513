"""Policy analysis with an SMT solver (z3): semantic diff between bundles or dates, dead rules,
swallowing exceptions, contradictory obligations and examples (docs/ANALYSIS.md).

The checked IR is bounded and side-effect free, so each rule translates to a formula over the
facts of one operation (`translate.py`, the symbolic operation in `symbolic.py`). The solver's
answers are operations; each is written as operation JSON (`witness.py`) and decided again by
the ordinary evaluator before it is shown: a disagreement is reported, never hidden.

z3 is imported lazily (inside these modules, which nothing in the engine imports at start-up),
so `import lexgate.engine` does not pay for it.
"""

from __future__ import annotations

# the bound on `transfers` / `disclosures` (any list of records) the solver explores; every
# answer states it
LIST_BOUND = 2
