"""Every error code lexgate gives, with a title: the policy diagnostics (`E0xxx`, `W0xxx`) and
the service's answer codes (`{"error": {"code": …}}`).

A code is a promise to the people who read it (a lawyer searching the docs, a client branching
on an answer), so it lives here once. tests/engine/test_error_codes.py fails for a code used in
engine/ or api/ that is missing here, for a code here that nothing uses, and for a policy code
without a case in tests/engine/error_corpus.yaml (or a named test, for codes no policy text can
trigger). The service's codes live here too, although only api/ gives them, so that one list
answers "what can lexgate say"; the engine imports nothing from api/.
"""

from __future__ import annotations

from enum import StrEnum

# Policy diagnostics: E00 reading, E01 names, E02 types, E03 structure, E04 operations,
# E05 the service's checks of a bundle, W warnings.
POLICY_CODES: dict[str, str] = {
    "E0000": "lexgate could not read a declaration (a bug in lexgate)",
    "E0001": "syntax error",
    "E0002": "the policy files cannot be read",
    "E0003": "not a calendar date",
    "E0004": "an amount of money with a unit",
    "E0101": "unknown name",
    "E0102": "unknown record field",
    "E0103": "not a member of the enum",
    "E0104": "a list has no single field",
    "E0105": "unknown function",
    "E0106": "declared twice",
    "E0107": "unknown type",
    "E0108": "a type not allowed here",
    "E0109": "a fact inside a fact",
    "E0110": "a definition that refers to itself",
    "E0111": "unknown fine",
    "E0112": "an exception to an unknown rule",
    "E0113": "an exception to itself",
    "E0114": "unknown rule in an example",
    "E0115": "unknown regime",
    "E0116": "no fine payable by this payer",
    "E0117": "unknown topic",
    "E0119": "`at least` without `exposure max`",
    "E0120": "a deadline counted from something other than a date",
    "E0201": "wrong type",
    "E0202": "values that do not combine",
    "E0203": "a value not allowed here",
    "E0204": "unknown currency",
    "E0205": "a set of mixed kinds",
    "E0206": "a list or table not allowed here",
    "E0207": "a bad key in a table",
    "E0208": "a value that cannot be negated",
    "E0209": "`in` or a set test without a set",
    "E0210": "wrong number of values for a function",
    "E0211": "a loop over something that is not a collection",
    "E0212": "a name already in use",
    "E0301": "a file that belongs to another regime",
    "E0302": "a clause not allowed here",
    "E0303": "a clause given twice",
    "E0304": "a dated value without `=`",
    "E0305": "a rule's `from` with a value",
    "E0306": "a declaration in the wrong place",
    "E0307": "no value",
    "E0308": "two values on one date",
    "E0309": "`until` not after `from`",
    "E0310": "no citation",
    "E0311": "a fine without a violation",
    "E0312": "a rule or exception that says nothing",
    "E0313": "an example that expects nothing",
    "E0314": "a regime without a currency",
    "E0315": "unknown aggregation",
    "E0316": "a regime that never applies",
    "E0318": "a derivation that reads a definition",
    "E0319": "unknown regime kind",
    "E0320": "unknown severity",
    "E0321": "a fine in an internal regime, or a severity in a statutory one",
    "E0322": "an internal rule without a severity",
    "E0401": "an operation that does not fit the vocabulary",
    "E0501": "a policy example that fails",
    "W0401": "a rule skipped when a fact is missing",
    # lexgate analyze (engine/analysis): what the solver finds
    "W0601": "a rule that can never fire",
    "W0602": "an exception that applies whenever its rule would fire",
    "W0603": "exceptions that together leave their rule dead",
    "W0604": "an exception that never applies when its rule would fire",
    "W0605": "two rules no one can comply with at once",
    "W0606": "two examples of the same operation with different expectations",
    "W0607": "a provision cited only by rules that can never fire",
    "W0608": "a rule the solver translation does not cover",
    "W0609": "a question the solver could not decide in its time limit",
    "W0610": "the evaluator decided a solver example otherwise",
}

# The service's answer codes, `{"error": {"code": …, "message": …}}`.
API_CODES: dict[str, str] = {
    "bad_request": "the request is not valid HTTP or has a bad header",
    "unauthenticated": "no API key, or an unknown or revoked one",
    "forbidden": "the key lacks the route's scope",
    "not_found": "no such route, profile or decision",
    "method_not_allowed": "the route does not take this method",
    "not_acceptable": "no answer in a media type the client accepts",
    "request_timeout": "the request did not arrive in time",
    "payload_too_large": "the body is over the size limit",
    "unsupported_media_type": "the body is not JSON",
    "invalid_request": "the request does not fit its schema or the vocabulary",
    "unavailable": "the service is starting or a dependency is down",
    "policy_error": "the policies do not load",
    "log_unavailable": "the decision log cannot record the decision",
    "decision_timeout": "the decision took longer than its budget",
    "time_limit": "a playground check, example run or decision took longer than its limit",
    "bundle_mismatch": "the workers serve different policy bundles",
    "internal": "a bug in lexgate (logged)",
    "error": "an HTTP status without a code of its own",
}

TITLES: dict[str, str] = {**POLICY_CODES, **API_CODES}


class FieldCode(StrEnum):
    """Why one field of an operation or request was refused. Callers branch on this, never on
    the message (which is for people and may be reworded)."""

    INVALID = "invalid"
    # A count that is not a whole number: the service retries once with integral decimals.
    WHOLE_NUMBER = "whole_number"
