"""OpenTelemetry: a span per request with operation name, principal and outcome,
child spans for root resolvers and SQL statements, never argument values or query
text (health data); counters of refusals and alarms. With CHRGRAPH_OTLP_ENDPOINT set,
spans and metrics are exported over OTLP/HTTP (`/v1/traces`, `/v1/metrics`)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from chrgraph.otel_engine import spans_record
from chrgraph.settings import Settings


class Tracer:
    """OpenTelemetry's tracer, except that an exception leaves only its type on the span.
    An exception's message can echo argument values (a driver's "invalid input syntax
    for type bigint: <value>", a coercion error), and spans never carry those; the
    message goes to the log with the request id instead."""

    def __init__(self, name: str) -> None:
        self._tracer = trace.get_tracer(name)  # a proxy until a provider is installed

    def start_as_current_span(self, name: str, **kwargs: Any) -> contextlib.AbstractContextManager[trace.Span]:
        if not spans_record():
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


tracer = Tracer("chrgraph")
meter = metrics.get_meter("chrgraph")
auth_refusals = meter.create_counter("chrgraph.auth.refusals", description="Refused authentications, by reason")
# Alarms: a consumer's answer sent without its API-log row (the row could not be written
# after its change committed), and requests answered 503 because the database could not
# be reached.
api_log_failures = meter.create_counter(
    "chrgraph.api_log.failures", description="API-log rows that could not be written, by what was answered"
)
database_unavailable = meter.create_counter(
    "chrgraph.database.unavailable", description="Requests answered 503: the database could not be reached"
)
# What an operator watches for guessing and probing (the log line says whose, this counts).
login_refusals = meter.create_counter(
    "chrgraph.login.refusals", description="Refused logins, second-factor codes and reset requests, by step and reason"
)
password_reentry_refusals = meter.create_counter(
    "chrgraph.password_reentry.refusals", description="Refused password re-entries by sessions, by reason"
)
forbidden_answers = meter.create_counter(
    "chrgraph.forbidden", description="FORBIDDEN answers to user and support sessions, by principal kind"
)
log = logging.getLogger("chrgraph")


def configure_tracing(settings: Settings) -> None:
    """Spans and metrics to the OTLP endpoint, when one is set (else both stay no-ops)."""
    if not settings.otlp_endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    base = settings.otlp_endpoint.rstrip("/")
    resource = Resource.create({"service.name": "chrgraph"})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=base + "/v1/traces")))
    trace.set_tracer_provider(provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=base + "/v1/metrics"))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))


def describe_principal(span: trace.Span, principal: Any) -> None:
    """Who is calling, as span attributes (ids and issuers only, never credentials)."""
    if principal is None:
        span.set_attribute("chrgraph.principal.kind", "ANONYMOUS")
        return
    span.set_attribute("chrgraph.principal.kind", principal.kind.value)
    if principal.issuer:
        span.set_attribute("chrgraph.consumer.issuer", principal.issuer)
    if principal.user_id is not None:
        span.set_attribute("chrgraph.user.id", principal.user_id)
