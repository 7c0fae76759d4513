"""Simulation benchmark (issues 7 and 16). Prints, in one run:

1. scale-out: the full bundle's scenarios (200,000 and 1,000,000) generated, evaluated and
   summarised in 1 process and on a local Dask cluster of 1 and 2 workers (the same pipeline,
   the same partitions), with the ratios, the per-task time breakdown (generation, transfer,
   compile, kernel, summary) and the undetermined share;
2. the cost of the per-row rule columns (REGIME.violated / REGIME.undetermined): the kernel with
   and without them on the same frame;
3. 1,000,000 scenarios of the full bundle through the vectorised kernel (DataFrame in, results
   out): time and scenarios/s; the same scenarios through the scalar evaluator in a loop, on a
   sample, scaled to 1,000,000;
4. gdpr-mini: the vectorised back end against hand-written NumPy on the same column
   representation (int64 cents, enum codes, country bitsets), and the ratio.

Figures are measured here, in one run, so ratios compare like with like; the load average is
printed (a shared machine makes absolute times noisy). Nothing is asserted. Run:
    .venv/bin/python bench/simulate_bench.py [--policies DIR] [--rows N] [--repeats R]
        [--scale-out 200000,1000000] [--workers 1,2] [--skip-kernel]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import re
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from lexgate.engine import load_bundle
from lexgate.engine.simulation import partitions
from lexgate.engine.simulation.cluster import Outcome, execute, local_cluster
from lexgate.engine.simulation.kernel import Kernel
from lexgate.engine.simulation.operation_rows import iter_rows, row_to_operation
from lexgate.engine.simulation.operation_table import Columns
from lexgate.engine.simulation.scenarios import (
    ScenarioSpec,
    parse_distribution,
    parse_sweep,
    scenarios,
)
from lexgate.engine.simulation.tasks import Settings, evaluate
from lexgate.engine.simulation.vector_values import Env, round_half_even

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2025, 6, 1)
BASE = {
    "controller": {"establishments": ["DE"]},
    "subjects": {"locations": ["DE"]},
    "purposes": ["service_delivery"],
    "transfers": [{"destination": "IN", "mechanism": "none"}],
}
FULL_DISTRIBUTIONS = [
    "controller.establishments~choice(DE:0.5,FR|US:0.2,US:0.2,CN:0.1)",
    "legal_basis~choice(none:0.1,contract:0.5,consent:0.3,legitimate_interests:0.1)",
    "data_categories~choice(contact:0.6,contact|health:0.2,biometric:0.1,financial_account:0.1)",
    "special_category_condition~choice(none:0.3,explicit_consent:0.7)",
    "consent.given~choice(true:0.8,false:0.2)",
    "consent.explicit~choice(true:0.7,false:0.3)",
    "breach.occurred~choice(true:0.3,false:0.7)",
    "breach.risk~choice(none:0.3,low:0.4,high:0.3)",
    "breach.hours_to_authority~lognormal(3.5,1)",
    "breach.subjects~lognormal(8,2)",
    "breach.documented~choice(true:0.8,false:0.2)",
    "transfers[0].destination~choice(IN:0.3,JP:0.3,US:0.2,FR:0.2)",
    "transfers[0].mechanism~choice(none:0.3,scc:0.4,adequacy:0.3)",
]
MINI_DISTRIBUTIONS = [
    "controller.establishments~choice(DE:0.6,FR|US:0.2,US:0.2)",
    "legal_basis~choice(none:0.1,contract:0.6,consent:0.3)",
    "data_categories~choice(contact:0.6,contact|health:0.3,genetic:0.1)",
    "special_category_condition~choice(none:0.3,explicit_consent:0.7)",
    "transfers[0].destination~choice(IN:0.3,JP:0.3,US:0.2,FR:0.2)",
    "transfers[0].mechanism~choice(none:0.4,scc:0.4,adequacy:0.2)",
]


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _merged(base: dict, extra: dict) -> dict:
    """`extra`'s facts under `base`'s (groups merged, `base` wins), as a profile is merged."""
    result = dict(extra)
    for key, value in base.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(value, result[key])
        else:
            result[key] = value
    return result


def spec_args(bundle, rows: int, distributions: list[str]) -> tuple:
    sweeps = [parse_sweep("controller.worldwide_turnover=1e6..1e11:log:100")]
    return (
        BASE,
        sweeps,
        [parse_distribution(d) for d in distributions],
        max(rows // 100, 1),
        42,
        bundle.checked.vocabulary,
        "EUR",
    )


def frame_for(bundle, rows: int, distributions: list[str]):
    return scenarios(*spec_args(bundle, rows, distributions))


def full_distributions(bundle) -> list[str]:
    return [
        d
        for d in FULL_DISTRIBUTIONS
        if d.split("~")[0].split("[")[0] in bundle.checked.vocabulary.facts
    ]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


CODE_COLUMN = re.compile(r"\.(violated|undetermined|missing)(\[\d+\])?$")
SCALE_PARTITION = 50_000  # rows per task in the scale-out runs: 4 tasks at 200k, 20 at 1M


def _breakdown(outcome: Outcome, stream: list[dict] | None) -> str:
    stages = dict(outcome.timings)
    if stream is not None:
        moved = sum(
            s["stop"] - s["start"]
            for task in stream
            for s in task.get("startstops", ())
            if s["action"] in ("transfer", "deserialize")
        )
        stages["transfer"] = moved
    order = ("load", "transfer", "compile", "kernel", "summary", "write")
    total = sum(stages.values()) or 1.0
    return ", ".join(
        f"{'generation' if k == 'load' else k} {stages[k]:.2f} s ({stages[k] / total:.0%})"
        for k in order
        if k in stages
    )


def scale_out(bundle, sizes: list[int], worker_counts: list[int], repeats: int) -> None:
    """The same pipeline in one process and on Dask: rows generated, evaluated and summarised
    where they are; nothing per row comes back to the driver. The configurations take turns,
    `repeats` rounds, so a burst of load on the shared machine hits them alike; the fastest
    round of each is reported (and the median)."""
    from distributed import Client, get_task_stream

    print(f"scale-out (full bundle; rows generated on the workers; {load()})")
    args = spec_args(bundle, 1, full_distributions(bundle))
    clusters = {}
    control = max(worker_counts, default=0)
    pool = None
    if control > 1:
        pool = ProcessPoolExecutor(control, mp_context=multiprocessing.get_context("spawn"))
        warm = ScenarioSpec.build(*args[:3], 20, *args[4:])
        _plain(pool, bundle, partitions.generated(warm, 1_000)[: control * 2])
    try:
        for workers in worker_counts:
            started = time.perf_counter()
            cluster = local_cluster(workers)
            client = Client(cluster)
            start_seconds = time.perf_counter() - started
            # the first tasks on each worker compile the bundle (kept, keyed by bundle hash)
            spec = ScenarioSpec.build(*args[:3], 20, *args[4:])
            start = time.perf_counter()
            first = execute(
                [bundle],
                partitions.generated(spec, 1_000)[: workers * 2],
                as_of=AS_OF,
                address=cluster.scheduler_address,
            )
            print(
                f"  Dask, {workers} worker(s): cluster start {start_seconds:.1f} s; first tasks "
                f"{time.perf_counter() - start:.1f} s (compile on the workers "
                f"{first.timings.get('compile', 0.0):.2f} s summed)"
            )
            clusters[workers] = (cluster, client)
        for size in sizes:
            spec = ScenarioSpec.build(*args[:3], max(size // 100, 1), *args[4:])
            pieces = partitions.generated(spec, SCALE_PARTITION)
            runs: dict[int, list[tuple[float, Outcome, list | None]]] = {0: []}
            runs.update({w: [] for w in clusters})
            plain: list[tuple[float, dict[str, float]]] = []
            for _ in range(repeats):
                if pool is not None:
                    plain.append(_plain(pool, bundle, pieces))
                start = time.perf_counter()
                outcome = execute([bundle], pieces, as_of=AS_OF)
                runs[0].append((time.perf_counter() - start, outcome, None))
                for workers, (cluster, client) in clusters.items():
                    with get_task_stream(client) as stream:
                        start = time.perf_counter()
                        outcome = execute(
                            [bundle], pieces, as_of=AS_OF, address=cluster.scheduler_address
                        )
                        seconds = time.perf_counter() - start
                    runs[workers].append((seconds, outcome, stream.data))
            single = min(r[0] for r in runs[0])
            reference = runs[0][0][1].summaries
            print(f"  {spec.size:,} scenarios ({len(pieces)} partitions of {SCALE_PARTITION:,}):")
            for workers, rounds in runs.items():
                best = min(rounds, key=lambda r: r[0])
                median = statistics.median(r[0] for r in rounds)
                label = "1 process" if workers == 0 else f"Dask, {workers} worker(s)"
                same = all(r[1].summaries == reference for r in rounds)
                print(
                    f"    {label:<20} {best[0]:6.2f} s (median {median:.2f} s; "
                    f"{spec.size / best[0]:,.0f}/s), x{single / best[0]:.2f} the 1-process run"
                    + ("" if workers == 0 else f"; summary identical: {same}")
                )
                print(f"      per task, summed: {_breakdown(best[1], best[2])}")
            if plain:
                seconds, stages = min(plain, key=lambda r: r[0])
                print(
                    f"    {f'{control} processes, no Dask':<20} {seconds:6.2f} s "
                    f"(x{single / seconds:.2f}; the same tasks in a process pool: can this "
                    "machine run two kernels at once?)"
                )
                print(
                    "      per task, summed: "
                    + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
                )
            summary = reference[0]
            regimes = ", ".join(
                f"{name} {stats['undetermined_share']:.1%}"
                for name, stats in summary["regimes"].items()
            )
            print(
                f"    undetermined share: {summary['undetermined_share']:.1%} of scenarios "
                f"(per regime: {regimes})"
            )
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
        if pool is not None:
            pool.shutdown()
    print(f"  after the runs: {load()}")


def _plain_task(settings: Settings, index: int, piece, sources) -> dict[str, float]:
    return evaluate(settings, index, piece, sources).timings


def _plain(pool: ProcessPoolExecutor, bundle, pieces) -> tuple[float, dict[str, float]]:
    """The scale-out's tasks in a plain process pool (no Dask): wall time, stages summed."""
    settings = Settings(
        build=type(bundle).from_sources, hashes=(bundle.hash,), currency="EUR", as_of=AS_OF
    )
    sources = tuple(sorted(bundle.checked.sources.items()))
    start = time.perf_counter()
    futures = [
        pool.submit(_plain_task, settings, i, piece, sources) for i, piece in enumerate(pieces)
    ]
    stages: dict[str, float] = {}
    for future in futures:
        for stage, seconds in future.result().items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    return time.perf_counter() - start, stages


