"""create_app(): the Starlette app, its middleware order and its lifespan (STYLE)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections

from chrgraph.audit.api_log import ApiLogMiddleware, purge_api_logs, writer
from chrgraph.audit.checkpoint import load_signing_key, sign_checkpoints, signing_key_path
from chrgraph.auth.middleware import AuthMiddleware
from chrgraph.db.config import close_db, init_db
from chrgraph.resolvers.licensing.changes import settle_due_changes
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.portal.images import served_background
from chrgraph.resolvers.users.outbox import deliver_pending
from chrgraph.responses import NO_STORE, ServerErrorAnswer
from chrgraph.schema.guards import GRAPHQL_PATH, RequestGuard
from chrgraph.schema.portal.operations import IMAGE_PATH
from chrgraph.schema.view import GraphQLEndpoint
from chrgraph.settings import Settings, get_settings
from chrgraph.telemetry import RequestTraceMiddleware, configure_tracing, log


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "database unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


# What the URL's token can be (`secrets.token_urlsafe`, within the column's 64): anything
# else is not found before it reaches the database (which would refuse NUL or the length).
_IMAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def portal_image(request: Request) -> Response:
    """The portal's background image, without credentials, at its unguessable URL; a
    replaced or removed image answers 404. Caches keep it at most an hour, so a removed
    image leaves them soon; revalidation by ETag costs a 304."""
    token = request.path_params["token"]
    image = await served_background(token) if _IMAGE_TOKEN.fullmatch(token) else None
    if image is None:
        return JSONResponse(
            {"errors": [{"message": "Not found.", "extensions": {"code": "NOT_FOUND"}}]},
            status_code=404,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
    etag = f'"{image.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(bytes(image.data), media_type=image.content_type, headers=headers)


async def _every(seconds: float, job, name: str) -> None:
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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await init_db(settings.database_url, migrate=migrate)
        # The server is one of the few places that may make a missing audit signing key.
        key_path = signing_key_path(settings)
        load_signing_key(key_path, create=True)
        jobs = [
            asyncio.create_task(
                _every(
                    settings.api_log_purge_interval_seconds,
                    lambda: purge_api_logs(settings.api_log_retention_days),
                    "api-log purge",
                )
            ),
            asyncio.create_task(
                _every(
                    settings.audit_checkpoint_interval_seconds,
                    lambda: sign_checkpoints(key_path),
                    "audit checkpoint",
                )
            ),
        ]
        jobs.append(asyncio.create_task(_every(settings.license_job_interval_seconds, _license_jobs, "licenses")))
        if settings.smtp_url:
            jobs.append(
                asyncio.create_task(
                    _every(settings.outbox_interval_seconds, lambda: deliver_pending(settings.smtp_url), "outbox")
                )
            )
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await writer.close()
            await close_db()

    endpoint = GraphQLEndpoint(settings)
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
            Route(IMAGE_PATH + "{token}", portal_image),
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

    def __init__(self, graphql, **kwargs) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql

    async def __call__(self, scope, receive, send) -> None:
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
