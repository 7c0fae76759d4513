"""Property tests (hypothesis) for the language and the evaluator."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lexgate.engine import Bundle, LexgateError, PolicyError, load_sources
from lexgate.engine.parser import parse_module

from tests.conftest import POLICIES

SOURCES = {
    str(p.relative_to(POLICIES.parent)): p.read_text(encoding="utf-8")
    for p in sorted(POLICIES.rglob("*.policy"))
}
GDPR_FILES = [name for name in SOURCES if "/gdpr/" in name]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_parser_raises_only_lexgate_errors_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(LexgateError):  # anything else fails the test
        load_sources({"fuzz.policy": text})


# Grammar-aware fuzzing: arbitrary text says little about deep parser states, so also take the
# real policies and damage them (delete, duplicate or swap tokens, splice lines).
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SOURCES)), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_damaged_policies_give_diagnostics_not_crashes(name: str, seed: int, edits: int) -> None:
    rng = random.Random(seed)
    tokens = SOURCES[name].split(" ")
    for _ in range(edits):
        i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
        action = rng.choice(["delete", "duplicate", "swap", "garble"])
        if action == "delete":
            del tokens[i]
        elif action == "duplicate":
            tokens.insert(j, tokens[i])
        elif action == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens[i] = tokens[i][::-1]
    damaged = {**SOURCES, name: " ".join(tokens)}
    try:
        load_sources(damaged)
    except PolicyError as error:
        for diagnostic in error.diagnostics:
            assert diagnostic.message and diagnostic.code.startswith("E")
            assert diagnostic.span.line >= 0


def test_parser_collects_errors_from_every_declaration() -> None:
    _, diagnostics = parse_module(
        'part of GDPR\nrule a "t" cite "x"\n  violation when x &&& y\n'
        'rule b "t" cite "x"\n  violation when = y\nrule c "t" cite "x"\n  violation when (y\n',
        "three.policy",
    )
    assert [d.span.line for d in diagnostics] == [3, 5, 7]


# ---- evaluation -----------------------------------------------------------------------------

COUNTRIES = ["DE", "FR", "IE", "US", "IN", "JP", "CN", "BR", "GB", "US-CA"]
money = st.builds(lambda a: {"amount": str(a), "currency": "EUR"}, st.integers(0, 10**12))
maybe = st.one_of  # readability: every fact may be left out


def _operation() -> st.SearchStrategy[dict]:
    transfer = st.fixed_dictionaries(
        {},
        optional={
            "destination": st.sampled_from(COUNTRIES),
            "mechanism": st.sampled_from(["adequacy", "dpf", "scc", "bcr", "derogation", "none"]),
            "recipient_dpf_certified": st.booleans(),
            "systematic": st.booleans(),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "controller": st.fixed_dictionaries(
                {},
                optional={
                    "establishments": st.lists(st.sampled_from(COUNTRIES), max_size=3, unique=True),
                    "worldwide_turnover": money,
                },
            ),
            "subjects": st.fixed_dictionaries(
                {},
                optional={
                    "locations": st.lists(st.sampled_from(COUNTRIES), max_size=3, unique=True),
                    "targeted": st.booleans(),
                    "monitored": st.booleans(),
                },
            ),
            "legal_basis": st.sampled_from(["consent", "contract", "legitimate_interests", "none"]),
            "purposes": st.lists(
                st.sampled_from(["marketing", "service_delivery", "behavioural_advertising"]),
                unique=True,
            ),
            "data_categories": st.lists(
                st.sampled_from(["contact", "health", "genetic"]), unique=True
            ),
            "special_category_condition": st.sampled_from(["explicit_consent", "research", "none"]),
            "consent": st.fixed_dictionaries(
                {}, optional={"given": st.booleans(), "explicit": st.booleans()}
            ),
            "transfers": st.lists(transfer, max_size=3),
            "breach": st.fixed_dictionaries(
                {},
                optional={
                    "occurred": st.booleans(),
                    "risk": st.sampled_from(["none", "low", "high"]),
                    "hours_to_authority": st.integers(0, 500),
                    "documented": st.booleans(),
                    "subjects_notified": st.booleans(),
                    "data_encrypted": st.booleans(),
                },
            ),
        },
    )


DATES = st.dates(dt.date(2017, 1, 1), dt.date(2027, 12, 31))


@settings(max_examples=200, deadline=None)
@given(_operation(), DATES)
def test_evaluation_is_deterministic(bundle: Bundle, operation: dict, as_of: dt.date) -> None:
    first = bundle.decide(operation, as_of=as_of, explain=True).to_dict(explain=True)
    second = bundle.decide(operation, as_of=as_of, explain=True).to_dict(explain=True)
    assert first == second


@settings(max_examples=200, deadline=None)
@given(_operation(), DATES, st.sampled_from(["EUR", "USD", "CNY"]))
def test_exposure_is_never_negative(
    bundle: Bundle, operation: dict, as_of: dt.date, currency: str
) -> None:
    decision = bundle.decide(operation, as_of=as_of, currency=currency)
    for regime in decision.regimes.values():
        for violation in regime.violations:
            for line in violation.exposure:
                for amount in (
                    line.amount.min,
                    line.amount.max,
                    line.amount.reporting_min,
                    line.amount.reporting_max,
                ):
                    assert amount is None or amount.amount >= 0
                if line.amount.min is not None and line.amount.max is not None:
                    assert line.amount.min.amount <= line.amount.max.amount
    for total in (decision.exposure.reporting_min, decision.exposure.reporting_max):
        assert total is None or total.amount >= Decimal(0)


@settings(max_examples=200, deadline=None)
@given(_operation(), DATES)
def test_valid_explicit_consent_never_raises_art9_exposure(
    bundle: Bundle, operation: dict, as_of: dt.date
) -> None:
    operation = {**operation, "data_categories": ["health"]}
    with_consent = {
        **operation,
        "special_category_condition": "explicit_consent",
        "consent": {**operation.get("consent", {}), "given": True, "explicit": True},
    }

    def gdpr_max(op: dict) -> Decimal | None:
        exposure = bundle.decide(op, as_of=as_of).regimes["GDPR"].exposure.get("organisation")
        if exposure is None:
            return Decimal(0)
        return None if exposure.max is None else exposure.max.amount

    before, after = gdpr_max(operation), gdpr_max(with_consent)
    if before is not None and after is not None:
        assert after <= before


def test_a_constant_comparison_with_an_unknown_name_is_a_diagnostic() -> None:
    """Found by the damaged-policies property: `0 hours <= <unknown name>` had both operands
    constant (the unknown name a poisoned constant), and folding it crashed the checker."""
    name = "policies/common/vocabulary_gdpr.policy"
    broken = SOURCES[name].replace(
        "if breach.hours_to_authority >= 0 hours", "if 0 hours <= hours_to_authorit", 1
    )
    assert broken != SOURCES[name]
    try:
        load_sources({**SOURCES, name: broken})
    except PolicyError as error:
        assert [d.code for d in error.diagnostics] == ["E0101"]
    else:
        raise AssertionError("the unknown name was accepted")
