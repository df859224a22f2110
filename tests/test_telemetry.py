"""OpenTelemetry: a server span per request naming the operation, the principal
and the outcome; child spans for root resolvers and SQL statements; never argument
values or query text (health data); an OTLP exporter only when configured."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strawberry import relay

from chrgraph.db import hooks
from tests.accounts import login, make_clinic
from tests.helpers import Vendor

# Shaped like an Ontario health card number: it must never reach a span.
HEALTH_CARD = "7365-219-448-QX"

AUDIT_TRAIL = """
query AuditTrailOfPatient($target: String!) {
  auditEvents(first: 5, filter: {targetType: "Patient", targetId: $target}) {
    totalCount
    edges { node { action } }
  }
}
"""

INLINE_TRAIL = f"""
query InlineTrail {{
  auditEvents(filter: {{targetId: "{HEALTH_CARD}"}}) {{ totalCount }}
}}
"""

PATIENT_NODE = "query PatientNode($id: ID!) { node(id: $id) { id } }"

RECENT_EVENTS = "query RecentEvents { auditEvents(first: 5) { totalCount edges { node { action } } } }"

# What a driver's error looks like when it echoes a value back (PostgreSQL does).
DRIVER_ERROR = f'invalid input syntax for type bigint: "{HEALTH_CARD}"'

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Installs an SDK provider with an in-memory exporter: once per process (OpenTelemetry
    allows one global provider), or beside one another module already installed. The
    module tracers chrgraph made at import time are proxies that follow it."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    yield _EXPORTER
    _EXPORTER.shutdown()  # later modules' spans are dropped, not hoarded


def _trace_of(exporter: InMemorySpanExporter, request_id: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The request's server span (found by the X-Request-Id its caller sent, which the
    span keeps beside the server's own request id) and every span of its trace."""
    finished = exporter.get_finished_spans()
    servers = [
        s
        for s in finished
        if s.kind is trace.SpanKind.SERVER and s.attributes.get("chrgraph.client_request_id") == request_id
    ]
    assert len(servers) == 1, f"one server span per request, got {len(servers)}"
    server = servers[0]
    return server, [s for s in finished if s.context.trace_id == server.context.trace_id]


def _descends_from(span: ReadableSpan, ancestor: ReadableSpan, family: list[ReadableSpan]) -> bool:
    by_id = {s.context.span_id: s for s in family}
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        above = by_id.get(parent.span_id)
        parent = above.parent if above else None
    return False


async def _post(vendor: Vendor, query: str, variables: dict | None, operation: str | None, request_id: str):
    headers = {"Authorization": f"Bearer {vendor.token()}", "X-Request-Id": request_id}
    return await vendor.client.post(
        "/graphql", json={"query": query, "variables": variables, "operationName": operation}, headers=headers
    )


async def test_each_request_has_one_server_span_naming_operation_principal_and_outcome(spans, vendor):
    response = await _post(
        vendor, AUDIT_TRAIL, {"target": HEALTH_CARD}, "AuditTrailOfPatient", "telemetry-server-span-1"
    )
    assert response.status_code == 200, response.text

    server, _ = _trace_of(spans, "telemetry-server-span-1")

    assert server.name == "POST /graphql"
    assert server.parent is None
    attributes = dict(server.attributes)
    assert attributes["graphql.operation.name"] == "AuditTrailOfPatient"
    assert attributes["chrgraph.principal.kind"] == "CONSUMER"
    assert attributes["chrgraph.consumer.issuer"] == vendor.consumer.issuer
    assert attributes["chrgraph.outcome"] == "ok"
    assert attributes["http.response.status_code"] == 200


async def test_a_refused_request_still_names_its_principal_and_outcome(spans, vendor):
    response = await _post(vendor, "query Broken { viewer { nosuchfield } }", None, "Broken", "telemetry-refused-0001")
    assert response.status_code == 400

    server, _ = _trace_of(spans, "telemetry-refused-0001")

    assert server.attributes["http.response.status_code"] == 400
    assert server.attributes["chrgraph.outcome"] == "client_error"
    assert server.attributes["chrgraph.principal.kind"] == "CONSUMER"
    assert server.attributes["chrgraph.consumer.issuer"] == vendor.consumer.issuer


