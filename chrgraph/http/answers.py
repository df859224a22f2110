"""Raw ASGI JSON answers, shared by the middlewares and the GraphQL endpoint."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.http.scope import REQUEST_ID


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


async def send_json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = orjson.dumps(body)
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


# On every /graphql answer (health data, tokens, errors naming a request), whatever its
# status and whichever layer gave it: the outermost middleware adds it (app.py).
NO_STORE = (b"cache-control", b"no-store")


class ServerErrorAnswer:
    """An exception that escapes (a database down while authenticating, a bug) becomes a
    JSON 500 with the request id, like every other answer, and is logged with its trace;
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
        except Exception:
            request_id = scope.get(REQUEST_ID)
            if started:
                raise
            logging.getLogger("chrgraph").exception("unhandled error request_id=%s", request_id)
            body = error_body("Internal server error.", "INTERNAL_SERVER_ERROR", requestId=request_id)
            await send_json(send, 500, body)