def rule_columns_cost(bundle, rows: int, repeats: int) -> None:
    """What the per-row code columns cost (rules violated and undetermined, facts to ask for):
    the kernel with and without them on the same frame,
    taking turns; the fastest run of each (the median too)."""
    frame = frame_for(bundle, rows, full_distributions(bundle))
    with_columns, without = Kernel(bundle), Kernel(bundle, rule_columns=False)
    result = with_columns.run(frame, AS_OF)
    without.run(frame, AS_OF)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(max(repeats, 3)):
        for flag, kernel in ((True, with_columns), (False, without)):
            start = time.perf_counter()
            kernel.run(frame, AS_OF)
            times[flag].append(time.perf_counter() - start)
    best = {flag: min(values) for flag, values in times.items()}
    median = {flag: statistics.median(values) for flag, values in times.items()}
    rule_columns = [c for c in result.columns if CODE_COLUMN.search(c)]
    size = sum(result[c].to_numpy().nbytes for c in rule_columns) / len(frame)
    print(
        f"per-row code columns (rules violated / undetermined, facts missing: "
        f"{len(rule_columns)} columns, {size:.0f} bytes a row; "
        f"{len(frame):,} scenarios): kernel {best[True]:.2f} s with, {best[False]:.2f} s "
        f"without (fastest of {len(times[True])}); cost {best[True] / best[False] - 1:+.1%} "
        f"(medians {median[True]:.2f} s / {median[False]:.2f} s: "
        f"{median[True] / median[False] - 1:+.1%})"
    )