async def test_an_unauthenticated_request_is_a_denied_server_span(spans, client):
    response = await client.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"X-Request-Id": "telemetry-anonymous-1"}
    )
    assert response.status_code == 401

    server, _ = _trace_of(spans, "telemetry-anonymous-1")

    assert server.attributes["chrgraph.outcome"] == "denied"
    assert server.attributes["http.response.status_code"] == 401
    assert "chrgraph.consumer.issuer" not in server.attributes


async def test_root_resolvers_and_sql_statements_are_child_spans_of_the_request(spans, vendor):
    response = await _post(vendor, RECENT_EVENTS, None, "RecentEvents", "telemetry-children-01")
    assert response.json()["data"]["auditEvents"]["edges"], response.text

    server, family = _trace_of(spans, "telemetry-children-01")

    [resolver] = [s for s in family if s.name == "resolve Query.auditEvents"]
    assert _descends_from(resolver, server, family)
    statements = [s for s in family if s.name.startswith("db ")]
    under_resolver = [s for s in statements if _descends_from(s, resolver, family)]
    assert [s.name for s in under_resolver] == ["db SELECT", "db SELECT"]  # COUNT, then the page
    assert all(s.attributes["db.operation"] == "SELECT" for s in under_resolver)
    assert all(_descends_from(s, server, family) for s in statements)


async def test_no_span_carries_query_text_or_argument_values(spans, vendor):
    spans.clear()
    # The value travels as a variable, inline in the document, inside a global id, as a
    # malformed global id the error message echoes, and in a driver error's message.
    calls = [
        (AUDIT_TRAIL, {"target": HEALTH_CARD}, "AuditTrailOfPatient"),
        (INLINE_TRAIL, None, "InlineTrail"),
        (PATIENT_NODE, {"id": str(relay.GlobalID("Patient", HEALTH_CARD))}, "PatientNode"),
        (PATIENT_NODE, {"id": HEALTH_CARD}, "PatientNode"),
    ]
    for i, (query, variables, operation) in enumerate(calls):
        response = await _post(vendor, query, variables, operation, f"telemetry-values-{i:04}")
        assert response.status_code == 200, response.text
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="audit_event", reads=True, message=DRIVER_ERROR))
    try:
        failed = await _post(
            vendor, AUDIT_TRAIL, {"target": HEALTH_CARD}, "AuditTrailOfPatient", "telemetry-values-fault"
        )
    finally:
        hooks.disarm_fault()
    assert failed.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    recorded = spans.get_finished_spans()
    assert len(recorded) >= 5 * 3  # server, execute, resolver... per request: the test saw spans
    everything = "\n".join(span.to_json(indent=None) for span in recorded)
    assert "telemetry-values-fault" in everything
    assert HEALTH_CARD not in everything
    for query, _, _ in calls:
        assert query.strip() not in everything
    for fragment in ("auditEvents(", "filter:", "targetId", "$target", "$id", "invalid input syntax"):
        assert fragment not in everything, fragment


async def test_a_failing_resolver_or_statement_leaves_its_error_type_never_its_message(spans, vendor):
    hooks.arm_fault(hooks.FaultPlan(fail_at=1, match="audit_event", reads=True, message=DRIVER_ERROR))
    try:
        await _post(vendor, AUDIT_TRAIL, {"target": HEALTH_CARD}, "AuditTrailOfPatient", "telemetry-db-error-01")
    finally:
        hooks.disarm_fault()
    with pytest.raises(ValueError), hooks.statement_span("SELECT 1"):  # as a driver would fail
        raise ValueError(DRIVER_ERROR)

    _, family = _trace_of(spans, "telemetry-db-error-01")
    [resolver] = [s for s in family if s.name == "resolve Query.auditEvents"]
    statement = spans.get_finished_spans()[-1]

    assert statement.name == "db SELECT"
    for span, error_type in ((resolver, "InjectedFault"), (statement, "ValueError")):
        assert span.status.status_code is trace.StatusCode.ERROR
        assert span.status.description == error_type
        assert span.attributes["error.type"] == error_type
        assert not span.events, [e.name for e in span.events]


async def test_the_module_tracers_made_at_import_follow_the_installed_provider(spans):
    from chrgraph.db.hooks import _tracer as db_tracer
    from chrgraph.telemetry import tracer

    before = len(spans.get_finished_spans())
    with tracer.start_as_current_span("probe outer"), db_tracer.start_as_current_span("probe inner"):
        await asyncio.sleep(0)

    names = [s.name for s in spans.get_finished_spans()[before:]]
    assert names == ["probe inner", "probe outer"]


