"""The API-log middleware: a consumer's answer is held until its log row is committed
(the row and the writer are chrgraph/audit/api_log.py)."""

from __future__ import annotations

import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.audit.api_log import log_row, writer
from chrgraph.audit.redact import RequestRedaction
from chrgraph.auth.principals import PrincipalKind
from chrgraph.http.answers import error_body
from chrgraph.http.scope import CLIENT_REQUEST_ID, GRAPHQL_PATH, GRAPHQL_REQUEST, PRINCIPAL, REDACTION, REQUEST_ID
from chrgraph.schema.secrets import unplanned
from chrgraph.telemetry import log


class ApiLogMiddleware:
    """Wraps `send`: holds the response until its log row is committed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != GRAPHQL_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        start_message: Message | None = None
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start_message
            principal = scope.get(PRINCIPAL)
            if principal is None or principal.kind is not PrincipalKind.CONSUMER:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start_message = message
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start_message is not None
            response = b"".join(body)
            try:
                graphql_request = scope.get(GRAPHQL_REQUEST)
                row = log_row(
                    principal,
                    request_id=scope.get(REQUEST_ID, ""),
                    client_request_id=scope.get(CLIENT_REQUEST_ID),
                    method=scope["method"],
                    graphql_request=graphql_request,
                    redaction=scope.get(REDACTION) or _unplanned(graphql_request),
                    status=start_message["status"],
                    response=response,
                    started=started,
                )
                await writer.write(row)
            except Exception:
                log.exception("api log write failed request_id=%s", scope.get(REQUEST_ID))
                failed = orjson.dumps(
                    error_body(
                        "The request could not be logged and was not answered.",
                        "INTERNAL_SERVER_ERROR",
                        requestId=scope.get(REQUEST_ID),
                    )
                )
                start_message = {
                    **start_message,
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(failed)).encode()),
                    ],
                }
                response = failed
            await send(start_message)
            await send({"type": "http.response.body", "body": response})

        await self.app(scope, receive, capture)


def _unplanned(graphql_request: tuple | None) -> RequestRedaction | None:
    """A request whose documents did not parse or validate: no plan, so every literal
    and every variable value is redacted."""
    query = graphql_request[0] if graphql_request else None
    return RequestRedaction((unplanned(query),)) if isinstance(query, str) else None
