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
    TaskID,
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
    import pandas as pd

    from ..simulation import runner as sim
    from ..simulation.operation_table import TableError, unknown_columns
    from ..simulation.report import (
        compare_summary,
        plot_distribution,
        plot_sweep,
        summarise,
        write_html,
    )
    from ..simulation.scenarios import (
        InputError,
        parse_distribution,
        parse_sweep,
        read_operations,
        scenarios,
    )
    from ..vocabulary import OperationError, load_operation_json
    from .common import EXIT_USAGE, _fail, _load, parse_as_of

    day = parse_as_of(as_of)
    bundle = _load(policies)
    vocabulary = bundle.checked.vocabulary
    try:
        sweeps = [parse_sweep(v) for v in vary or []]
        distributions = [parse_distribution(d) for d in dist or []]
        if operations is not None:
            if sweeps or distributions:
                _fail(EXIT_USAGE, "give an operations file, or --base with --vary/--dist, not both")
            frame = read_operations(operations, vocabulary)
        else:
            if not (sweeps or distributions):
                _fail(
                    EXIT_USAGE,
                    "nothing to simulate: give an operations file, or --vary / "
                    "--dist (with --base)",
                )
            if distributions and sample <= 0:
                _fail(EXIT_USAGE, "--dist needs --sample N")
            operation: Any = load_operation_json(base.read_bytes()) if base else {}
            bundle.schema.validate(operation)  # a bad base fails here, with field paths
            frame = scenarios(operation, sweeps, distributions, sample, seed, vocabulary, currency)
    except (InputError, OSError) as error:
        _fail(EXIT_USAGE, str(error))
    except OperationError as error:
        for field_error in error.errors:
            err.print(f"[bold red]error:[/] --base {field_error.path}: {field_error.message}")
        raise typer.Exit(EXIT_USAGE) from None
    for name in unknown_columns(frame.columns, vocabulary):
        err.print(f"[yellow]warning:[/] column `{name}` names no fact; it is ignored")

    reform = _load(compare) if compare is not None else None
    runs = [("baseline" if reform else "scenarios", bundle)] + (
        [("reform", reform)] if reform else []
    )
    results = []
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
            for label, policy_bundle in runs:
                task = progress.add_task(label, total=len(frame))

                def advance(n: int, task: TaskID = task) -> None:
                    progress.advance(task, n)

                results.append(
                    sim.run(
                        policy_bundle,
                        frame,
                        as_of=day,
                        currency=currency,
                        workers=workers,
                        cluster=cluster,
                        progress=advance,
                    )
                )
    except (TableError, OperationError) as error:
        _fail(EXIT_USAGE, str(error))
    currencies = results[0].attrs["currencies"]
    summary = summarise(results[0], currencies)
    result = results[0]
    if reform is not None:
        result = sim.compare(results[0], results[1])
        summary = compare_summary(
            summary, summarise(results[1], results[1].attrs["currencies"]), result
        )

    output.mkdir(parents=True, exist_ok=True)
    table = pd.concat([frame.reset_index(drop=True), result.reset_index(drop=True)], axis=1)
    table_path = output / f"results.{result_format.value}"
    if result_format == ResultFormat.parquet:
        table.to_parquet(table_path, index=False)
    else:
        table.to_csv(table_path, index=False)
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written = [table_path, output / "summary.json"]
    if plots and len(result):
        images = []
        if sweeps and sweeps[0].values and isinstance(sweeps[0].values[0], float):
            column = _sweep_column(sweeps[0].path, frame)
            label = sweeps[0].path.removesuffix(".amount")
            if column.endswith(".amount"):
                # an amount without a currency column: the reporting currency (operation_table)
                currency_column = column.removesuffix(".amount") + ".currency"
                unit = (
                    frame[currency_column].iloc[0] if currency_column in frame.columns else currency
                )
                label += f" ({unit})"
            images.append(
                plot_sweep(
                    frame,
                    results[0],
                    column,
                    label,
                    sweeps[0].log,
                    currencies,
                    output / "exposure_vs_fact.png",
                )
            )
        images.append(
            plot_distribution(
                results[0],
                currencies,
                output / "exposure_distribution.png",
                "Total exposure" + (" (baseline)" if reform else ""),
            )
        )
        if reform is not None:
            images.append(
                plot_distribution(
                    results[1],
                    currencies,
                    output / "exposure_distribution_reform.png",
                    "Total exposure (reform)",
                )
            )
        written += images
        written.append(
            write_html(
                summary,
                images,
                output / "report.html",
                f"lexgate simulation — bundle {bundle.hash[:12]}",
            )
        )
    _print_summary(summary)
    for path in written:
        out.print(f"wrote {path}")


def _sweep_column(path: str, frame: Any) -> str:
    return f"{path}.amount" if f"{path}.amount" in frame.columns else path


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
                *(
                    f"{exposure[k]:,.0f}" if k in exposure else "—"
                    for k in ("mean", "median", "p95", "p99", "max")
                ),
            )
        out.print(table)
    if "change" in summary:
        out.print(f"status changed in {summary['change']['status_changed_share']:.1%} of scenarios")
