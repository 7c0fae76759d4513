"""`lexgate audit REGISTER`: every activity of a processing register decided, the report written
as JSON and self-contained HTML, and the register exported in the columns of GDPR Art. 30(1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..vocabulary import OperationError, load_operation_json
from .common import EXIT_USAGE, PoliciesOption, err, fail, load, out, parse_as_of


def audit(
    register: Annotated[
        Path, typer.Argument(help="The register: YAML (.yaml/.yml), CSV or a spreadsheet (.xlsx).")
    ],
    policies: PoliciesOption = Path("policies"),
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Organisation profile (JSON), merged under every activity's operation; its "
            '"enable" list turns internal regimes on.'
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for the report.")
    ] = Path("audit"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Apply the law as of DATE (YYYY-MM-DD).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Reporting currency.")] = "EUR",
) -> None:
    """Audit a processing register: status per regime, violations, questions, remediations and
    exposure for every activity; audit.json, audit.html and register-art30.csv in --output."""
    from ..audit import RegisterError, content_version, read_register, run_audit, write_report
    from ..audit.register import set_fact_paths

    day = parse_as_of(as_of)
    bundle = load(policies)
    if currency not in {c for pair in bundle.rates.pairs() for c in pair} | {"EUR"}:
        fail(EXIT_USAGE, f"--currency: no exchange rates for `{currency}` in the policies")
    try:
        entries = read_register(register, set_fact_paths(bundle.checked.vocabulary))
    except RegisterError as error:
        fail(EXIT_USAGE, str(error))
    chosen, version = None, None
    if profile is not None:
        try:
            raw = profile.read_bytes()
        except OSError as error:
            fail(EXIT_USAGE, f"cannot read `{profile}`: {error.strerror}")
        try:
            chosen = bundle.load_profile(load_operation_json(raw), profile.stem)
        except OperationError as error:
            for field_error in error.errors:
                err.print(
                    f"[bold red]error:[/] {profile}: {field_error.path}: {field_error.message}"
                )
            raise typer.Exit(EXIT_USAGE) from None
        version = content_version(raw)
    result = run_audit(bundle, entries, chosen, day, currency, version)
    try:
        paths = write_report(result, output)
    except OSError as error:
        fail(EXIT_USAGE, f"cannot write the report to `{output}`: {error.strerror}")
    invalid = [r for r in result.results if r.decision is None]
    for item in invalid:
        for message in item.errors:
            err.print(f"[bold red]error:[/] {item.activity.where}: operation.{message}")
    counts = result.status_counts().get("overall", {})
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out.print(f"{len(result.results)} activities audited as of {result.as_of}: {summary}")
    total = result.total()
    worst = f"up to {total.max}" if total.max is not None else f"at least {total.worst}"
    out.print(f"exposure, all activities, converted to {currency}: {worst}")
    for key in ("html", "json", "art30"):
        out.print(f"wrote {paths[key]}")
    if invalid:
        raise typer.Exit(EXIT_USAGE)
