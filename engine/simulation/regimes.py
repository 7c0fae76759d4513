"""The evaluator's semantics (engine/evaluator.py) over columns: per row of a batch, a regime's
status and its exposure per payer, computed exactly as `CompiledRegime.evaluate` would.

The rule logic is the scalar evaluator's `_verdict`, restated with masks: a rule is violated
where its `when` holds and its violation condition holds or a duty is stated unmet, and no
exception to it applies (default logic; the exception tree is static, so the recursion is over
rules, not rows); a duty left unconfirmed, or an obligation, makes a regime
`allowed_with_obligations`; a rule of a topic the row does not describe is not assessed; an
unknown scope makes it `undetermined` even when a violation is certain, and its exposure is
still computed, as the scalar evaluator does.

A rule that Kleene logic leaves unknown in a row while a finite fact it reads is missing there
is settled over completions as the scalar back end settles it (exact_unknowns.py, rows
grouped by which facts they miss). What the masks cannot do, the scalar back end does for those
rows (`env.flag`): an unknown scope with a missing finite fact, a missing field of a list entry,
a violated rule whose fine line is unknown (its worst case and floors, engine/exposure.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import ir
from ..ast import Aggregation, FineKind
from ..decision import STATUS_ORDER
from ..evaluator import CompiledRegime
from .exact_unknowns import (
    KIND_CLEAR,
    KIND_DUTY,
    KIND_UNKNOWN,
    KIND_VIOLATED,
    bound_ends,
    known_of,
    positioned,
    settle_rows,
    settle_scope,
)
from .vector_compiler import Compiled, VectorCompiler
from .vector_values import (
    ONE,
    ZERO,
    BoolCol,
    Env,
    NumCol,
    Unsupported,
    align_all,
    broadcast_known,
    checked_add,
    is_false,
    is_true,
    kleene_and,
    kleene_not,
    kleene_or,
    true_col,
)

DENIED, UNDETERMINED, WITH_OBLIGATIONS, ALLOWED, NOT_APPLICABLE = range(5)
assert STATUS_ORDER[NOT_APPLICABLE] == "not_applicable"  # codes index STATUS_ORDER
INT64_MIN = np.iinfo(np.int64).min


@dataclass(slots=True)
class PayerExposure:
    has: np.ndarray  # bool: a violation put a line for this payer
    low: NumCol  # aggregated, in the regime's currency; known=False: could not be computed
    high: NumCol


@dataclass(slots=True)
class RegimeColumns:
    status: np.ndarray  # int8 index into STATUS_ORDER
    payers: dict[str, PayerExposure]
    # per row, which rules (bits in `rule_bits` order, 64 to a word) are violated / undetermined
    violated: np.ndarray | None = None  # uint64, shape (rows, words)
    undetermined: np.ndarray | None = None
    # which facts (bits in `question_bits` order) are missing and read by an undetermined rule
    # or by a scope that is unknown: what to ask for
    missing: np.ndarray | None = None


def rule_bits(regime: ir.CheckedRegime) -> dict[str, int]:
    """The bit of each rule in the per-row rule columns: top-level rules (exceptions are weighed
    inside their rule) in declaration order, the lookup table's order."""
    names = [name for name, rule in regime.rules.items() if rule.exception_to is None]
    return {name: bit for bit, name in enumerate(names)}


