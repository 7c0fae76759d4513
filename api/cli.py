"""`lexgate serve`, `lexgate keys …` and `lexgate log …`, mounted on engine's CLI by
`engine.cli._mount_optional`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .cli_support import err, out, settings_from, verified
from .log_export import log_export, log_report
from .settings import Settings, ensure_sqlite_parent

LogOption = Annotated[
    str | None,
    typer.Option(
        "--log",
        help="Decision log: sqlite:///var/lexgate.db (default), "
        "postgresql://…, or `none` (benchmarks only).",
        show_default=False,
    ),
]
KeysOption = Annotated[
    str | None,
    typer.Option(
        "--keys", help="API key store (default: the decision log's database).", show_default=False
    ),
]


def _help(name: str, text: str | None = None) -> str:
    """An option's help: its text, its default and its environment variable (the settings)."""
    field = Settings.model_fields[name]
    default = field.default
    shown = (
        "none"
        if default is None
        else str(default).lower()
        if isinstance(default, bool)
        else str(default)
    )
    return f"{text or field.description} (default: {shown}; env: LEXGATE_{name.upper()})"


def _option(name: str, *flags: str, text: str | None = None, **more: Any) -> Any:
    return typer.Option(*flags, help=_help(name, text), show_default=False, **more)


def serve(
    policies: Annotated[Path | None, _option("policies", "--policies", "-p")] = None,
    host: Annotated[str | None, _option("host", "--host")] = None,
    port: Annotated[int | None, _option("port", "--port")] = None,
    log: Annotated[str | None, _option("log_url", "--log")] = None,
    keys: Annotated[str | None, _option("keys_url", "--keys")] = None,
    watch: Annotated[bool | None, _option("watch", "--watch/--no-watch")] = None,
    max_body_bytes: Annotated[int | None, _option("max_body_bytes", "--max-body-bytes")] = None,
    max_batch: Annotated[int | None, _option("max_batch", "--max-batch")] = None,
    header_timeout: Annotated[float | None, _option("header_timeout_s", "--header-timeout")] = None,
    body_timeout: Annotated[float | None, _option("body_timeout_s", "--body-timeout")] = None,
    decision_timeout: Annotated[
        float | None, _option("decision_timeout_s", "--decision-timeout")
    ] = None,
    signing_key: Annotated[Path | None, _option("signing_key", "--signing-key")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request line.")] = False,
    playground: Annotated[
        bool | None, _option("playground", "--playground/--no-playground")
    ] = None,
    workers: Annotated[
        int | None,
        _option(
            "workers",
            "--workers",
            min=1,
            text="Server processes sharing the port. Each decides and appends to the same decision "
            "log; a policy reload in one reaches the others within half a second. /metrics then "
            "shows the counters of the worker that answers the scrape.",
        ),
    ] = None,
) -> None:
    """Start the decision API (uvicorn). The first start creates and prints an admin key and
    the decision log's signing key. Every option can also be set by its LEXGATE_* variable."""
    from lexgate.engine import PolicyError, render_all

    from .app import create_app
    from .decision_log import ensure_signer
    from .keys import open_key_store
    from .policies import prepare
    from .server import PortInUse, claim_port

    settings = settings_from(
        policies=policies,
        host=host,
        port=port,
        log_url=log,
        keys_url=keys,
        watch=watch,
        max_body_bytes=max_body_bytes,
        max_batch=max_batch,
        workers=workers,
        header_timeout_s=header_timeout,
        body_timeout_s=body_timeout,
        decision_timeout_s=decision_timeout,
        signing_key=signing_key,
        playground=playground,
    )
    try:
        claim_port(settings.host, settings.port)  # before the slow part: fail fast and clearly
    except PortInUse as error:
        err.print(f"[bold red]error:[/] {error.strerror}", markup=True)
        raise typer.Exit(2) from None
    try:
        loaded = prepare(settings.policies)
    except PolicyError as error:
        err.print(render_all(error.diagnostics), markup=False)
        err.print(f"\n[bold red]{len(error.diagnostics)} error(s)[/]; not serving")
        raise typer.Exit(1) from None
    keys_url = settings.resolved_keys_url
    ensure_sqlite_parent(keys_url)
    store = open_key_store(keys_url)
    try:
        admin_key = store.ensure_admin_key()
    finally:
        store.close()
    if admin_key is not None:
        out.print("[bold]First start: created an admin API key. It is shown only this once:[/]")
        out.print(f"\n    {admin_key}\n", markup=False)
        out.print("Create narrower keys with `lexgate keys create --scope decide`.")
    if settings.log_enabled:
        ensure_sqlite_parent(settings.log_url)
        key_path = settings.resolved_signing_key
        try:
            signer, created = ensure_signer(key_path)
        except ValueError as error:
            err.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(2) from None
        if created:
            out.print(
                f"Created the decision log's signing key `{key_path}` (0600); keep a copy "
                "of its public key to verify checkpoints:",
                markup=False,
            )
            out.print(f"\n    {signer.public_key}\n", markup=False)
    else:
        err.print("[bold yellow]warning:[/] the decision log is off; decisions are not recorded")
    out.print(
        f"serving bundle {loaded.hash[:12]} from `{settings.policies}` on "
        f"http://{settings.host}:{settings.port} (docs at /docs"
        + (", playground at /playground)" if _playground_on(settings) else ")")
    )
    sys.stdout.flush()
    try:
        status = _run_server(settings, loaded, access_log, create_app)
    except PortInUse as error:
        err.print(f"[bold red]error:[/] {error.strerror}")
        raise typer.Exit(2) from None
    if status:
        raise typer.Exit(status)


def _run_server(settings: Settings, loaded: Any, access_log: bool, create_app: Any) -> int:
    """One process, or `--workers N` processes each building the app from `LEXGATE_*`
    (api.server: sockets bound here, uvicorn's public Server.run in each worker)."""
    import os
    import tempfile

    from . import server
    from .settings import to_environment

    options: dict[str, Any] = dict(
        access_log=access_log,
        log_level="info",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=settings.keep_alive_s,
        header_timeout=settings.header_timeout_s,
        body_timeout=settings.body_timeout_s,
    )
    if settings.workers == 1:
        app = create_app(settings, initial=loaded)
        server.serve_in_process(app, settings.host, settings.port, options)
        return 0
    with tempfile.TemporaryDirectory(prefix="lexgate-serve-") as shared:
        if settings.reload_stamp is None:
            settings = settings.model_copy(update={"reload_stamp": Path(shared) / "bundle"})
        os.environ.update(to_environment(settings))
        out.print(f"{settings.workers} worker processes")
        sys.stdout.flush()
        return server.serve_workers(
            "lexgate.api.app:create_app_from_env",
            settings.host,
            settings.port,
            settings.workers,
            options,
        )


def _playground_on(settings: Settings) -> bool:
    from .routes.playground import playground_enabled

    return playground_enabled(settings.host, settings.playground)


def playground(
    policies: Annotated[
        Path, typer.Option("--policies", "-p", help="Policy bundle directory.")
    ] = Path("policies"),
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to bind.")] = 8090,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="Serve it on a non-loopback --host too (it takes no key: anyone who reaches "
            "the address can run checks and decisions).",
        ),
    ] = False,
) -> None:
    """Edit, check, test and try policies in the browser (http://127.0.0.1:8090/playground).
    Edits stay in the browser; nothing is written to disk. A broken bundle still opens."""
    from .routes.playground import create_playground_app, is_loopback
    from .server import PortInUse, serve_in_process

    if not is_loopback(host) and not remote:
        err.print(
            f"[bold red]error:[/] `{host}` is not a loopback address; the playground takes no "
            "key, so serving it there needs --remote"
        )
        raise typer.Exit(2)
    if not policies.is_dir():
        err.print(f"[bold red]error:[/] no policy directory at `{policies}`")
        raise typer.Exit(2)
    app = create_playground_app(policies, host=host, enabled=True)
    out.print(f"playground for `{policies}` on http://{host}:{port}/playground", markup=False)
    sys.stdout.flush()
    options = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 2}
    try:
        serve_in_process(app, host, port, options)
    except PortInUse as error:
        err.print(f"[bold red]error:[/] {error.strerror}")
        raise typer.Exit(2) from None


keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _key_store(keys: str | None, log: str | None) -> Any:
    from .keys import open_key_store

    url = settings_from(keys_url=keys, log_url=log).resolved_keys_url
    ensure_sqlite_parent(url)
    return open_key_store(url)


@keys_app.command("create")
def keys_create(
    scope: Annotated[
        list[str], typer.Option("--scope", "-s", help="decide, read_log or admin (repeatable).")
    ],
    label: Annotated[str | None, typer.Option(help="A note on who holds the key.")] = None,
    keys: KeysOption = None,
    log: LogOption = None,
) -> None:
    """Create a key; it is printed once and stored only as a salted hash."""
    store = _key_store(keys, log)
    try:
        key = store.create(scope, label)
    except ValueError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    finally:
        store.close()
    print(key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (or the whole key).")],
    keys: KeysOption = None,
    log: LogOption = None,
) -> None:
    """Revoke a key; requests with it are refused from now on."""
    if key_id.startswith("lxg_"):
        key_id = key_id.split("_")[1]
    store = _key_store(keys, log)
    try:
        revoked = store.revoke(key_id)
    finally:
        store.close()
    if not revoked:
        err.print(f"[bold red]error:[/] no key `{key_id}`")
        raise typer.Exit(2)
    out.print(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(keys: KeysOption = None, log: LogOption = None) -> None:
    """List keys (ids, scopes, labels; never secrets)."""
    store = _key_store(keys, log)
    try:
        for info in store.list():
            state = "revoked" if info.revoked else "active"
            scopes = ",".join(sorted(info.scopes))
            out.print(
                f"{info.key_id}  {state:7}  {scopes:20}  {info.created}  {info.label or ''}",
                markup=False,
            )
    finally:
        store.close()


log_app = typer.Typer(help="Verify and export the decision log.", no_args_is_help=True)


def _open_log(log: str | None) -> Any:
    from .decision_log import open_decision_log, parse_store_url

    settings = settings_from(log_url=log)
    if not settings.log_enabled:
        err.print("[bold red]error:[/] --log none has no log to read")
        raise typer.Exit(2)
    kind, target = parse_store_url(settings.log_url)
    if kind == "sqlite" and not Path(target).exists():
        err.print(f"[bold red]error:[/] no decision log at `{target}`")
        raise typer.Exit(2)
    return open_decision_log(settings.log_url)


PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        show_default=False,
        help="The trusted checkpoint key: 64 hex digits, or a file holding them or the "
        "private key (default: the signing key file, if readable).",
    ),
]
SigningKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        show_default=False,
        help="The log's Ed25519 signing key (default: next to an SQLite log, "
        "var/log-signing-key for PostgreSQL; env: LEXGATE_SIGNING_KEY).",
    ),
]