def full_bundle(policies: Path, rows: int, repeats: int, sample: int) -> None:
    bundle = load_bundle(policies)
    kernel = Kernel(bundle)
    frame = frame_for(bundle, rows, full_distributions(bundle))
    result = kernel.run(frame, AS_OF)
    seconds = median_time(lambda: kernel.run(frame, AS_OF), repeats)
    print(f"full bundle ({', '.join(kernel.regimes)}; {len(frame):,} scenarios)")
    print(
        f"  vectorised: {seconds:.2f} s  ({len(frame) / seconds:,.0f} scenarios/s), "
        f"{result['scalar_fallback'].mean():.2%} of rows via the scalar fallback"
        + (f", scalar regimes: {kernel.unsupported}" if kernel.unsupported else "")
    )
    print(f"  statuses: {result['status'].value_counts().to_dict()}")
    undetermined = (result["status"].astype(str) == "undetermined").mean()
    print(
        f"  undetermined share: {undetermined:.1%} of scenarios "
        f"(per regime: "
        + ", ".join(
            f"{name} {(result[f'{name}.status'].astype(str) == 'undetermined').mean():.1%}"
            for name in kernel.regimes
        )
        + ")"
    )

    picks = np.random.default_rng(1).choice(len(frame), sample, replace=False)
    vocabulary = bundle.checked.vocabulary
    operations = [row_to_operation(r, vocabulary, "EUR") for r in iter_rows(frame, picks)]
    facts = [bundle.schema.validate(o)[0] for o in operations]

    def scalar_decide() -> None:
        for f in facts:
            bundle.decide_facts(f, AS_OF)

    def scalar_validate_and_decide() -> None:
        for o in operations:
            bundle.decide_facts(bundle.schema.validate(o)[0], AS_OF)

    per_row = median_time(scalar_decide, max(1, repeats // 2)) / sample
    per_row_validated = median_time(scalar_validate_and_decide, 1) / sample
    scaled = per_row * len(frame)
    print(
        f"  scalar loop (decide_facts on {sample:,} sampled rows, scaled to "
        f"{len(frame):,}): {scaled:.1f} s ({1 / per_row:,.0f} scenarios/s); "
        f"with validation {per_row_validated * len(frame):.1f} s"
    )
    print(f"  speed-up of the vectorised kernel over the scalar loop: {scaled / seconds:.0f}x")


def gdpr_mini(rows: int, repeats: int) -> None:
    bundle = load_bundle(ROOT / "bench" / "gdpr_mini")
    kernel = Kernel(bundle)
    frame = frame_for(bundle, rows, MINI_DISTRIBUTIONS)
    n = len(frame)
    columns = Columns(frame, bundle.checked.vocabulary, kernel.countries, "EUR")
    for path in bundle.checked.vocabulary.facts:
        columns.fact(path)  # encode once: both contenders start from the same columns
    regime = kernel.regimes["GDPR"]
    assert regime is not None

    def engine() -> tuple[np.ndarray, np.ndarray]:
        env = Env(
            n=n,
            facts=columns.view(None),
            as_of=AS_OF,
            params=regime.params_on(AS_OF),
            rates=bundle.rates,
            countries=columns.countries,
            fallback=np.zeros(n, dtype=bool),
            rate_scale=kernel.rate_scale,
        )
        result = regime.evaluate(env)
        high = result.payers["organisation"].high
        return result.status, round_half_even(high.values, high.scale - 2)

    book = columns.countries

    def bits(codes: list[str]) -> np.ndarray:
        row = np.zeros(book.words, dtype=np.uint64)
        for code in codes:
            i = book.index[code]
            row[i // 64] |= np.uint64(1) << np.uint64(i % 64)
        return row

    definitions = bundle.checked.regimes["GDPR"].defines
    eea = bits(sorted(definitions["eea"].value.value))
    adequate = bits(sorted(definitions["adequate"].value.value))
    categories = bundle.checked.vocabulary.enums["data_category"].members
    special = np.uint64(sum(1 << categories.index(c) for c in definitions["special"].value.value))
    basis_none = bundle.checked.vocabulary.enums["legal_basis"].members.index("none")
    condition_none = bundle.checked.vocabulary.enums["special_category_condition"].members.index(
        "none"
    )
    mechanisms = bundle.checked.vocabulary.enums["transfer_mechanism"].members
    scc, bcr = mechanisms.index("scc"), mechanisms.index("bcr")
    establishments = columns.fact("controller.establishments").words
    basis = columns.fact("legal_basis").values
    data = columns.fact("data_categories").words[:, 0]
    condition = columns.fact("special_category_condition").values
    transfers = columns.fact("transfers")
    destination = transfers.elements[0]["destination"].values
    mechanism = transfers.elements[0]["mechanism"].values
    cents = columns.fact("controller.worldwide_turnover").amounts.values

    def hand() -> tuple[np.ndarray, np.ndarray]:
        # written for known facts only, as a person would: the floor the engine is held to
        in_scope = ((establishments & eea) != 0).any(axis=1)
        no_basis = basis == basis_none
        special_data = (data & special) != 0
        art9 = special_data & (condition == condition_none)
        word, bit = destination // 64, (destination % 64).astype(np.uint64)
        in_eea = ((eea[word] >> bit) & np.uint64(1)) == 1
        adequate_dest = ((adequate[word] >> bit) & np.uint64(1)) == 1
        art44 = (transfers.length > 0) & ~(
            in_eea | adequate_dest | (mechanism == scc) | (mechanism == bcr)
        )
        denied = in_scope & (no_basis | art9 | art44)
        status = np.where(~in_scope, 4, np.where(denied, 0, 3)).astype(np.int8)
        # max(EUR 20m, 4% of turnover) in units of 1/10,000 cent, then half-even to cents
        upper = np.maximum(2_000_000_000 * 10_000, cents * 4 * 100)
        quotient, remainder = np.divmod(upper, 10_000)
        upper_cents = quotient + (
            (2 * remainder > 10_000) | ((2 * remainder == 10_000) & (quotient % 2 == 1))
        )
        return status, np.where(denied, upper_cents, 0)

    engine_status, engine_exposure = engine()
    hand_status, hand_exposure = hand()
    assert (engine_status == hand_status).all(), "hand-written NumPy disagrees on status"
    assert (engine_exposure[engine_status == 0] == hand_exposure[hand_status == 0]).all()
    engine_seconds = median_time(engine, repeats)
    hand_seconds = median_time(hand, repeats)
    end_to_end = median_time(lambda: kernel.run(frame, AS_OF), repeats)
    print(f"gdpr-mini ({n:,} scenarios, same encoded columns)")
    print(
        f"  vectorised back end: {engine_seconds * 1000:.0f} ms; hand-written NumPy: "
        f"{hand_seconds * 1000:.0f} ms; ratio {engine_seconds / hand_seconds:.2f}x"
    )
    print(
        f"  end to end (DataFrame in, result table out): {end_to_end:.2f} s "
        f"({n / end_to_end:,.0f} scenarios/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument(
        "--scale-out", default="200000,1000000", help="scenario counts of the scale-out runs"
    )
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to compare")
    parser.add_argument("--scale-repeats", type=int, default=2, help="rounds of the scale-out")
    parser.add_argument(
        "--skip-kernel", action="store_true", help="only the scale-out and rule-column figures"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="organisation facts (a profile, e.g. "
        "examples/profile.json) stated in every scenario's base operation",
    )
    args = parser.parse_args()
    if args.profile is not None:
        global BASE
        BASE = _merged(BASE, json.loads(args.profile.read_text()))
        print(f"base operation with the organisation facts of {args.profile}")
    print(load())
    bundle = load_bundle(args.policies)
    sizes = [int(s) for s in args.scale_out.split(",") if s]
    if sizes:
        workers = [int(w) for w in args.workers.split(",") if w]
        scale_out(bundle, sizes, workers, args.scale_repeats)
    rule_columns_cost(bundle, min(args.rows, 200_000), args.repeats)
    if not args.skip_kernel:
        full_bundle(args.policies, args.rows, args.repeats, args.sample)
        gdpr_mini(args.rows, args.repeats)


if __name__ == "__main__":
    main()
