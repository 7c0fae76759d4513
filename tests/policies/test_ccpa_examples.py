"""`lexgate test policies/ccpa` as a pytest: every CCPA example passes and exercises every rule."""

from __future__ import annotations

from lexgate.engine import Bundle, run_examples


def test_every_ccpa_example_passes_and_every_rule_is_exercised(bundle: Bundle) -> None:
    report = run_examples(bundle, "CCPA")
    failures = [f"{r.description}: {'; '.join(r.failures)}" for r in report.results if not r.passed]
    assert not failures, "\n".join(failures)
    coverage = report.coverage["CCPA"]
    assert all(coverage.rules.values()), [name for name, hit in coverage.rules.items() if not hit]
    assert all(coverage.provisions.values()), [
        cite for cite, hit in coverage.provisions.items() if not hit
    ]


def test_every_ccpa_example_states_its_date(bundle: Bundle) -> None:
    # The CPI figures of 2025 end on 2027-01-01: an example decided "today" would change outcome
    # with the calendar, so each CCPA example fixes its own `as of`.
    undated = [e.description for e in bundle.checked.regimes["CCPA"].examples if e.as_of is None]
    assert not undated, undated