def _report_fault(result: Any) -> None:
    err.print(
        f"[bold red]tampered:[/] first bad entry is {result.first_bad_seq} "
        f"({result.fault}): {result.reason}; {result.entries_checked} entries before it "
        "are intact"
    )
    raise typer.Exit(1)


def _coverage(result: Any) -> str:
    if result.checkpoints == 0:
        return "no signed checkpoint yet"
    uncovered = result.entries_checked - (result.last_checkpoint or 0)
    trust = (
        "the trusted key"
        if result.anchored
        else "the key they name (pass --public-key to check against yours)"
    )
    return (
        f"{result.checkpoints} signed checkpoint(s) verified with {trust}, the last at entry "
        f"{result.last_checkpoint}; {uncovered} entries after it are not yet signed"
    )


@log_app.command("verify")
def log_verify(
    log: LogOption = None,
    public_key: PublicKeyOption = None,
    signing_key: SigningKeyOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            show_default=False,
            help="An entry hash published earlier (e.g. from `lexgate log checkpoint`): it must "
            "still be an entry of the chain.",
        ),
    ] = None,
) -> None:
    """Check the hash chain and the signed checkpoints, read-only; name the first altered,
    missing or reordered entry (exit 1)."""
    from .decision_log.verify import find_entry

    context, snapshot, result = verified(log, public_key, signing_key)
    try:
        if not result.ok:
            _report_fault(result)
        if expect_head is not None:
            seq = find_entry(snapshot, expect_head.strip().lower())
            if seq is None:
                err.print(
                    f"[bold red]tampered:[/] the published head `{expect_head}` is not in "
                    "the log: entries up to it were rewritten, or the tail was removed"
                )
                raise typer.Exit(1)
            out.print(
                f"the published head is entry {seq}; "
                f"{result.entries_checked - seq} entries were appended after it"
            )
    finally:
        context.__exit__(None, None, None)
    out.print(f"ok: {result.entries_checked} entries, hash chain intact; {_coverage(result)}")


