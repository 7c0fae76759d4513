"""Per-decision latency of gdpr-mini: the policy language vs hand-written Python and Cedar.

gdpr-mini (bench/gdpr_mini/) has three rules — no basis (Art. 6), special category without an
Art. 9(2) condition (Art. 9), transfer outside the EEA without adequacy/SCC/BCR (Art. 44) — and
the exposure max(EUR 20m, 4% of turnover) capped once (Art. 83(3)). Both sides read the same
validated facts and return status, violations and exposure with exact Decimal money; the DSL
side also builds the full Decision (trace facts per violation, reporting currency).

    .venv/bin/python bench/gdpr_mini.py [--operations 2000] [--repeats 7]

Prints median and p99 latency per decision for each, and the ratio DSL / hand-written
(goal: within 5x). Timing is per decision with perf_counter_ns; the machine is shared, so
figures are medians over repeats, not single runs.

Cedar (cedarpy, the dev extra): the same three rules in bench/gdpr_mini/gdpr_mini.cedar, with
the policy set and entities parsed once. Cedar has no quantifier over a set of records, so an
operation is one `process` request plus one `transfer` request per transfer, sent in one
`is_authorized_batch` call; the timed call builds those requests from the validated facts and
decides them. Cedar answers allow/deny and the matched policies only (no unknowns, no
exposure), so the lexgate side does more work per decision. Before timing, the two must agree
on every operation: denied exactly when Cedar denies, with the same rules. Goal: lexgate's
`decide_facts` >= 5x faster than Cedar (issue 16).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from lexgate.engine import Money, load_bundle
from lexgate.engine.decision import Amount, Decision, ExposureLine, RegimeDecision, Violation

HERE = Path(__file__).parent
AS_OF = dt.date(2025, 6, 1)
EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)
ADEQUATE = frozenset(
    ["AD", "AR", "CA", "CH", "FO", "GG", "IL", "IM", "JE", "NZ", "UY", "JP", "GB", "KR"]
)
SPECIAL = frozenset(
    [
        "health",
        "genetic",
        "biometric",
        "racial_ethnic",
        "political",
        "religious",
        "trade_union",
        "sex_life",
    ]
)
COUNTRIES = ["DE", "FR", "IE", "US", "IN", "JP", "CN", "BR", "GB"]


def hand_written(facts: dict[str, Any]) -> dict[str, Any]:
    """gdpr-mini written directly in Python, with the same three-valued semantics."""
    missing: set[str] = set()

    def get(path: str) -> Any:
        value = facts.get(path)
        if value is None:
            missing.add(path)
        return value

    establishments = get("controller.establishments")
    if establishments is None:
        return {"status": "undetermined", "missing": sorted(missing)}
    if establishments.isdisjoint(EEA):
        return {"status": "not_applicable"}
    violated, unknown = [], False
    basis = get("legal_basis")
    if basis is None:
        unknown = True
    elif basis == "none":
        violated.append("lawful_basis")
    categories = get("data_categories")
    if categories is None:
        unknown = True
    elif not categories.isdisjoint(SPECIAL):
        condition = get("special_category_condition")
        if condition is None:
            unknown = True
        elif condition == "none":
            violated.append("special_categories")
    transfers = get("transfers")
    if transfers is None:
        unknown = True
    else:
        any_unknown = False
        for i, t in enumerate(transfers):
            destination, mechanism = t.get("destination"), t.get("mechanism")
            if destination is not None and (destination in EEA or destination in ADEQUATE):
                continue
            if mechanism in ("scc", "bcr"):
                continue
            if destination is None:
                missing.add(f"transfers[{i}].destination")
            if mechanism is None:
                missing.add(f"transfers[{i}].mechanism")
            if destination is None or mechanism is None:
                any_unknown = True
                continue
            violated.append("transfers")
            break
        else:
            unknown |= any_unknown
    exposure = None
    if violated:
        turnover = get("controller.worldwide_turnover")
        if turnover is not None:
            exposure = max(
                Money(Decimal(20_000_000), "EUR"),
                turnover.scale(Decimal("0.04")),
                key=lambda m: m.amount,
            )
        status = "denied"
    else:
        status = "undetermined" if unknown else "allowed"
    return {
        "status": status,
        "violations": violated,
        "exposure_max": exposure,
        "missing": sorted(missing),
    }


CITES = {
    "lawful_basis": ("Processing needs a lawful basis", "Art. 6(1)"),
    "special_categories": (
        "Special categories need explicit consent or another condition",
        "Art. 9",
    ),
    "transfers": ("Transfers outside the EEA need adequacy, SCCs or BCRs", "Art. 44"),
}
FACTS_READ = {
    "lawful_basis": ("legal_basis",),
    "special_categories": ("data_categories", "special_category_condition"),
    "transfers": ("transfers",),
}
CAP = Money(Decimal(20_000_000), "EUR")
ZERO = Money(Decimal(0), "EUR")


def hand_written_decision(facts: dict[str, Any]) -> Decision:
    """The same logic, written by hand, producing the same Decision the engine produces: what
    a team would have to write and maintain without lexgate. The ratio is taken against this."""
    bare = hand_written(facts)
    status = bare["status"]
    if status == "not_applicable":
        regime = RegimeDecision(
            regime="GDPR",
            title="gdpr-mini",
            status=status,
            reasons=("none of the scope conditions holds (Art. 3(1))",),
            violations=(),
            obligations=(),
            missing=(),
            exposure={},
            currency="EUR",
            aggregation="gravest",
            aggregation_cite="Art. 83(3)",
        )
    else:
        violations = []
        for name in bare.get("violations", []):
            title, cite = CITES[name]
            high = bare["exposure_max"]
            line = ExposureLine(
                fine="upper",
                title="upper",
                payer="organisation",
                cite="Art. 83(5)",
                amount=Amount(min=ZERO, max=high, reporting_min=ZERO, reporting_max=high),
                missing=() if high is not None else ("controller.worldwide_turnover",),
            )
            violations.append(
                Violation(
                    rule=name,
                    title=title,
                    cite=cite,
                    exposure=(line,),
                    facts={p: facts.get(p) for p in FACTS_READ[name]},
                )
            )
        exposure = {}
        if violations:
            high = bare["exposure_max"]
            exposure = {
                "organisation": Amount(min=ZERO, max=high, reporting_min=ZERO, reporting_max=high)
            }
        missing = tuple(bare.get("missing", ())) if status == "undetermined" else ()
        undetermined = ()
        regime = RegimeDecision(
            regime="GDPR",
            title="gdpr-mini",
            status=status,
            reasons=("applies: Art. 3(1)",)
            if "missing" not in bare or status != "undetermined" or violations
            else (),
            violations=tuple(violations),
            obligations=(),
            missing=missing,
            exposure=exposure,
            currency="EUR",
            aggregation="gravest",
            aggregation_cite="Art. 83(3)",
            undetermined_rules=undetermined,
        )
    organisation = regime.exposure.get("organisation")
    total = Amount(
        min=None,
        max=None,
        reporting_min=organisation.reporting_min if organisation else ZERO,
        reporting_max=organisation.reporting_max if organisation else ZERO,
    )
    return Decision(
        status=status,
        as_of=AS_OF,
        currency="EUR",
        regimes={"GDPR": regime},
        exposure=total,
        missing=regime.missing,
        bundle_hash="hand",
    )


def operations(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        op: dict[str, Any] = {
            "controller": {
                "establishments": rng.sample(COUNTRIES, rng.randint(1, 2)),
                "worldwide_turnover": {
                    "amount": str(rng.randint(10**6, 10**11)),
                    "currency": "EUR",
                },
            },
            "legal_basis": rng.choice(["consent", "contract", "none"]),
            "data_categories": rng.sample(
                ["contact", "health", "genetic", "other"], rng.randint(1, 2)
            ),
            "special_category_condition": rng.choice(["explicit_consent", "none"]),
            "transfers": [
                {
                    "destination": rng.choice(COUNTRIES),
                    "mechanism": rng.choice(["adequacy", "scc", "none"]),
                }
                for _ in range(rng.randint(0, 2))
            ],
        }
        result.append(op)
    return result


CEDAR_RULES = {"policy1": "lawful_basis", "policy2": "special_categories", "policy3": "transfers"}


CEDAR_PRINCIPAL, CEDAR_RESOURCE = 'Controller::"c"', 'Operation::"op"'


def cedar_requests(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """One operation as Cedar requests: a `process` request and one `transfer` per transfer."""
    principal, resource = CEDAR_PRINCIPAL, CEDAR_RESOURCE
    establishments = sorted(facts["controller.establishments"])
    requests = [
        {
            "principal": principal,
            "action": 'Action::"process"',
            "resource": resource,
            "context": {
                "establishments": establishments,
                "legal_basis": facts["legal_basis"],
                "data_categories": sorted(facts["data_categories"]),
                "special_category_condition": facts["special_category_condition"],
            },
        }
    ]
    for transfer in facts["transfers"]:
        requests.append(
            {
                "principal": principal,
                "action": 'Action::"transfer"',
                "resource": resource,
                "context": {
                    "establishments": establishments,
                    "destination": transfer["destination"],
                    "mechanism": transfer["mechanism"],
                },
            }
        )
    return requests


def cedar_decider() -> tuple[Callable[[dict[str, Any]], tuple[bool, list[str]]], Any] | None:
    """((validated facts -> denied, rules matched), decide a list of requests in one call)
    from Cedar, or None without cedarpy."""
    try:
        import cedarpy
    except ImportError:
        return None
    policies = cedarpy.PolicySet.from_str((HERE / "gdpr_mini" / "gdpr_mini.cedar").read_text())
    entities = cedarpy.Entities.from_json_str("[]")

    def authorize(requests: list[dict[str, Any]]) -> Any:
        return cedarpy.is_authorized_batch(requests, policies, entities)

    def decide(facts: dict[str, Any]) -> tuple[bool, list[str]]:
        results = authorize(cedar_requests(facts))
        matched = [  # the permit-all policy (policy0) is the reason of an allowed request
            CEDAR_RULES[reason]
            for result in results
            if not result.allowed
            for reason in result.diagnostics.reasons
        ]
        return any(not result.allowed for result in results), matched

    return decide, authorize


def time_each(function: Callable[[Any], Any], items: list[Any]) -> list[int]:
    durations = []
    for item in items:
        start = time.perf_counter_ns()
        function(item)
        durations.append(time.perf_counter_ns() - start)
    return durations


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    bundle = load_bundle(HERE / "gdpr_mini")
    facts_list = [bundle.schema.validate(op)[0] for op in operations(args.operations, seed=7)]

    def dsl(facts: dict[str, Any]) -> Any:
        return bundle.decide_facts(facts, AS_OF)

    # the two must agree before their speed means anything
    for facts in facts_list:
        ours, theirs = dsl(facts).regimes["GDPR"], hand_written(facts)
        assert ours.status == theirs["status"], (facts, ours.status, theirs)
        if theirs["status"] == "denied":
            assert sorted(v.rule for v in ours.violations) == sorted(theirs["violations"])
            assert ours.exposure["organisation"].max == theirs["exposure_max"]
        mine = hand_written_decision(facts).regimes["GDPR"]
        assert mine.status == ours.status and mine.exposure == ours.exposure, (mine, ours)
        assert [v.to_dict() for v in mine.violations] == [v.to_dict() for v in ours.violations]

    cedar_sides = cedar_decider()
    cedar, cedar_all = cedar_sides if cedar_sides is not None else (None, None)
    if cedar is not None:
        for facts in facts_list:
            ours = dsl(facts).regimes["GDPR"]
            denied, matched = cedar(facts)
            assert denied == (ours.status == "denied"), (facts, ours.status, matched)
            assert sorted(set(matched)) == sorted(v.rule for v in ours.violations), facts

    samples: dict[str, list[float]] = {
        "dsl": [],
        "hand": [],
        "bare": [],
        "dsl_p99": [],
        "hand_p99": [],
        "bare_p99": [],
        "cedar": [],
        "cedar_p99": [],
    }
    sides: list[tuple[str, Callable[[Any], Any]]] = [
        ("dsl", dsl),
        ("hand", hand_written_decision),
        ("bare", hand_written),
    ]
    if cedar is not None:
        sides.append(("cedar", cedar))
    for _ in range(args.repeats):
        for name, function in sides:
            durations = time_each(function, facts_list)
            samples[name].append(statistics.median(durations))
            samples[f"{name}_p99"].append(percentile(durations, 0.99))
    operations_json = operations(min(args.operations, 500), seed=7)
    validate = time_each(lambda op: bundle.decide(op, as_of=AS_OF), operations_json)

    def figure(name: str) -> tuple[float, float]:
        return (
            statistics.median(samples[name]) / 1000,
            statistics.median(samples[f"{name}_p99"]) / 1000,
        )

    (dsl_median, dsl_p99), (hand_median, hand_p99) = figure("dsl"), figure("hand")
    bare_median, bare_p99 = figure("bare")
    print(
        f"gdpr-mini, {args.operations} operations x {args.repeats} repeats "
        f"(median of per-repeat figures, microseconds per decision)"
    )
    print(
        f"  DSL (compiled closures, full Decision):  median {dsl_median:8.2f} µs   "
        f"p99 {dsl_p99:8.2f} µs"
    )
    print(
        f"  hand-written Python, same Decision:      median {hand_median:8.2f} µs   "
        f"p99 {hand_p99:8.2f} µs"
    )
    print(
        f"  hand-written Python, bare status dict:   median {bare_median:8.2f} µs   "
        f"p99 {bare_p99:8.2f} µs"
    )
    print(
        f"  ratio DSL / hand-written same Decision:  {dsl_median / hand_median:8.2f}x   "
        f"(goal: <= 5x)"
    )
    print(f"  ratio DSL / hand-written bare dict:      {dsl_median / bare_median:8.2f}x")
    with_validation = statistics.median(validate) / 1000
    print(
        f"  DSL incl. JSON validation (pydantic):   median "
        f"{with_validation:8.1f} µs   (for reference)"
    )
    if cedar is None:
        print("  Cedar: cedarpy is not installed (pip install -e '.[dev]'); not measured")
        return
    cedar_median, cedar_p99 = figure("cedar")
    print(
        f"  Cedar (cedarpy, batch per operation):    median {cedar_median:8.2f} µs   "
        f"p99 {cedar_p99:8.2f} µs"
    )
    print(
        f"  Cedar / DSL decide_facts:                {cedar_median / dsl_median:8.2f}x faster"
        f"   (goal: >= 5x); p99 {cedar_p99 / dsl_p99:.2f}x"
    )
    print(
        f"  Cedar / DSL incl. JSON validation:       {cedar_median / with_validation:8.2f}x"
        f"   (Cedar validates nothing here)"
    )
    # Cedar's best case: every operation's requests in one call (no per-call crossing into
    # Rust), as a batch job would send them; not what a CRM's request path can do
    batch_times = []
    for _ in range(args.repeats):
        start = time.perf_counter_ns()
        cedar_all([r for facts in facts_list for r in cedar_requests(facts)])
        batch_times.append((time.perf_counter_ns() - start) / len(facts_list) / 1000)
    batched = statistics.median(batch_times)
    dsl_mean = statistics.fmean(time_each(dsl, facts_list)) / 1000
    print(
        f"  Cedar, all {len(facts_list)} operations in one batch call: {batched:8.2f} µs per "
        f"operation (mean); DSL mean {dsl_mean:.2f} µs: {batched / dsl_mean:.2f}x"
    )


if __name__ == "__main__":
    main()
