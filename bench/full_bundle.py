"""Per-decision latency of the full shipped bundle on realistic CRM operations.

The operations (bench/crm_operations.json) are what a CRM sends before an export, a campaign or
a transfer: a handful of facts about the operation and some about the organisation, with the
rest missing. Each is validated once; the timed call is `bundle.decide_facts` (the evaluation
the API runs after validation), and separately `bundle.decide` (validation included).

    .venv/bin/python bench/full_bundle.py [--repeats 7] [--baseline REF]

`--baseline REF` measures the same operations, in the same run, with the engine and policies of
git revision REF (checked out in a temporary worktree and run in a subprocess with that
worktree first on sys.path), and prints the ratio now / baseline. Nothing is asserted: the
machine is shared, so figures are medians over repeats, with p99 beside them, and the clock is
the process's CPU time (time.process_time), which other work on the machine disturbs far less
than wall time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2025, 6, 1)


def measure(policies: Path, repeats: int, loops: int) -> dict[str, object]:
    import lexgate.engine as engine
    from lexgate.engine import load_bundle

    bundle = load_bundle(policies)
    cases = json.loads((ROOT / "bench" / "crm_operations.json").read_text())
    operations = [case["operation"] for case in cases]
    validated = [bundle.schema.validate(op)[0] for op in operations]
    statuses = [bundle.decide_facts(f, AS_OF).status for f in validated]

    def per_call(fn, items) -> list[float]:
        samples = []
        for _ in range(repeats):
            for item in items:
                start = time.process_time_ns()
                for _ in range(loops):
                    fn(item)
                samples.append((time.process_time_ns() - start) / loops / 1000)
        return samples

    evaluate = per_call(lambda f: bundle.decide_facts(f, AS_OF), validated)
    whole = per_call(lambda op: bundle.decide(op, as_of=AS_OF), operations)
    # gdpr-mini (bench/gdpr_mini.py's three rules), timed the same way in the same process:
    # the yardstick of issue 16's "full bundle <= 3x gdpr-mini per decision"
    mini = load_bundle(ROOT / "bench" / "gdpr_mini")
    mini_operations = _mini_operations(len(operations))
    mini_validated = [mini.schema.validate(op)[0] for op in mini_operations]
    mini_evaluate = per_call(lambda f: mini.decide_facts(f, AS_OF), mini_validated)
    mini_whole = per_call(lambda op: mini.decide(op, as_of=AS_OF), mini_operations)
    asked = {}
    import inspect

    if "questions" in inspect.signature(bundle.decide_facts).parameters:
        # what asking for decisive questions, or for fixes, costs per decision (issue 11)
        for flag in ("questions", "remediate"):
            samples = per_call(
                lambda f, flag=flag: bundle.decide_facts(f, AS_OF, **{flag: True}), validated
            )
            asked[flag] = (statistics.median(samples), statistics.quantiles(samples, n=100)[98])
    kleene_only = None
    try:
        from lexgate.engine import completion
    except ImportError:  # an engine from before exact unknowns
        completion = None
    if completion is not None:
        # the same engine and policies with completions off (three-valued logic alone): what
        # exactness costs, measured apart from everything else that changed
        saved, completion.BUDGET = completion.BUDGET, 1
        try:
            kleene_only = statistics.median(
                per_call(lambda f: bundle.decide_facts(f, AS_OF), validated)
            )
        finally:
            completion.BUDGET = saved
    return {
        "asked": asked,
        "decide_facts_kleene_only_median_us": kleene_only,
        "engine": str(Path(engine.__file__).parent),
        "statuses": statuses,
        "decide_facts_median_us": statistics.median(evaluate),
        "decide_facts_p99_us": statistics.quantiles(evaluate, n=100)[98],
        "decide_median_us": statistics.median(whole),
        "decide_p99_us": statistics.quantiles(whole, n=100)[98],
        "mini_decide_facts_median_us": statistics.median(mini_evaluate),
        "mini_decide_median_us": statistics.median(mini_whole),
    }


def _mini_operations(count: int) -> list[dict[str, object]]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from gdpr_mini import operations
    finally:
        sys.path.pop(0)
    result: list[dict[str, object]] = operations(count, seed=7)
    return result


def baseline(ref: str, repeats: int, loops: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
            check=True,
            capture_output=True,
        )
        try:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--json",
                    "--policies",
                    str(tree / "policies"),
                    "--repeats",
                    str(repeats),
                    "--loops",
                    str(loops),
                ],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=tree,
            ).stdout
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                check=False,
                capture_output=True,
            )
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--baseline", help="git revision to compare against, in the same run")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    now = measure(args.policies, args.repeats, args.loops)
    if args.json:
        print(json.dumps(now))
        return
    cases = json.loads((ROOT / "bench" / "crm_operations.json").read_text())
    print(
        f"full bundle, {len(cases)} CRM operations, as of {AS_OF}, "
        f"{args.repeats} repeats x {args.loops} loops per operation"
    )
    rows = [("now", now)]
    if args.baseline:
        rows.append(
            (f"baseline {args.baseline}", baseline(args.baseline, args.repeats, args.loops))
        )
    for label, figures in rows:
        print(
            f"  {label:<24} decide_facts median {figures['decide_facts_median_us']:8.1f} us"
            f"  p99 {figures['decide_facts_p99_us']:8.1f} us | decide (with validation) median"
            f" {figures['decide_median_us']:8.1f} us  p99 {figures['decide_p99_us']:8.1f} us"
        )
    full, mini = now["decide_facts_median_us"], now["mini_decide_facts_median_us"]
    full_whole, mini_whole = now["decide_median_us"], now["mini_decide_median_us"]
    print(
        f"  gdpr-mini, same run           decide_facts median {mini:8.1f} us"
        f"  | decide (with validation) median {mini_whole:8.1f} us"
    )
    print(
        f"  full bundle / gdpr-mini: decide_facts {full / mini:.1f}x, "
        f"decide {full_whole / mini_whole:.1f}x"
        f"  (goal: <= 3x; {'met' if full / mini <= 3 else 'NOT met'} for decide_facts)"
    )
    for flag, (median, p99) in now["asked"].items():
        print(
            f"  now, with {flag:<10} decide_facts median {median:8.1f} us  p99 {p99:8.1f} us"
            f"  ({median / now['decide_facts_median_us']:.1f}x a plain decision)"
        )
    if now["decide_facts_kleene_only_median_us"]:
        kleene = now["decide_facts_kleene_only_median_us"]
        print(
            f"  now, completions off (three-valued logic only): decide_facts median "
            f"{kleene:8.1f} us; exact unknowns cost {now['decide_facts_median_us'] / kleene:.2f}x"
        )
    if args.baseline:
        base = rows[1][1]
        print(
            f"  ratio now/baseline: decide_facts median "
            f"{now['decide_facts_median_us'] / base['decide_facts_median_us']:.2f}x, "
            f"decide median {now['decide_median_us'] / base['decide_median_us']:.2f}x"
        )
        print("  statuses (now vs baseline):")
        for case, a, b in zip(cases, now["statuses"], base["statuses"], strict=True):
            mark = "" if a == b else "   <- changed"
            print(f"    {case['name'][:52]:<54} {b:<25} -> {a}{mark}")


if __name__ == "__main__":
    main()
