"""Compare the vectorised kernel's table with the scalar evaluator's decisions, row by row."""

from __future__ import annotations

from typing import Any

import pandas as pd
from lexgate.engine import Bundle
from lexgate.engine.simulation.kernel import ORGANISATION, Kernel
from lexgate.engine.simulation.operation_rows import flatten_operation
from lexgate.engine.simulation.regimes import (
    question_bits,
    rule_bits,
    rule_reads,
    words_for_questions,
    words_for_rules,
)
from lexgate.engine.values import MINOR_UNITS, Money


def minor(money: Money | None) -> int | None:
    if money is None:
        return None
    return int(money.rounded().amount.scaleb(MINOR_UNITS.get(money.currency, 2)))


def expected_row(bundle: Bundle, kernel: Kernel, operation: dict[str, Any]) -> dict[str, Any]:
    """What the scalar back end (the API's evaluator) answers, in the kernel's column names."""
    decision = bundle.decide(operation, currency=kernel.currency)
    facts, _ = bundle.schema.validate(operation)
    derived, _ = bundle.derivations.apply(facts, decision.as_of)
    row: dict[str, Any] = {
        "status": decision.status,
        "exposure_min_minor": minor(decision.exposure.reporting_min),
        "exposure_max_minor": minor(decision.exposure.reporting_max),
    }
    for name, regime in decision.regimes.items():
        if name not in kernel.regimes:
            continue
        row[f"{name}.status"] = regime.status
        bits = rule_bits(bundle.checked.regimes[name])
        for which, rules in (
            ("violated", [v.rule for v in regime.violations]),
            ("undetermined", [u.rule for u in regime.undetermined_rules]),
        ):
            # which rules, as the per-row rule columns hold them (64 to a column)
            for word in range(words_for_rules(bundle.checked.regimes[name])):
                row[f"{name}.{which}" + (f"[{word}]" if word else "")] = sum(
                    1 << (bits[r] % 64) for r in rules if bits[r] // 64 == word
                )
        # the missing facts an undetermined rule (or an unknown scope) reads, after derivation
        checked = bundle.checked.regimes[name]
        asked = {
            p for u in regime.undetermined_rules for p in rule_reads(checked.rules[u.rule], checked)
        }
        if regime.scope_missing:
            asked |= {p for a in checked.applies for p in a.facts_read}
        questions = question_bits(checked)
        missing = [questions[p] for p in asked if p in questions and derived.get(p) is None]
        for word in range(words_for_questions(checked)):
            row[f"{name}.missing" + (f"[{word}]" if word else "")] = sum(
                1 << (bit % 64) for bit in missing if bit // 64 == word
            )
        for payer in kernel.payers[name]:
            suffix = "" if payer == ORGANISATION else f"[{payer}]"
            amount = regime.exposure.get(payer)
            row[f"{name}.exposure_min_minor{suffix}"] = 0 if amount is None else minor(amount.min)
            row[f"{name}.exposure_max_minor{suffix}"] = 0 if amount is None else minor(amount.max)
    return row


def disagreements(bundle: Bundle, kernel: Kernel, operations: list[dict[str, Any]]) -> list[str]:
    frame = pd.DataFrame([flatten_operation(o, bundle.checked.vocabulary) for o in operations])
    result = kernel.run(frame)
    problems = []
    for i, operation in enumerate(operations):
        want = expected_row(bundle, kernel, operation)
        for column, expected in want.items():
            got = result.at[i, column]
            got = None if pd.isna(got) else (str(got) if "status" in column else int(got))
            if got != expected:
                problems.append(
                    f"row {i} {column}: vectorised {got!r} != scalar {expected!r} "
                    f"(fallback={bool(result.at[i, 'scalar_fallback'])}) "
                    f"operation={operation}"
                )
    return problems