@log_app.command("verify-receipt")
def log_verify_receipt(
    seq: Annotated[int, typer.Option("--seq", help="The receipt's `seq`.")],
    entry_hash: Annotated[str, typer.Option("--entry-hash", help="The receipt's `entry_hash`.")],
    log: LogOption = None,
    public_key: PublicKeyOption = None,
    signing_key: SigningKeyOption = None,
) -> None:
    """Check a receipt `{seq, entry_hash}` a client got with its decision: that entry must be in
    the intact chain, unchanged (exit 1 if not)."""
    from .decision_log.verify import entry_hash_at

    context, snapshot, result = verified(log, public_key, signing_key)
    try:
        if not result.ok:
            _report_fault(result)
        stored = entry_hash_at(snapshot, seq)
    finally:
        context.__exit__(None, None, None)
    if stored != entry_hash.strip().lower():
        now = "is missing" if stored is None else f"now hashes to {stored}"
        err.print(f"[bold red]receipt mismatch:[/] entry {seq} {now}, not {entry_hash}")
        raise typer.Exit(1)
    covered = result.last_checkpoint is not None and result.last_checkpoint >= seq
    out.print(
        f"ok: entry {seq} is in the intact chain as the receipt says; "
        + ("a signed checkpoint covers it" if covered else "no signed checkpoint covers it yet")
    )


@log_app.command("checkpoint")
def log_checkpoint(log: LogOption = None, signing_key: SigningKeyOption = None) -> None:
    """Sign the current chain head now and print it as JSON, for publishing elsewhere (a
    ticket, an e-mail, a transparency log); `log verify --expect-head` checks it later."""
    import json

    from .decision_log import load_signer
    from .decision_log.checkpoints import KeyFileError

    settings = settings_from(log_url=log, signing_key=signing_key)
    try:
        signer = load_signer(settings.resolved_signing_key)
    except KeyFileError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    decision_log = _open_log(log)
    try:
        decision_log.signer = signer
        decision_log.checkpoint()
        from .decision_log.verify import checkpoints, read_only

        with read_only(settings.log_url) as snapshot:
            signed = checkpoints(snapshot)
    finally:
        decision_log.signer = None  # signed above; close() need not sign again
        decision_log.close()
    if not signed:
        err.print("[bold red]error:[/] the log is empty: nothing to sign")
        raise typer.Exit(1)
    print(json.dumps(signed[-1].to_dict(), indent=2))


# filtered exports (JSON Lines, CSV, Parquet) and the HTML report: api/log_export.py
log_app.command("export")(log_export)
log_app.command("report")(log_report)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("playground")(playground)
    app.add_typer(keys_app, name="keys")
    app.add_typer(log_app, name="log")
