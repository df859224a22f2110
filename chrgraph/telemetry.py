"""OpenTelemetry: a span per request with operation name, principal and outcome,
child spans for root resolvers and SQL statements, never argument values or query
text (health data). An OTLP exporter when CHRGRAPH_OTLP_ENDPOINT is set."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from chrgraph.responses import header
from chrgraph.settings import Settings


class Tracer:
    """OpenTelemetry's tracer, except that an exception leaves only its type on the span.
    An exception's message can echo argument values (a driver's "invalid input syntax
    for type bigint: <value>", a coercion error), and spans never carry those; the
    message goes to the log with the request id instead."""

    def __init__(self, name: str) -> None:
        self._tracer = trace.get_tracer(name)  # a proxy until a provider is installed

    def start_as_current_span(self, name: str, **kwargs: Any) -> contextlib.AbstractContextManager[trace.Span]:
        if not _provider_installed():
            # No provider installed (no OTLP endpoint, no test exporter): the span would not
            # record; skip the context switches it costs on every request and statement
            # (docs/performance.md). Installing a provider later takes effect at once.
            return _NO_SPAN
        return self._recording_span(name, **kwargs)

    @contextlib.contextmanager
    def _recording_span(self, name: str, **kwargs: Any) -> Iterator[trace.Span]:
        with self._tracer.start_as_current_span(
            name, record_exception=False, set_status_on_exception=False, **kwargs
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise


_NO_SPAN = contextlib.nullcontext(trace.INVALID_SPAN)  # reusable: holds no state
# The SDK can also be chosen through this variable; read once (it is fixed at start-up),
# since `get_tracer_provider()` looks it up in os.environ on every call.
_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def _provider_installed() -> bool:
    """Whether spans record: once set, OpenTelemetry's global provider never changes."""
    if getattr(trace, "_TRACER_PROVIDER", None) is not None:
        return True
    if not _PROVIDER_FROM_ENVIRONMENT:
        return not hasattr(trace, "_TRACER_PROVIDER")  # an API without it: assume spans record
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


tracer = Tracer("chrgraph")
meter = metrics.get_meter("chrgraph")
auth_refusals = meter.create_counter("chrgraph.auth.refusals", description="Refused authentications, by reason")
log = logging.getLogger("chrgraph")
_SANE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def configure_tracing(settings: Settings) -> None:
    if not settings.otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": "chrgraph"}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces"))
    )
    trace.set_tracer_provider(provider)


class RequestTraceMiddleware:
    """Outermost: a request id (X-Request-Id, ours unless the caller sent a sane one)
    and the request's server span, closed with the HTTP status as its outcome. It adds
    `answer_headers` to every answer too: it already rewrites each answer's headers, and
    no answer passes it by, a late 500 included."""

    def __init__(self, app, answer_headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.app = app
        self.answer_headers = answer_headers

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, b"x-request-id") or ""
        request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope["chrgraph.request_id"] = request_id
        with tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            kind=trace.SpanKind.SERVER,
            attributes={
                "http.request.method": scope["method"],
                "url.path": scope["path"],
                "chrgraph.request_id": request_id,
            },
        ) as span:

            async def send_with_id(message) -> None:
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

            await self.app(scope, receive, send_with_id)


def _describe_request(span, scope) -> None:
    """Who called and what they named, on the request's own span: a request refused
    before execution (400, 413…) has no GraphQL span to carry them."""
    from chrgraph.audit.api_log import GRAPHQL_REQUEST  # these import this module
    from chrgraph.auth.middleware import PRINCIPAL

    describe_principal(span, scope.get(PRINCIPAL))
    _, operation_name, _ = scope.get(GRAPHQL_REQUEST) or (None, None, None)
    if operation_name:
        span.set_attribute("graphql.operation.name", operation_name)


def describe_principal(span, principal) -> None:
    """Who is calling, as span attributes (ids and issuers only, never credentials)."""
    if principal is None:
        span.set_attribute("chrgraph.principal.kind", "ANONYMOUS")
        return
    span.set_attribute("chrgraph.principal.kind", principal.kind.value)
    if principal.issuer:
        span.set_attribute("chrgraph.consumer.issuer", principal.issuer)
    if principal.user_id is not None:
        span.set_attribute("chrgraph.user.id", principal.user_id)


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "client_error" if status < 500 else "server_error"
