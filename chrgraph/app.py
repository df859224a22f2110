"""create_app(): the Starlette app, its middleware order and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise import connections

from chrgraph import fast_paths
from chrgraph.audit.anchor import create_anchor_file
from chrgraph.audit.api_log import purge_api_logs, writer
from chrgraph.audit.checkpoint import audit_files, load_signing_key, sign_checkpoints
from chrgraph.db import hooks, log_keys
from chrgraph.db.config import close_db, init_db, refresh_planner_statistics
from chrgraph.db.idempotency import purge_expired_keys
from chrgraph.http.admin import admin_routes
from chrgraph.http.answers import NO_STORE, ServerErrorAnswer
from chrgraph.http.api_log import ApiLogMiddleware
from chrgraph.http.auth import AuthMiddleware
from chrgraph.http.graphql import GraphQLEndpoint
from chrgraph.http.guards import RequestGuard
from chrgraph.http.images import image_route
from chrgraph.http.scope import GRAPHQL_PATH
from chrgraph.http.sdl import sdl_route
from chrgraph.http.trace import RequestTraceMiddleware
from chrgraph.resolvers.licensing.changes import settle_due_changes
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.users.outbox import deliver_pending
from chrgraph.resolvers.webhooks.delivery import purge_webhooks, run_worker
from chrgraph.schema import schema
from chrgraph.settings import Settings, get_settings
from chrgraph.telemetry import configure_tracing, log


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def every(seconds: float, job: Callable[[], Awaitable[Any]], name: str) -> None:
    """Run `job` every `seconds` until cancelled; a failure is logged and the next run
    comes on time. The job's statements belong to no request: counters and armed faults
    of the requests running beside it never see them."""
    hooks.run_in_background()
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("scheduled job %s failed", name)


async def _license_jobs() -> None:
    """Pending license changes that became due, then enforcement."""
    await settle_due_changes()
    await enforce_licenses()


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> Starlette:
    settings = settings or get_settings()
    configure_tracing(settings)
    # Nothing is switched at import: the fast paths of every fence, or each library's own.
    fast_paths.install(settings, schema)
    # Resolved now, so a PostgreSQL server without its key and anchor settings never starts.
    audit = audit_files(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The API log's encryption key ring: made at first start on SQLite (before the
        # migrations, which encrypt rows written before encryption), required with PostgreSQL.
        log_keys.current.install(log_keys.load_key_ring(log_keys.key_ring_path(settings), create=True))
        await init_db(settings.database_url, migrate=migrate)
        # The server is one of the few places that may make a missing key and anchor file.
        load_signing_key(audit.key, create=True)
        if create_anchor_file(audit.anchor):
            log.warning("created the audit anchor file at %s: keep it outside the database", audit.anchor)
        jobs = [
            asyncio.create_task(
                every(
                    settings.api_log_purge_interval_seconds,
                    lambda: purge_api_logs(settings.api_log_retention_days),
                    "api-log purge",
                )
            ),
            asyncio.create_task(
                every(settings.idempotency_purge_interval_seconds, purge_expired_keys, "idempotency-key purge")
            ),
            asyncio.create_task(
                every(
                    settings.audit_checkpoint_interval_seconds,
                    lambda: sign_checkpoints(audit, min_interval=settings.audit_checkpoint_interval_seconds),
                    "audit checkpoint",
                )
            ),
        ]
        jobs.append(asyncio.create_task(every(settings.license_job_interval_seconds, _license_jobs, "licenses")))
        # Event notifications: every server process delivers (each due delivery is claimed
        # by one), and drops deliveries past their retention with the API logs' rhythm.
        jobs.append(asyncio.create_task(run_worker(settings)))
        jobs.append(
            asyncio.create_task(
                every(
                    settings.api_log_purge_interval_seconds,
                    lambda: purge_webhooks(settings.webhook_retention_days),
                    "webhook purge",
                )
            )
        )
        # SQLite plans with statistics gathered at start; a database that grows from
        # empty gets them within the hour.
        jobs.append(asyncio.create_task(every(3600, refresh_planner_statistics, "planner statistics")))
        if settings.smtp_url:
            jobs.append(
                asyncio.create_task(
                    every(settings.outbox_interval_seconds, lambda: deliver_pending(settings), "outbox")
                )
            )
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await writer.close()
            await close_db()

    endpoint = GraphQLEndpoint(settings, schema)
    # /graphql, every method, in the order of its answers: request id, span and no-store on
    # every answer, API log, a JSON 500 for whatever escapes, size and type guards,
    # authentication, then the endpoint (which answers 405 to methods other than GET and POST).
    graphql = RequestTraceMiddleware(
        ApiLogMiddleware(ServerErrorAnswer(RequestGuard(AuthMiddleware(endpoint), settings=settings))),
        answer_headers=(NO_STORE,),
    )
    app = ChrGraphApp(
        graphql,
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            sdl_route(schema.as_str()),
            image_route,
            *admin_routes,
        ],
        middleware=[Middleware(RequestTraceMiddleware)],
        lifespan=lifespan,
    )
    app.graphql_endpoint = endpoint
    return app


class ChrGraphApp(Starlette):
    """Starlette for the lifespan and the small routes; /graphql goes straight to its own
    middleware chain, without Starlette's error and exception middlewares and router
    (about 4 % of a small request's CPU, docs/performance.md)."""

    graphql_endpoint: GraphQLEndpoint

    def __init__(self, graphql: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == GRAPHQL_PATH:
            scope["app"] = self
            await self.graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# Young-generation collections run after this many net container allocations (Python's
# default is 700: about 20 collections for a 100-item answer, and more, older ones when 32
# requests are in flight). Measured in docs/performance.md.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Server processes only: move what exists after start-up (modules, the schema) out
    of the collector's sight, and collect the young generation less often. Reference
    counting still frees almost everything at once; the collector only finds cycles."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def app_factory() -> Starlette:
    """For `uvicorn --factory chrgraph.app:app_factory`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app()
    tune_gc()
    return app
