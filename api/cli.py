"""`lexgate serve`, `lexgate keys …` and `lexgate log …`, mounted on engine's CLI by
`engine.cli._mount_optional`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from api.settings import Settings, ensure_sqlite_parent

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

LogOption = Annotated[
    str | None,
    typer.Option("--log", help="Decision log: sqlite:///var/lexgate.db (default), "
                 "postgresql://…, or `none` (benchmarks only).", show_default=False),
]
KeysOption = Annotated[
    str | None,
    typer.Option("--keys", help="API key store (default: the decision log's database).",
                 show_default=False),
]


def _settings(**given: Any) -> Settings:
    try:
        return Settings(**{name: value for name, value in given.items() if value is not None})
    except ValueError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None


def serve(
    policies: Annotated[Path | None, typer.Option("--policies", "-p", show_default=False,
                                                  help="Policy directory [default: policies]")]
    = None,
    host: Annotated[str | None, typer.Option(help="Bind address [default: 127.0.0.1]",
                                             show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8080]", show_default=False)]
    = None,
    log: LogOption = None,
    keys: KeysOption = None,
    watch: Annotated[bool | None, typer.Option("--watch/--no-watch", show_default=False,
                                               help="Reload when policy files change.")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(show_default=False)] = None,
    max_batch: Annotated[int | None, typer.Option(show_default=False)] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request line.")] = False,
    workers: Annotated[int | None, typer.Option(
        min=1, show_default=False,
        help="Server processes sharing the port [default: 1]. Each decides and appends to the "
        "same decision log; a policy reload in one reaches the others within half a second. "
        "/metrics then shows the counters of the worker that answers the scrape.")] = None,
) -> None:
    """Start the decision API (uvicorn). The first start creates and prints an admin key."""
    import uvicorn

    from api.app import create_app
    from api.keys import open_key_store
    from api.policies import prepare
    from engine import PolicyError, render_all

    settings = _settings(
        policies=policies, host=host, port=port, log_url=log, keys_url=keys, watch=watch,
        max_body_bytes=max_body_bytes, max_batch=max_batch, workers=workers,
    )
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
    if not settings.log_enabled:
        err.print("[bold yellow]warning:[/] the decision log is off; decisions are not recorded")
    out.print(f"serving bundle {loaded.hash[:12]} from `{settings.policies}` on "
              f"http://{settings.host}:{settings.port} (docs at /docs)")
    sys.stdout.flush()
    if settings.workers > 1:
        _serve_workers(settings, access_log)
        return
    uvicorn.run(
        create_app(settings, initial=loaded),
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


def _serve_workers(settings: Settings, access_log: bool) -> None:
    """uvicorn's process manager: N processes, each building the app from `LEXGATE_*`."""
    import contextlib
    import os
    import tempfile

    import uvicorn

    from api import workers
    from api.settings import to_environment

    with tempfile.TemporaryDirectory(prefix="lexgate-serve-") as shared:
        if settings.reload_stamp is None:
            settings = settings.model_copy(update={"reload_stamp": Path(shared) / "bundle"})
        os.environ.update(to_environment(settings))
        out.print(f"{settings.workers} worker processes")
        sys.stdout.flush()
        options: dict[str, Any] = dict(
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            access_log=access_log,
            log_level="info",
            timeout_graceful_shutdown=5,
        )
        config = uvicorn.Config("api.app:create_app_from_env", **options)
        if not workers.supported(config):  # no SO_REUSEPORT: one socket the workers share
            uvicorn.run("api.app:create_app_from_env", **options)
            return
        out.print("one socket per worker (SO_REUSEPORT)")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            workers.run(config)


keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _key_store(keys: str | None, log: str | None) -> Any:
    from api.keys import open_key_store

    url = _settings(keys_url=keys, log_url=log).resolved_keys_url
    ensure_sqlite_parent(url)
    return open_key_store(url)


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[str], typer.Option("--scope", "-s",
                                             help="decide, read_log or admin (repeatable).")],
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
            out.print(f"{info.key_id}  {state:7}  {scopes:20}  {info.created}  {info.label or ''}",
                      markup=False)
    finally:
        store.close()


log_app = typer.Typer(help="Verify and export the decision log.", no_args_is_help=True)


def _open_log(log: str | None) -> Any:
    from api.decision_log import open_decision_log, parse_store_url

    settings = _settings(log_url=log)
    if not settings.log_enabled:
        err.print("[bold red]error:[/] --log none has no log to read")
        raise typer.Exit(2)
    kind, target = parse_store_url(settings.log_url)
    if kind == "sqlite" and not Path(target).exists():
        err.print(f"[bold red]error:[/] no decision log at `{target}`")
        raise typer.Exit(2)
    return open_decision_log(settings.log_url)


@log_app.command("verify")
def log_verify(log: LogOption = None) -> None:
    """Check the hash chain; name the first altered, missing or reordered entry (exit 1)."""
    decision_log = _open_log(log)
    try:
        result = decision_log.verify()
    finally:
        decision_log.close()
    if result.ok:
        out.print(f"ok: {result.entries_checked} entries, hash chain intact")
        return
    err.print(f"[bold red]tampered:[/] first bad entry is {result.first_bad_seq} "
              f"({result.fault}): {result.reason}; {result.entries_checked} entries before it "
              "are intact")
    raise typer.Exit(1)


@log_app.command("export")
def log_export(
    log: LogOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="File, or - for stdout.")]
    = Path("-"),
) -> None:
    """Write every entry as one JSON line (canonical form, hashes included)."""
    decision_log = _open_log(log)
    try:
        if str(output) == "-":
            count = decision_log.export_jsonl(sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as stream:
                count = decision_log.export_jsonl(stream)
    finally:
        decision_log.close()
    err.print(f"exported {count} entries")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(log_app, name="log")
