"""Raw ASGI JSON answers, shared by the middlewares and the GraphQL endpoint."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.db.outage import database_unreachable
from chrgraph.http.scope import REQUEST_ID
from chrgraph.telemetry import database_unavailable


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_payload(send, status, orjson.dumps(body), headers)


async def send_payload(
    send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A JSON answer already encoded (a stored answer replayed as it was sent)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


# Seconds a client is asked to wait when the database cannot be reached (a restart or a
# failover takes a few seconds; the pool reconnects on the next request after it).
RETRY_AFTER_SECONDS = 2


def unavailable_body(request_id: Any) -> dict[str, Any]:
    return error_body(
        "The database cannot be reached; nothing was changed. Retry after a moment.",
        "SERVICE_UNAVAILABLE",
        requestId=request_id,
    )


UNAVAILABLE_HEADERS = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]


async def send_unavailable(send: Send, request_id: Any, where: str) -> None:
    """503 SERVICE_UNAVAILABLE with `Retry-After`: the database could not be reached
    before anything committed."""
    logging.getLogger("chrgraph").warning("database unreachable request_id=%s at=%s", request_id, where)
    database_unavailable.add(1, {"at": where})
    await send_json(send, 503, unavailable_body(request_id), UNAVAILABLE_HEADERS)


# On every /graphql answer (health data, tokens, errors naming a request), whatever its
# status and whichever layer gave it: the outermost middleware adds it (app.py).
NO_STORE = (b"cache-control", b"no-store")


class ServerErrorAnswer:
    """An exception that escapes becomes a JSON answer with the request id, like every
    other answer: 503 with `Retry-After` when the database could not be reached (down
    while authenticating), else a 500 logged with its trace;
    it sits inside the API-log middleware, so the consumer's failed request is logged too.
    After the answer started, nothing can be said any more: the exception goes on up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request_id = scope.get(REQUEST_ID)
            if started:
                raise
            if database_unreachable(exc):
                await send_unavailable(send, request_id, "middleware")
                return
            logging.getLogger("chrgraph").exception("unhandled error request_id=%s", request_id)
            body = error_body("Internal server error.", "INTERNAL_SERVER_ERROR", requestId=request_id)
            await send_json(send, 500, body)
