"""`lexgate simulate`: the analysts' command. Heavy libraries (pandas, matplotlib, dask) load
inside the command, so other subcommands start as fast as before."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class ResultFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


def simulate(
    operations: Annotated[
        Path | None,
        typer.Argument(
            help="Operations as CSV, Parquet or JSON Lines (flattened columns such as "
            "controller.worldwide_turnover.amount)."
        ),
    ] = None,
    policies: Annotated[Path, typer.Option("--policies", "-p", help="Policy directory.")] = Path(
        "policies"
    ),
    base: Annotated[
        Path | None, typer.Option(help="Base operation (JSON) for sweeps and sampling.")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option(
            "--vary",
            help="Sweep a fact: PATH=LO..HI[:lin|log][:N] or PATH=a,b,c (repeatable; "
            "several make a grid).",
        ),
    ] = None,
    sample: Annotated[int, typer.Option(help="Scenarios drawn per sweep point.")] = 0,
    dist: Annotated[
        list[str] | None,
        typer.Option(
            "--dist",
            help="PATH~lognormal(mu,sigma) | normal(m,sd) | uniform(lo,hi) | "
            "choice(a:w,b:w) (repeatable).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same scenarios.")] = 0,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Default date the law is applied at (a row's as_of wins)."),
    ] = None,
    currency: Annotated[str, typer.Option(help="Reporting currency.")] = "EUR",
    output: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "simulation"
    ),
    result_format: Annotated[ResultFormat, typer.Option("--format")] = ResultFormat.parquet,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="Another policy directory (a reform) to compare with."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Run on a local Dask cluster of N workers.")] = 0,
    cluster: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots and the HTML report.")] = True,
) -> None:
    """Evaluate many scenarios at once: per-scenario results, a summary, plots and a report."""
    from ..simulation import partitions
    from ..simulation.cluster import execute
    from ..simulation.operation_table import TableError, unknown_columns
    from ..simulation.report import (
        compare_summary,
        plot_distribution,
        plot_status,
        plot_sweep,
        write_html,
    )
    from ..simulation.scenarios import (
        InputError,
        ScenarioSpec,
        parse_distribution,
        parse_sweep,
        read_operations,
    )
    from ..vocabulary import OperationError, load_operation_json
    from .common import EXIT_USAGE, _fail, _load, parse_as_of

    day = parse_as_of(as_of)
    bundle = _load(policies)
    vocabulary = bundle.checked.vocabulary
    operation: Any = None
    try:
        sweeps = [parse_sweep(v) for v in vary or []]
        distributions = [parse_distribution(d) for d in dist or []]
        if operations is not None:
            if sweeps or distributions:
                _fail(EXIT_USAGE, "give an operations file, or --base with --vary/--dist, not both")
            if operations.suffix.lower() in (".parquet", ".pq") or operations.is_dir():
                # read by the workers, row group by row group; only the footers are read here
                pieces = partitions.parquet(operations)
                names = _parquet_columns(operations)
            else:
                frame = read_operations(operations, vocabulary)
                pieces, names = partitions.in_memory(frame), list(frame.columns)
        else:
            if not (sweeps or distributions):
                _fail(
                    EXIT_USAGE,
                    "nothing to simulate: give an operations file, or --vary / "
                    "--dist (with --base)",
                )
            if distributions and sample <= 0:
                _fail(EXIT_USAGE, "--dist needs --sample N")
            operation = load_operation_json(base.read_bytes()) if base else {}
            bundle.schema.validate(operation)  # a bad base fails here, with field paths
            spec = ScenarioSpec.build(
                operation, sweeps, distributions, sample, seed, vocabulary, currency
            )
            # generated on the workers, partition by partition, from the seed
            pieces = partitions.generated(spec)
            names = list(spec.rows(0, min(1, spec.size), vocabulary).columns)
    except (InputError, OSError) as error:
        _fail(EXIT_USAGE, str(error))
    except OperationError as error:
        for field_error in error.errors:
            err.print(f"[bold red]error:[/] --base {field_error.path}: {field_error.message}")
        raise typer.Exit(EXIT_USAGE) from None
    for name in unknown_columns(names, vocabulary):
        err.print(f"[yellow]warning:[/] column `{name}` names no fact; it is ignored")

    reform = _load(compare) if compare is not None else None
    bundles = [bundle] + ([reform] if reform else [])
    numeric_sweep = bool(sweeps and sweeps[0].values and isinstance(sweeps[0].values[0], float))
    x_column = _sweep_column(sweeps[0].path, names) if numeric_sweep else None
    output.mkdir(parents=True, exist_ok=True)
    dataset = output / f"results.{result_format.value}"
    _clear(dataset)
    total = sum(piece.rows for piece in pieces)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("scenarios"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        ) as progress:
            task = progress.add_task("baseline and reform" if reform else "scenarios", total=total)
            outcome = execute(
                bundles,
                pieces,
                currency=currency,
                as_of=day,
                output=str(dataset),
                result_format=result_format.value,
                sweep_column=x_column,
                workers=workers,
                address=cluster,
                progress=lambda n: progress.advance(task, n),
            )
    except (TableError, OperationError) as error:
        _fail(EXIT_USAGE, str(error))
    currencies = outcome.currencies
    summary = outcome.summaries[0]
    if reform is not None:
        rows = outcome.merged.rows
        summary = compare_summary(
            summary, outcome.summaries[1], outcome.merged.changed / rows if rows else 0.0
        )
    inputs = {
        "bundle": bundle.hash,
        "policies": str(policies),
        **({"reform bundle": reform.hash, "reform": str(compare)} if reform else {}),
        **({"operations": str(operations)} if operations is not None else {}),
        **({"base": operation} if operation is not None else {}),
        **({"vary": list(vary)} if vary else {}),
        **({"dist": list(dist), "sample": sample} if dist else {}),
        "seed": seed,
        "as_of": day.isoformat() if day else None,
        "currency": currency,
        "workers": cluster or workers,
    }
    summary = {**summary, "inputs": inputs}
    (output / "summary.json").write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    # the lookup tables of the per-row code columns: rules (REGIME.violated, .undetermined) and
    # facts (REGIME.missing)
    codes = {"baseline": outcome.codes[0]} | ({"reform": outcome.codes[1]} if reform else {})
    (output / "rules.json").write_text(json.dumps(codes, indent=2) + "\n", encoding="utf-8")
    facts = {"baseline": outcome.facts[0]} | ({"reform": outcome.facts[1]} if reform else {})
    (output / "facts.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    written = [dataset, output / "summary.json", output / "rules.json", output / "facts.json"]
    if plots and total:
        images = []
        if x_column is not None:
            label = sweeps[0].path.removesuffix(".amount")
            if x_column.endswith(".amount"):
                # an amount without a currency column: the reporting currency (operation_table)
                label += f" ({_sweep_unit(operation, sweeps[0].path, currency)})"
            images.append(
                plot_sweep(
                    outcome.merged,
                    label,
                    sweeps[0].log,
                    currencies,
                    output / "exposure_vs_fact.png",
                )
            )
        images.append(
            plot_status(
                outcome.summaries[0],
                output / "status_by_regime.png",
                "Status by regime" + (" (baseline)" if reform else ""),
            )
        )
        if reform is not None:
            images.append(
                plot_status(
                    outcome.summaries[1],
                    output / "status_by_regime_reform.png",
                    "Status by regime (reform)",
                )
            )
        runs = [("", "Total exposure" + (" (baseline)" if reform else ""), "")]
        if reform is not None:
            runs.append(("reform.", "Total exposure (reform)", "_reform"))
        for index, (prefix, title, suffix) in enumerate(runs):
            images.append(
                plot_distribution(
                    outcome.merged.columns[prefix],
                    outcome.summaries[index]["total"],
                    output / f"exposure_distribution{suffix}.png",
                    title,
                )
            )
        written += images
        written.append(
            write_html(
                summary,
                images,
                output / "report.html",
                f"lexgate simulation — bundle {bundle.hash[:12]}",
                inputs,
            )
        )
    _print_summary(summary)
    for path in written:
        out.print(f"wrote {path}")


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    return list(pq.read_schema(files[0]).names) if files else []


def _clear(dataset: Path) -> None:
    """An earlier run's dataset goes first: its parts would otherwise mix with this run's."""
    if dataset.is_file():
        dataset.unlink()
    elif dataset.is_dir():
        for part in dataset.glob("part-*"):
            part.unlink()


def _sweep_unit(operation: Any, path: str, currency: str) -> str:
    node = operation or {}
    for key in path.split("."):
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return str(node.get("currency", currency)) if isinstance(node, dict) else currency


def _sweep_column(path: str, names: list[str]) -> str:
    return f"{path}.amount" if f"{path}.amount" in names else path


def _print_summary(summary: dict[str, Any]) -> None:
    runs = (
        {"baseline": summary["baseline"], "reform": summary["reform"]}
        if "baseline" in summary
        else {"": summary}
    )
    for run, data in runs.items():
        table = Table(
            "regime",
            "currency",
            "denied",
            "undetermined",
            "mean",
            "median",
            "P95",
            "P99",
            "max",
            title=f"{run} {data['scenarios']:,} scenarios".strip(),
            box=None,
        )
        for name, stats in [("all", data["total"]), *data["regimes"].items()]:
            exposure = stats.get("exposure_max", {})
            table.add_row(
                name,
                stats["currency"],
                f"{stats['share_denied']:.1%}",
                f"{stats.get('undetermined_share', 0.0):.1%}",
                *(
                    f"{exposure[k]:,.0f}" if k in exposure else "—"
                    for k in ("mean", "median", "p95", "p99", "max")
                ),
            )
        out.print(table)
    if "change" in summary:
        out.print(f"status changed in {summary['change']['status_changed_share']:.1%} of scenarios")
