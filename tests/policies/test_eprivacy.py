"""The EPRIVACY pack (policies/eprivacy) against a table of hand-checked cases.

Each case is the `BASE` marketing operation with some facts set or removed, decided as of a
date; the EPRIVACY regime's status, its exact set of violated rules, the obligations it must
carry and its organisation exposure (EUR, to the euro) must match the hand computation written
beside the case. The amounts come from policies/eprivacy/fines.policy (sources and which of them
are UNCONFIRMED: docs/legal-verification.eprivacy.new.md).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from lexgate.engine import Bundle, Money

from tests.policies.tables import set_fact, unset_fact

AS_OF = dt.date(2026, 6, 1)

# A marketing email to one natural person in Germany: nothing said yet about consent, the
# customer relationship or the message itself.
BASE: dict[str, Any] = {
    "purposes": ["marketing"],
    "subjects": {"locations": ["DE"]},
    "controller": {"establishments": ["DE"]},
    "marketing": {"channel": "email", "business_recipients": False},
}

# Every measure of the message stated as met, and no objection.
CLEAN_MESSAGE = {
    "marketing.opt_out_in_message": True,
    "marketing.sender_identified": True,
    "subjects.objected_to_marketing": False,
}
SOFT_OPT_IN = {
    "marketing.existing_customer": True,
    "marketing.similar_products": True,
    "marketing.opt_out_at_collection": True,
}
PROSPECT = {"consent.given": False, "marketing.existing_customer": False}

CASES: list[dict[str, Any]] = [
    {
        "id": "de-prospect-email-legitimate-interests",
        "set": {"legal_basis": "legitimate_interests", **PROSPECT},
        "status": "denied",
        "violations": ["consent_required"],
        "max": "0",
        "hand": "Art. 13(1), UWG § 7(2) Nr. 2; no soft opt-in (not a customer); Germany fines "
        "no email marketing (UWG § 20 covers calls only): EUR 0",
    },
    {
        "id": "de-existing-customer-soft-opt-in",
        "set": {"legal_basis": "legitimate_interests", **SOFT_OPT_IN, **CLEAN_MESSAGE},
        "status": "allowed",
        "violations": [],
        "max": None,
        "hand": "Art. 13(2) / UWG § 7(3): customer, own similar products, opt-out at collection "
        "and in the message, no objection",
    },
    {
        "id": "de-soft-opt-in-message-measures-unknown",
        "set": SOFT_OPT_IN,
        "status": "allowed_with_obligations",
        "violations": [],
        "obligations": ["opt_out_in_every_message", "sender_identity", "objections_respected"],
        "max": None,
        "hand": "the three message measures are duties: unknown -> obligations",
    },
    {
        "id": "de-soft-opt-in-dissimilar-products",
        "set": {**SOFT_OPT_IN, "marketing.similar_products": False, "consent.given": False},
        "status": "denied",
        "violations": ["consent_required"],
        "max": "0",
        "hand": "Art. 13(2) covers only the sender's own similar products",
    },
    {
        "id": "de-soft-opt-in-no-opt-out-in-message",
        "set": {**SOFT_OPT_IN, **CLEAN_MESSAGE, "marketing.opt_out_in_message": False},
        "status": "denied",
        "violations": ["opt_out_in_every_message"],
        "max": "0",
        "hand": "Art. 13(4)/(2): a stated absence of the opt-out is a violation; DE: no fine line",
    },
    {
        "id": "de-consent-given-and-recorded",
        "set": {"consent.given": True, "consent.demonstrable": True, **CLEAN_MESSAGE},
        "status": "allowed",
        "violations": [],
        "max": None,
        "hand": "Art. 13(1) consent, demonstrable (GDPR Art. 7(1))",
    },
    {
        "id": "de-consent-record-unknown",
        "set": {"consent.given": True, "marketing.existing_customer": False, **CLEAN_MESSAGE},
        "status": "allowed_with_obligations",
        "violations": [],
        "obligations": ["consent_record"],
        "max": None,
        "hand": "keeping the record of consent is a duty: unknown -> obligation",
    },
    {
        "id": "de-prospect-consent-unknown",
        "set": {"marketing.existing_customer": False},
        "status": "undetermined",
        "violations": [],
        "missing": ["consent.given"],
        "max": None,
        "hand": "consent decides Art. 13(1): undetermined, naming consent.given",
    },
    {
        "id": "de-automated-call-consumer",
        "set": {"marketing.channel": "automated_call", "consent.given": False},
        "status": "denied",
        "violations": ["consent_required"],
        "max": "300000",
        "hand": "UWG § 20(1) Nr. 1, (2): up to EUR 300,000, Bundesnetzagentur",
    },
    {
        "id": "de-live-call-consumer-2010",
        "as_of": "2010-06-01",
        "set": {
            "marketing.channel": "phone",
            "consent.given": False,
            "subjects.objected_to_marketing": False,
        },
        "status": "denied",
        "violations": ["live_call_consent"],
        "max": "50000",
        "hand": "UWG § 20(2) in its 2009 version: up to EUR 50,000 (EUR 300,000 from 9 Oct 2013)",
    },
    {
        "id": "de-live-call-business",
        "set": {
            "marketing.channel": "phone",
            "marketing.business_recipients": True,
            "consent.given": False,
            "subjects.objected_to_marketing": False,
        },
        "status": "allowed",
        "violations": [],
        "max": None,
        "hand": "UWG § 7(2) Nr. 1: presumed consent suffices for non-consumers (not assessed)",
    },
    {
        "id": "de-post",
        "set": {"marketing.channel": "post", "consent.given": False},
        "status": "allowed",
        "violations": [],
        "max": None,
        "hand": "paper mail is outside the Directive (Art. 3(1)): no rule fires",
    },
    {
        "id": "fr-sms-prospect-turnover-2bn",
        "set": {
            "subjects.locations": ["FR"],
            "marketing.channel": "sms",
            "controller.worldwide_turnover": {"amount": "2000000000", "currency": "EUR"},
            **PROSPECT,
        },
        "status": "denied",
        "violations": ["consent_required"],
        "max": "40000000",
        "hand": "L.34-5: max(DGCCRF EUR 375,000, max(EUR 10m, 2% x 2bn = 40m)) = EUR 40m",
    },
    {
        "id": "fr-live-call-bloctel",
        "set": {
            "subjects.locations": ["FR"],
            "marketing.channel": "phone",
            "consent.given": False,
            "subjects.objected_to_marketing": True,
        },
        "status": "denied",
        "violations": ["objections_respected"],
        "max": "375000",
        "hand": "Code conso L.223-1 / L.242-16: EUR 375,000 (2020 amount, UNCONFIRMED); "
        "L.34-5 does not cover calls by a person",
    },
    {
        "id": "es-live-call-unverified",
        "set": {
            "subjects.locations": ["ES"],
            "marketing.channel": "phone",
            "consent.given": False,
            "subjects.objected_to_marketing": False,
        },
        "status": "allowed_with_obligations",
        "violations": [],
        "obligations": ["live_call_unverified"],
        "max": None,
        "hand": "Art. 13(3): the Spanish choice is not verified -> an obligation to check it",
    },
    {
        "id": "fr-email-legal-persons",
        "set": {
            "subjects.locations": ["FR"],
            "marketing.business_recipients": True,
            "consent.given": False,
            **CLEAN_MESSAGE,
        },
        "status": "allowed",
        "violations": [],
        "max": None,
        "hand": "Art. 13(5); L.34-5 protects natural persons only",
    },
    {
        "id": "it-email-turnover-unknown",
        "set": {"subjects.locations": ["IT"], **PROSPECT},
        "status": "denied",
        "violations": ["consent_required"],
        "max": None,
        "max_at_least": "20000000",
        "hand": "Codice art. 130 with art. 166(2): max(EUR 20m, 4% x ?) >= EUR 20m",
    },
    {
        "id": "it-sms-soft-opt-in-not-available",
        "set": {
            "subjects.locations": ["IT"],
            "marketing.channel": "sms",
            **SOFT_OPT_IN,
            "consent.given": False,
        },
        "status": "denied",
        "violations": ["consent_required"],
        "max": None,
        "max_at_least": "20000000",
        "hand": "art. 130(4): the soft opt-in is for e-mail only (Garante 2013, 2023)",
    },
    {
        "id": "it-call-on-opposition-register",
        "set": {
            "subjects.locations": ["IT"],
            "marketing.channel": "phone",
            "consent.given": False,
            "subjects.objected_to_marketing": True,
            "controller.worldwide_turnover": {"amount": "100000000", "currency": "EUR"},
        },
        "status": "denied",
        "violations": ["objections_respected"],
        "max": "20000000",
        "hand": "art. 130(3-bis): registered numbers objected; max(EUR 20m, 4% x 100m) = 20m",
    },
    {
        "id": "es-mass-email",
        "set": {"subjects.locations": ["ES"], "marketing.mass_sending": True, **PROSPECT},
        "status": "denied",
        "violations": ["consent_required"],
        "min": "30001",
        "max": "150000",
        "hand": "LSSI art. 38.3(c) serious, art. 39: EUR 30,001-150,000 (AEPD)",
    },
    {
        "id": "es-single-email-legal-person",
        "set": {
            "subjects.locations": ["ES"],
            "marketing.business_recipients": True,
            "marketing.mass_sending": False,
            **PROSPECT,
        },
        "status": "denied",
        "violations": ["consent_required"],
        "max": "30000",
        "hand": "LSSI protects legal persons too; minor: up to EUR 30,000",
    },
    {
        "id": "nl-push-turnover-50m",
        "set": {
            "subjects.locations": ["NL"],
            "marketing.channel": "push",
            "controller.worldwide_turnover": {"amount": "50000000", "currency": "EUR"},
            **PROSPECT,
        },
        "status": "denied",
        "violations": ["consent_required"],
        "max": "450000",
        "hand": "push read as electronic mail; ACM: up to EUR 450,000 per infringement",
    },
    {
        "id": "ie-sms-objected",
        "set": {
            "subjects.locations": ["IE"],
            "marketing.channel": "sms",
            **SOFT_OPT_IN,
            **CLEAN_MESSAGE,
            "subjects.objected_to_marketing": True,
            "controller.worldwide_turnover": {"amount": "1000000", "currency": "EUR"},
        },
        "status": "denied",
        "violations": ["objections_respected"],
        "max": "250000",
        "hand": "the customer refused: no soft opt-in use; S.I. 336/2011: max(250,000, 10% x 1m)",
    },
    {
        "id": "ie-es-sum",
        "set": {
            "subjects.locations": ["IE", "ES"],
            "marketing.mass_sending": True,
            **PROSPECT,
        },
        "status": "denied",
        "violations": ["consent_required"],
        "max": None,
        "max_at_least": "400000",
        "hand": "national lines add up (Art. 15a): (250,000 or 10% of an unknown turnover) "
        "+ 150,000",
    },
    {
        "id": "gb-2021-out-of-scope",
        "as_of": "2021-06-01",
        "set": {"subjects.locations": ["GB"], **PROSPECT},
        "status": "not_applicable",
        "violations": [],
        "max": None,
        "hand": "the United Kingdom left with the transition period's end (31 Dec 2020)",
    },
    {
        "id": "crm-service-operation",
        "set": {"purposes": ["service_delivery"]},
        "unset": ["marketing.channel"],
        "status": "not_applicable",
        "violations": [],
        "max": None,
        "hand": "not a direct-marketing operation: out of scope",
    },
    {
        "id": "marketing-without-channel",
        "unset": ["marketing.channel"],
        "status": "allowed",
        "violations": [],
        "not_assessed": ["communication"],
        "max": None,
        "hand": "no communication stated: the topic is listed as not assessed",
    },
]


def operation_of(case: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(BASE)
    for path, value in case.get("set", {}).items():
        set_fact(operation, path, value)
    for path in case.get("unset", []):
        unset_fact(operation, path)
    return operation


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def test_the_table_has_unique_ids_and_hand_computations() -> None:
    ids = [case["id"] for case in CASES]
    assert len(set(ids)) == len(ids)
    assert all(case.get("hand") for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_eprivacy_case(bundle: Bundle, case: dict[str, Any]) -> None:
    as_of = dt.date.fromisoformat(case["as_of"]) if "as_of" in case else AS_OF
    decision = bundle.decide(operation_of(case), as_of=as_of, currency="EUR")
    regime = decision.regimes["EPRIVACY"]
    hand = case["hand"]

    assert regime.status == case["status"], (
        f"{hand}: status {regime.status}, missing {regime.missing}, "
        f"violated {[v.rule for v in regime.violations]}"
    )
    assert sorted(v.rule for v in regime.violations) == sorted(case["violations"]), hand
    for rule in case.get("obligations", []):
        assert rule in {o.rule for o in regime.obligations}, f"{hand}: no obligation from {rule}"
    for fact in case.get("missing", []):
        assert fact in regime.missing, f"{hand}: {fact} not among {regime.missing}"
    for topic in case.get("not_assessed", []):
        assert topic in {n.topic for n in regime.not_assessed}, f"{hand}: {topic} assessed"

    exposure = regime.organisation_exposure
    if case.get("max") is not None:
        assert exposure is not None, hand
        assert exposure.max == _eur(case["max"]), f"{hand}: max {exposure.max}"
    if case.get("min") is not None:
        assert exposure is not None and exposure.min == _eur(case["min"]), hand
    if case.get("max_at_least") is not None:
        assert exposure is not None and exposure.max is None, hand
        assert exposure.max_at_least == _eur(case["max_at_least"]), hand
    if not case["violations"]:
        assert exposure is None or exposure.max == _eur("0"), hand


def test_a_generic_crm_operation_without_purposes_is_never_silently_allowed(bundle: Bundle) -> None:
    """Without purposes the regime cannot know whether the operation is marketing: it says so."""
    operation = {"subjects": {"locations": ["DE"]}, "controller": {"establishments": ["DE"]}}
    regime = bundle.decide(operation, as_of=AS_OF).regimes["EPRIVACY"]
    assert regime.status == "undetermined"
    assert "purposes" in regime.missing