def words_for_rules(regime: ir.CheckedRegime) -> int:
    return max(1, (len(rule_bits(regime)) + 63) // 64)


def rule_reads(rule: ir.CheckedRule, regime: ir.CheckedRegime) -> tuple[str, ...]:
    """The facts a rule and its exceptions read (a completion fills in both)."""
    found = set(rule.facts_read)
    pending = list(rule.exceptions)
    while pending:
        exception = regime.rules[pending.pop()]
        found.update(exception.facts_read)
        pending.extend(exception.exceptions)
    return tuple(sorted(found))


def question_bits(regime: ir.CheckedRegime) -> dict[str, int]:
    """The bit of each fact in `REGIME.missing`: every fact the regime's scope and top-level
    rules read (a field of a list entry aside), in name order."""
    paths = {p for a in regime.applies for p in a.facts_read}
    for name in rule_bits(regime):
        paths.update(rule_reads(regime.rules[name], regime))
    return {path: bit for bit, path in enumerate(sorted(p for p in paths if "[" not in p))}


def words_for_questions(regime: ir.CheckedRegime) -> int:
    return max(1, (len(question_bits(regime)) + 63) // 64)


def set_bit(words: np.ndarray, rows: np.ndarray, bit: int) -> None:
    """Set `bit` in the rows of `words` (uint64, shape (rows, words)) where `rows` is true."""
    words[:, bit // 64] |= np.where(rows, np.uint64(1) << np.uint64(bit % 64), np.uint64(0))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rule:
    rule: ir.CheckedRule
    when: Compiled | None
    violation: Compiled | None
    obligations: tuple[Compiled | None, ...]
    duties: tuple[Compiled, ...]
    finite_reads: tuple[str, ...]  # finite facts a completion would fill in (not confirmations)


@dataclass(frozen=True, slots=True)
class _Fine:
    fine: ir.CheckedFine
    low: Compiled | None
    high: Compiled
    finite_reads: tuple[str, ...]  # finite facts a completion of its formula fills in

    def ends(self, env: Env) -> tuple[NumCol, NumCol]:
        """(low, high) of the fine's range, as the scalar back end's FineLine.ends."""
        high = self.high.fn(env)
        if self.fine.kind == FineKind.EXACTLY:
            return high, high
        if self.low is not None:
            return self.low.fn(env), high
        return NumCol(np.zeros(1, dtype=np.int64), ONE, 0), high


class VectorRegime:
    """One regime compiled to column functions. Raises `Unsupported` at construction when the
    regime uses a construct the vectorised back end does not have."""

    def __init__(
        self,
        compiled: CompiledRegime,
        common_parameters: Mapping[str, ir.CheckedParameter],
        rate_scale: int,
        rule_columns: bool = True,
    ):
        self.scalar = compiled
        regime = compiled.regime
        self.regime = regime
        self.rule_columns = rule_columns  # the per-row violated / undetermined rule columns
        self.bits = rule_bits(regime)
        self.questions = question_bits(regime)
        self.question_reads = {
            name: tuple(
                self.questions[p]
                for p in rule_reads(regime.rules[name], regime)
                if p in self.questions
            )
            for name in self.bits
        }
        self.scope_reads = tuple(
            sorted(
                {
                    self.questions[p]
                    for a in regime.applies
                    for p in a.facts_read
                    if p in self.questions
                }
            )
        )
        compiler = VectorCompiler(
            regime.defines, {**common_parameters, **regime.parameters}, rate_scale
        )
        domains = compiled.domains
        self.applies = tuple(compiler.compile(a.condition) for a in regime.applies)
        self.applies_reads = tuple(
            sorted({p for a in regime.applies for p in a.facts_read if domains.of(positioned(p))})
        )
        self.rules = {
            name: _Rule(
                rule=rule,
                when=compiler.compile(rule.when) if rule.when is not None else None,
                violation=compiler.compile(rule.violation) if rule.violation is not None else None,
                obligations=tuple(
                    compiler.compile(o.condition) if o.condition is not None else None
                    for o in rule.obligations
                ),
                duties=tuple(compiler.compile(d.met) for d in rule.duties),
                finite_reads=tuple(
                    p
                    for p in self._reads(rule, regime)
                    if domains.of(positioned(p))
                    and p not in {f for d in rule.duties for f in d.facts_read}
                ),
            )
            for name, rule in regime.rules.items()
        }
        self.fines = {
            name: _Fine(
                fine,
                compiler.compile(fine.low) if fine.low is not None else None,
                compiler.compile(fine.high),
                tuple(p for p in fine.facts_read if domains.of(positioned(p))),
            )
            for name, fine in regime.fines.items()
        }

    @staticmethod
    def _reads(rule: ir.CheckedRule, regime: ir.CheckedRegime) -> tuple[str, ...]:
        return rule_reads(rule, regime)

    def params_on(self, day: dt.date) -> dict[str, object]:
        return self.scalar.parameters_on(day)

    # ---- evaluation -----------------------------------------------------------------------------

    def evaluate(self, env: Env) -> RegimeColumns:
        n, regime = env.n, self.regime
        if regime.in_force is not None and not regime.in_force.contains(env.as_of):
            return RegimeColumns(
                np.full(n, NOT_APPLICABLE, dtype=np.int8),
                {},
                self._words(n) if self.rule_columns else None,
                self._words(n) if self.rule_columns else None,
                self._question_words(n) if self.rule_columns else None,
            )
        applies = BoolCol(ZERO, ONE)  # false, then `or` over the clauses
        for clause in self.applies:
            applies = kleene_or(applies, clause.fn(env))
        values = np.array(np.broadcast_to(applies.values, (n,)))
        known = np.array(np.broadcast_to(applies.known, (n,)))
        if (~known).any() and not self.scalar.applies_exact:
            settle_scope(self, env, ~known, values, known)
        applies_false = known & ~values
        applies_unknown = ~known

        skipped = self._not_described(env)
        violated_any = np.zeros(n, dtype=bool)
        undetermined_any = np.zeros(n, dtype=bool)
        obliged_any = np.zeros(n, dtype=bool)
        violations: list[tuple[ir.CheckedRule, np.ndarray]] = []
        rule_violated = self._words(n) if self.rule_columns else None
        rule_undetermined = self._words(n) if self.rule_columns else None
        asked: dict[int, np.ndarray] = {}  # fact bit -> rows where an open question reads it
        for compiled in self.rules.values():
            rule = compiled.rule
            if rule.exception_to is not None or not rule.in_force(env.as_of):
                continue
            out_of_topic = skipped.get(rule.topic) if rule.topic is not None else None
            assessed = ~out_of_topic if out_of_topic is not None else np.ones(n, dtype=bool)
            kind, bits = self.state(compiled, env)
            unsettled = (kind == KIND_UNKNOWN) & assessed & ~applies_false
            if unsettled.any() and not self.scalar.rules[rule.name].kleene_exact:
                settle_rows(self, compiled, env, unsettled, kind, bits)
            violated = (kind == KIND_VIOLATED) & assessed
            undetermined = (kind == KIND_UNKNOWN) & assessed
            obliged = ((kind == KIND_DUTY) | ((kind == KIND_CLEAR) & (bits != 0))) & assessed
            violated_any |= violated
            undetermined_any |= undetermined
            obliged_any |= obliged
            violations.append((rule, violated))
            if rule_violated is not None and rule_undetermined is not None:
                # out of scope: no verdict at all, as the scalar evaluator stops at the scope
                set_bit(rule_violated, violated & ~applies_false, self.bits[rule.name])
                set_bit(rule_undetermined, undetermined & ~applies_false, self.bits[rule.name])
                open_rows = undetermined & ~applies_false
                if open_rows.any():
                    for bit in self.question_reads[rule.name]:
                        asked[bit] = asked.get(bit, np.zeros(n, dtype=bool)) | open_rows

        status = np.select(
            [applies_false, applies_unknown, violated_any, undetermined_any, obliged_any],
            [NOT_APPLICABLE, UNDETERMINED, DENIED, UNDETERMINED, WITH_OBLIGATIONS],
            ALLOWED,
        ).astype(np.int8)
        payers = self._exposure(violations, env, ~applies_false)
        missing = None
        if self.rule_columns:
            if applies_unknown.any():
                for bit in self.scope_reads:
                    asked[bit] = asked.get(bit, np.zeros(n, dtype=bool)) | applies_unknown
            missing = self._question_words(n)
            paths = list(self.questions)
            for bit, rows in asked.items():
                col = env.facts(paths[bit])
                absent = (
                    np.ones(n, dtype=bool) if col is None else ~broadcast_known(n, known_of(col))
                )
                set_bit(missing, rows & absent, bit)
        return RegimeColumns(status, payers, rule_violated, rule_undetermined, missing)

    def _question_words(self, n: int) -> np.ndarray:
        return np.zeros((n, max(1, (len(self.questions) + 63) // 64)), dtype=np.uint64)

    def _words(self, n: int) -> np.ndarray:
        return np.zeros((n, words_for_rules(self.regime)), dtype=np.uint64)

    def _not_described(self, env: Env) -> dict[str, np.ndarray]:
        """Per topic: the rows that state none of its `described by` facts."""
        result = {}
        for name, topic in self.regime.topics.items():
            described = np.zeros(env.n, dtype=bool)
            for path in topic.described_by:
                col = env.facts(path)
                if col is not None:
                    described |= broadcast_known(env.n, known_of(col))
            result[name] = ~described
        return result

    def state(self, compiled: _Rule, env: Env) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the rule's verdict as the scalar evaluator's `_verdict` gives it: a kind
        (KIND_VIOLATED, KIND_DUTY, KIND_CLEAR — not triggered, compliant or excepted — or
        KIND_UNKNOWN) and a bitmask of the obligations it imposes (its own, those of an
        exception that applies, its open duties). Two completions agree on a row when both are
        equal, as two scalar verdicts do."""
        n = env.n
        triggered = compiled.when.fn(env) if compiled.when is not None else true_col()
        not_triggered = broadcast_known(n, is_false(triggered))
        bits = np.zeros(n, dtype=np.int64)
        maybe_bits = np.zeros(n, dtype=np.int64)  # obligations owed in some completions
        pending = np.zeros(n, dtype=bool)
        bit = 0
        for condition in compiled.obligations:
            due = kleene_and(triggered, condition.fn(env) if condition is not None else true_col())
            bits |= np.where(broadcast_known(n, is_true(due)), np.int64(1) << bit, 0)
            maybe_bits |= np.where(broadcast_known(n, ~due.known), np.int64(1) << bit, 0)
            pending |= broadcast_known(n, ~due.known)
            bit += 1
        stated = (
            compiled.violation.fn(env) if compiled.violation is not None else BoolCol(ZERO, ONE)
        )
        gap = BoolCol(ZERO, ONE)
        open_duty: list[np.ndarray] = []
        for met in compiled.duties:
            value = met.fn(env)
            gap = kleene_or(gap, kleene_not(value))
            open_duty.append(broadcast_known(n, ~value.known))
        violated = kleene_and(triggered, kleene_or(stated, gap))
        consulted = broadcast_known(n, ~is_false(violated))  # exceptions weighed only here
        applied = np.zeros(n, dtype=bool)
        exception_unknown = np.zeros(n, dtype=bool)
        for name in compiled.rule.exceptions:
            exception = self._exception_applies(name, env)
            applies_here = consulted & broadcast_known(n, is_true(exception))
            applied |= applies_here
            exception_unknown |= consulted & broadcast_known(n, ~exception.known)
            for owed in self._exception_obligations(name, env):
                bits |= np.where(applies_here & owed, np.int64(1) << bit, 0)
                bit += 1
            violated = kleene_and(violated, kleene_not(exception))
        violated_rows = broadcast_known(n, is_true(violated))
        excepted = ~violated_rows & applied
        clear = broadcast_known(n, is_false(violated)) & ~excepted & ~pending
        # only the duties' confirmations missing: the duties stand as obligations
        any_open = np.zeros(n, dtype=bool)
        for is_open in open_duty:
            any_open |= is_open
        open_duties = (
            broadcast_known(n, ~violated.known)
            & ~excepted
            & ~pending
            & ~exception_unknown
            & broadcast_known(n, is_true(triggered))
            & broadcast_known(n, is_false(stated))
            & any_open
        )
        # no completion violates it (the scalar back end's `_owed_if`): what it may impose is
        # owed, conditionally
        owed_if = (
            self.scalar.rules[compiled.rule.name].never_violated
            & broadcast_known(n, is_false(stated))
            & ~broadcast_known(n, is_true(gap))
            & ~violated_rows
            & ~excepted
            & (pending | broadcast_known(n, ~violated.known))
        )
        duty_bits = np.zeros(n, dtype=np.int64)
        for is_open in open_duty:
            duty_bits |= np.where(is_open, np.int64(1) << bit, 0)
            bit += 1
        if bit > 62:
            raise Unsupported(f"rule `{compiled.rule.name}` imposes more than 62 obligations")
        bits = np.where(
            owed_if, bits | maybe_bits | duty_bits, np.where(open_duties, bits | duty_bits, bits)
        )
        kind = np.select(
            [
                not_triggered,
                violated_rows,
                excepted,
                owed_if & any_open,
                owed_if,
                clear,
                open_duties,
            ],
            [KIND_CLEAR, KIND_VIOLATED, KIND_CLEAR, KIND_DUTY, KIND_CLEAR, KIND_CLEAR, KIND_DUTY],
            KIND_UNKNOWN,
        ).astype(np.int8)
        bits = np.where((kind == KIND_CLEAR) | (kind == KIND_DUTY), bits, 0)
        return kind, bits

    def _exception_applies(self, name: str, env: Env) -> BoolCol:
        compiled = self.rules[name]
        if not compiled.rule.in_force(env.as_of):
            return BoolCol(ZERO, ONE)
        active = compiled.when.fn(env) if compiled.when is not None else true_col()
        for sub in compiled.rule.exceptions:
            active = kleene_and(active, kleene_not(self._exception_applies(sub, env)))
        return active

    def _exception_obligations(self, name: str, env: Env) -> list[np.ndarray]:
        """Per obligation of an exception: the rows where its own condition holds."""
        return [
            broadcast_known(env.n, is_true(condition.fn(env)))
            if condition is not None
            else np.ones(env.n, dtype=bool)
            for condition in self.rules[name].obligations
        ]

    # ---- exposure -------------------------------------------------------------------------------

    def _exposure(
        self, violations: list[tuple[ir.CheckedRule, np.ndarray]], env: Env, in_scope: np.ndarray
    ) -> dict[str, PayerExposure]:
        """Per payer: `gravest` takes the largest line (unknown if any line is), `sum` adds."""
        lines: dict[str, list[tuple[np.ndarray, NumCol, NumCol]]] = {}
        amounts: dict[str, tuple[NumCol, NumCol]] = {}  # a fine's range is the same for each rule
        for rule, violated in violations:
            if not violated.any():
                continue
            for fine_name in rule.fines:
                fine = self.fines[fine_name]
                if fine_name not in amounts:
                    amounts[fine_name] = fine.ends(env)
                low, high = amounts[fine_name]
                ends_known = broadcast_known(env.n, low.known) & broadcast_known(env.n, high.known)
                unsettled = violated & in_scope & ~ends_known
                if unsettled.any():  # the hull over completions, as engine/exposure.py takes
                    low, high = bound_ends(self, fine, env, unsettled, low, high)
                    amounts[fine_name] = (low, high)
                lines.setdefault(fine.fine.payer, []).append((violated & in_scope, low, high))
        gravest = self.regime.aggregate == Aggregation.GRAVEST
        result = {}
        for payer, payer_lines in lines.items():
            has = np.zeros(env.n, dtype=bool)
            for violated, _, _ in payer_lines:
                has |= violated
            ends = []
            for end in (1, 2):
                ends_of_lines = [line[1] if end == 1 else line[2] for line in payer_lines]
                aligned: list[NumCol] = align_all(ends_of_lines, env)
                scale = aligned[0].scale
                total = np.full(env.n, INT64_MIN if gravest else 0, dtype=np.int64)
                unknown = np.zeros(env.n, dtype=bool)
                for line, amount in zip(payer_lines, aligned, strict=True):
                    violated = line[0]
                    values = np.broadcast_to(amount.values, (env.n,))
                    known = broadcast_known(env.n, amount.known)
                    unknown |= violated & ~known
                    chosen = violated & known
                    if gravest:
                        total = np.where(chosen, np.maximum(total, values), total)
                    else:
                        total = checked_add(total, np.where(chosen, values, 0), chosen, env)
                total = np.where(has, total, 0)
                ends.append(NumCol(total, has & ~unknown, scale))
            result[payer] = PayerExposure(has, ends[0], ends[1])
        return result