# --- metrics ----------------------------------------------------------------------------

_READER = InMemoryMetricReader()


@pytest.fixture(scope="module")
def counted() -> Iterator[InMemoryMetricReader]:
    """An SDK meter provider reading into memory (once per process): the counters
    chrgraph made at import time are proxies that follow it."""
    if not isinstance(metrics.get_meter_provider(), MeterProvider):
        metrics.set_meter_provider(MeterProvider(metric_readers=[_READER]))
    yield _READER


def _total(reader: InMemoryMetricReader, name: str, **attributes: object) -> int:
    data = reader.get_metrics_data()
    total = 0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if all(point.attributes.get(k) == v for k, v in attributes.items()):
                        total += int(point.value)
    return total


async def test_refusals_an_operator_watches_are_counted(counted, client):
    clinic = await make_clinic(client)
    before = {
        "login": _total(counted, "chrgraph.login.refusals", step="password", reason="WRONG_PASSWORD"),
        "reentry": _total(counted, "chrgraph.password_reentry.refusals", reason="WRONG_PASSWORD"),
        "forbidden": _total(counted, "chrgraph.forbidden", principal="USER"),
        "token": _total(counted, "chrgraph.auth.refusals"),
    }
    assert (await login(client, clinic.owner.email, "not the password"))["token"] is None
    wrong = {"i": {"password": "not the password", "newPassword": "another long passphrase 42"}}
    changed = await clinic.owner.gql(
        "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { errors { code } } }", wrong
    )
    assert changed["changePassword"]["errors"] == [{"code": "PASSWORD_INVALID"}]
    member = await clinic.member(permissions_of=["Billing"])
    assert (await member.post("{ patients(first: 1) { totalCount } }")).json()["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"
    refused = await client.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": "Bearer x.y.z"}
    )
    assert refused.status_code == 401

    assert _total(counted, "chrgraph.login.refusals", step="password", reason="WRONG_PASSWORD") == before["login"] + 1
    assert _total(counted, "chrgraph.password_reentry.refusals", reason="WRONG_PASSWORD") == before["reentry"] + 1
    assert _total(counted, "chrgraph.forbidden", principal="USER") == before["forbidden"] + 1
    assert _total(counted, "chrgraph.auth.refusals") == before["token"] + 1


_CONFIGURE = """
import json, sys
from opentelemetry import trace
from chrgraph.settings import Settings
from chrgraph.telemetry import configure_tracing

report = {}
configure_tracing(Settings.from_env({}))
report["unset"] = type(trace.get_tracer_provider()).__name__
configure_tracing(Settings.from_env({"CHRGRAPH_OTLP_ENDPOINT": "http://127.0.0.1:4318/"}))
provider = trace.get_tracer_provider()
report["set"] = type(provider).__name__
processors = provider._active_span_processor._span_processors
report["processors"] = [type(p).__name__ for p in processors]
report["exporters"] = [type(p.span_exporter).__name__ for p in processors]
report["endpoints"] = [p.span_exporter._endpoint for p in processors]
report["service"] = provider.resource.attributes.get("service.name")
from opentelemetry import metrics
meters = metrics.get_meter_provider()
report["meters"] = type(meters).__name__
readers = meters._metric_readers
report["metric_exporters"] = [type(r._exporter).__name__ for r in readers]
report["metric_endpoints"] = [r._exporter._endpoint for r in readers]
provider.shutdown()
meters.shutdown()
json.dump(report, sys.stdout)
"""


def test_an_otlp_exporter_is_configured_only_when_the_endpoint_is_set():
    # In a child process: the global provider can be set once per process, and this
    # one must not replace the in-memory provider of the tests above.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", _CONFIGURE], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr

    report = json.loads(done.stdout)

    assert report["unset"] == "ProxyTracerProvider"
    assert report["set"] == "TracerProvider"
    assert report["processors"] == ["BatchSpanProcessor"]
    assert report["exporters"] == ["OTLPSpanExporter"]
    assert report["endpoints"] == ["http://127.0.0.1:4318/v1/traces"]
    assert report["service"] == "chrgraph"
    assert report["meters"] == "MeterProvider"
    assert report["metric_exporters"] == ["OTLPMetricExporter"]
    assert report["metric_endpoints"] == ["http://127.0.0.1:4318/v1/metrics"]
