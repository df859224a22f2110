"""The outermost middleware: the request id and the request's server span."""

from __future__ import annotations

import re
import uuid

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chrgraph.audit.events import end_client_request_id, serve_client_request_id
from chrgraph.http.scope import CLIENT_REQUEST_ID, GRAPHQL_REQUEST, PRINCIPAL, REQUEST_ID, header
from chrgraph.telemetry import describe_principal, tracer

# A caller's X-Request-Id is kept (as clientRequestId) when it is printable ASCII
# without spaces and not too long; the request id itself is always ours.
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,128}")


class RequestTraceMiddleware:
    """Outermost: a request id (X-Request-Id, always ours; the caller's own, if any, is
    kept beside it for the API log) and the request's server span, closed with the HTTP status as its outcome. It adds
    `answer_headers` to every answer too: it already rewrites each answer's headers, and
    no answer passes it by, a late 500 included."""

    def __init__(self, app: ASGIApp, answer_headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.app = app
        self.answer_headers = answer_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, b"x-request-id") or ""
        request_id = uuid.uuid4().hex
        scope[REQUEST_ID] = request_id
        client_request_id = scope[CLIENT_REQUEST_ID] = incoming if _CLIENT_ID.fullmatch(incoming) else None
        attributes = {
            "http.request.method": scope["method"],
            "url.path": scope["path"],
            "chrgraph.request_id": request_id,
        }
        if client_request_id is not None:
            attributes["chrgraph.client_request_id"] = client_request_id
        with tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}", kind=trace.SpanKind.SERVER, attributes=attributes
        ) as span:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if span.is_recording():
                        span.set_attribute("http.response.status_code", status)
                        span.set_attribute("chrgraph.outcome", _outcome(status))
                        _describe_request(span, scope)
                    message = {
                        **message,
                        "headers": [
                            *message.get("headers", []),
                            (b"x-request-id", request_id.encode()),
                            *self.answer_headers,
                        ],
                    }
                await send(message)

            # Audit events recorded while serving keep the caller's id beside ours.
            serving = serve_client_request_id(client_request_id)
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                end_client_request_id(serving)


def _describe_request(span: trace.Span, scope: Scope) -> None:
    """Who called and what they named, on the request's own span: a request refused
    before execution (400, 413…) has no GraphQL span to carry them."""
    describe_principal(span, scope.get(PRINCIPAL))
    _, operation_name, _ = scope.get(GRAPHQL_REQUEST) or (None, None, None)
    if operation_name:
        span.set_attribute("graphql.operation.name", operation_name)


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "client_error" if status < 500 else "server_error"
