"""The app factory: `create_app(settings)` wires settings, the policy bundle, the decision log,
the key store and metrics into one FastAPI app; nothing lives at module level."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from .decision_log import ensure_signer, open_decision_log, parse_store_url
from .deps import AppState
from .errors import install_handlers
from .keys import open_key_store
from .masking import Masker, keep_everything
from .metrics import Metrics
from .middleware import BodyLimitMiddleware, MetricsMiddleware
from .openapi import install_openapi
from .policies import (
    LoadedBundle,
    PolicyService,
    follow_reloads,
    prepare,
    publish,
    read_reload_stamp,
    watch_policies,
)
from .routes import decisions, health, policies, profiles, retention, schema
from .routes.docs import install_docs
from .routes.playground import install_playground, is_loopback, playground_enabled
from .settings import Settings, ensure_sqlite_parent

logger = logging.getLogger("lexgate.api")

DESCRIPTION = """\
Decisions on data-processing operations under GDPR, PIPL and CCPA/CPRA policies.

Authenticate with an API key as a bearer token. Scopes: `decide` (decisions), `read_log`
(logged decisions), `admin` (everything, and policy reloads). Every decision is appended to a
tamper-evident log before it is answered and names the policy bundle hash it used.
"""


def create_app(
    settings: Settings | None = None,
    *,
    masker: Masker = keep_everything,
    initial: LoadedBundle | None = None,
) -> FastAPI:
    """`initial` lets a caller that already validated the bundle (the CLI) skip a second load."""
    settings = settings or Settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = (
            initial if initial is not None else await asyncio.to_thread(prepare, settings.policies)
        )
        keys_url = settings.resolved_keys_url
        for url in ([settings.log_url] if settings.log_enabled else []) + [keys_url]:
            ensure_sqlite_parent(url)
        log = None
        if settings.log_enabled:
            signer = None
            if parse_store_url(settings.log_url)[1] != ":memory:":
                signer, _created = await asyncio.to_thread(
                    ensure_signer, settings.resolved_signing_key
                )
            log = open_decision_log(
                settings.log_url,
                signer,
                settings.checkpoint_every,
                writer_process=settings.workers > 1,  # workers share the file: see writer.py
            )
        keys = open_key_store(keys_url)
        stamp = settings.reload_stamp

        # A worker restarted while the others serve a published bundle follows that bundle
        # (follow_reloads) instead of publishing whatever the directory holds now.
        follow_at_start = stamp is not None and read_reload_stamp(stamp) is not None
        first_call = [True]

        def on_swap(bundle: LoadedBundle) -> None:
            metrics.set_bundle(bundle.hash, bundle.loaded_at)
            starting, first_call[0] = first_call[0], False
            if stamp is not None and not (starting and follow_at_start):
                publish(stamp, bundle, settings.policies)

        service = PolicyService(settings.policies, loaded, on_swap)
        app.state.lexgate = AppState(
            settings=settings,
            policies=service,
            log=log,
            keys=keys,
            metrics=metrics,
            mask=masker,
            keys_over_network=parse_store_url(keys_url)[0] == "postgresql",
        )
        watcher = None
        if settings.watch:
            watcher = asyncio.create_task(
                watch_policies(
                    service,
                    settings.watch_debounce_ms,
                    lambda result: metrics.reloads.labels(result).inc(),
                )
            )
        follower = None
        if stamp is not None:
            follower = asyncio.create_task(
                follow_reloads(
                    service,
                    stamp,
                    settings.reload_poll_ms,
                    lambda result: metrics.reloads.labels(result).inc(),
                )
            )
        try:
            yield
        finally:
            for task in (watcher, follower):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            app.state.lexgate = None
            if log is not None:
                await asyncio.to_thread(log.close)  # drains what is queued, then closes
            keys.close()

    app = FastAPI(
        title="lexgate decision API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.routes.docs, with local assets
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.lexgate = None
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: counts 413s too
    # POST /v1/decisions: one plain route, first in the table (it is the busiest).
    app.router.routes.insert(0, decisions.decision_route())
    app.include_router(decisions.decide_router)
    app.include_router(decisions.read_router)
    app.include_router(policies.read_router)
    app.include_router(policies.admin_router)
    app.include_router(profiles.admin_router)
    app.include_router(profiles.read_router)
    app.include_router(retention.router)
    app.include_router(schema.router)
    app.include_router(health.router)
    install_docs(app)
    if playground_enabled(settings.host, settings.playground):
        local = is_loopback(settings.host)
        install_playground(app, settings.policies, local_only=local, saving=True)

    def current() -> LoadedBundle | None:
        state: AppState | None = app.state.lexgate
        return state.policies.current if state is not None else initial

    install_openapi(app, current, settings.max_batch, decisions.documentation_router.routes)
    retention.install_schema(app, current)
    return app


def create_app_from_env() -> FastAPI:
    """The factory each worker process of `lexgate serve --workers N` calls: settings from the
    `LEXGATE_*` variables the parent set (api.settings.to_environment)."""
    return create_app(Settings())
