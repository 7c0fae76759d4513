"""The operation vocabulary: generated model, field-path errors, exact numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lexgate.engine import Bundle, Money, OperationError, load_operation_json
from lexgate.engine.error_codes import FieldCode


def _errors(bundle: Bundle, operation: object) -> dict[str, str]:
    with pytest.raises(OperationError) as raised:
        bundle.schema.validate(operation)
    return {e.path: e.message for e in raised.value.errors}


def test_a_bad_enum_inside_a_list_names_its_path_and_the_choices(bundle: Bundle) -> None:
    errors = _errors(bundle, {"transfers": [{"destination": "US", "mechanism": "sccs"}]})
    assert errors["transfers[0].mechanism"].startswith("expected one of adequacy, dpf, scc")


def test_a_misspelt_field_is_rejected_with_a_suggestion(bundle: Bundle) -> None:
    errors = _errors(bundle, {"consent": {"explict": True}})
    assert errors == {"consent.explict": "unknown field; did you mean `explicit`?"}


def test_wrong_types_are_named(bundle: Bundle) -> None:
    errors = _errors(
        bundle,
        {
            "subjects": {"count": "many", "targeted": "yes"},
            "controller": {
                "establishments": ["Germany"],
                "worldwide_turnover": {"amount": "-1", "currency": "EUR"},
            },
        },
    )
    assert errors["subjects.count"] == "expected a whole number"
    assert errors["subjects.targeted"] == "expected true or false"
    assert errors["controller.establishments[0]"].startswith("expected an ISO 3166 code")
    assert "controller.worldwide_turnover.amount" in errors


def test_json_numbers_become_the_exact_decimal_of_their_text(bundle: Bundle) -> None:
    operation = load_operation_json(
        b'{"controller": {"worldwide_turnover": {"amount": 1234567890.12, "currency": "EUR"}}}'
    )
    facts, _ = bundle.schema.validate(operation)
    assert facts["controller.worldwide_turnover"] == Money(Decimal("1234567890.12"), "EUR")


def test_malformed_json_is_an_operation_error() -> None:
    with pytest.raises(OperationError, match="not valid JSON at line 1"):
        load_operation_json(b'{"legal_basis": }')


def test_omitted_and_null_facts_are_missing_not_false(bundle: Bundle) -> None:
    facts, _ = bundle.schema.validate({"breach": {"occurred": None}, "consent": {"given": False}})
    assert "breach.occurred" not in facts
    assert facts["consent.given"] is False


def test_the_json_schema_comes_from_the_vocabulary(bundle: Bundle) -> None:
    schema = bundle.schema.json_schema()
    transfer = schema["$defs"]["Transfer"]["properties"]
    assert "mechanism" in transfer and "destination" in transfer
    assert schema["additionalProperties"] is False


def test_a_count_that_is_not_whole_has_a_code_to_branch_on(bundle: Bundle) -> None:
    """The service retries integral decimals by this code, not by the message's words."""
    for count in ("many", Decimal("14453.5")):
        with pytest.raises(OperationError) as raised:
            bundle.schema.validate({"subjects": {"count": count}})
        (error,) = [e for e in raised.value.errors if e.path == "subjects.count"]
        assert error.code == FieldCode.WHOLE_NUMBER
    with pytest.raises(OperationError) as raised:
        bundle.schema.validate({"subjects": {"targeted": "yes"}})
    assert {e.code for e in raised.value.errors} == {FieldCode.INVALID}
