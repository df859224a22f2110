"""Every consumer request that reached the endpoint has its API-log row, and none that
committed is answered 500 for want of it:
- an upload is logged as metadata (form part, file name, content type, size, SHA-256),
  never its bytes, whichever variable the file was mapped into;
- a row that cannot be written after the change committed: the true answer is sent, and
  the loss is an alarm in the application log and the metrics;
- the database unreachable before anything committed: 503 `SERVICE_UNAVAILABLE` with
  `Retry-After`, never 500 — also when PostgreSQL ended an idle pooled connection and
  asyncpg refuses the next statement on it before it has seen the socket close.
(The same under a real PostgreSQL restart: tests/test_database_outage.py.)"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.types import Receive, Scope, Send
from tortoise import connections

from chrgraph.db import hooks
from chrgraph.db.models import ApiLog, AuditEvent, Patient
from chrgraph.db.outage import database_unreachable
from chrgraph.http import answers
from chrgraph.http import api_log as api_log_middleware
from tests.accounts import make_clinic
from tests.databases import backend
from tests.helpers import key_of

REGISTER = """mutation Register($i: RegisterPatientInput!) {
  registerPatient(input: $i) { patient { id lastName } errors { code field } } }"""
LOOK = "query Look { patients(first: 1) { totalCount } }"
SCAN = b"%PDF-1.4 a scanned referral letter, Jane Doe, health card 1234-567-890"


class Recorded:
    """Stands for an OpenTelemetry counter: what was added, with its attributes."""

    def __init__(self) -> None:
        self.added: list[tuple[int, dict[str, Any]]] = []

    def add(self, amount: int, attributes: dict[str, Any] | None = None) -> None:
        self.added.append((amount, dict(attributes or {})))


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def register_variables(last_name: str) -> dict[str, Any]:
    return {"i": {"firstName": "Ann", "lastName": last_name, "dateOfBirth": "1990-01-01"}}


async def register(clinic, last_name: str) -> httpx.Response:
    return await clinic.vendor.post(REGISTER, register_variables(last_name))


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_consumers_multipart_mutation_is_answered_and_logged_with_its_upload_as_metadata(clinic):
    """registerPatient sent as a GraphQL multipart request, a file mapped into a variable
    the operation does not use: the patient is registered, the answer is 200, and the
    log row describes the file without its bytes."""
    operations = {"query": REGISTER, "variables": {**register_variables("Upload"), "scan": None}}
    response = await clinic.client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {clinic.vendor.token()}"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.scan"]})},
        files={"0": ("referral.pdf", SCAN, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["registerPatient"]
    assert payload["errors"] == [] and payload["patient"]["lastName"] == "Upload"
    patient = await Patient.get(id=await key_of(payload["patient"]["id"]))
    assert await AuditEvent.filter(organization_id=clinic.organization.id, target_type="Patient").exists()

    row = await ApiLog.get(request_id=response.headers["x-request-id"])
    assert row.status == 200 and row.operation_name == "Register"
    assert row.variables["scan"] == {
        "upload": {
            "part": "0",
            "filename": "referral.pdf",
            "contentType": "application/pdf",
            "size": len(SCAN),
            "sha256": hashlib.sha256(SCAN).hexdigest(),
        }
    }
    assert row.variables["i"]["lastName"] == patient.last_name
    stored = json.dumps([row.query, row.variables, row.response_body])
    assert "scanned referral" not in stored and "1234-567-890" not in stored


async def test_a_row_lost_after_the_commit_still_sends_the_true_answer_and_raises_the_alarm(
    clinic, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="chrgraph")
    failures = Recorded()
    monkeypatch.setattr(api_log_middleware, "api_log_failures", failures)

    async def cannot_write(row: Any, accesses: Any = ()) -> None:
        raise ConnectionRefusedError("the database went away after the commit")

    monkeypatch.setattr(api_log_middleware.writer, "write", cannot_write)
    response = await register(clinic, "Committed")

    assert response.status_code == 200, response.text
    payload = response.json()["data"]["registerPatient"]
    assert payload["errors"] == [] and payload["patient"]["lastName"] == "Committed"
    assert await Patient.filter(id=await key_of(payload["patient"]["id"])).exists()
    request_id = response.headers["x-request-id"]
    assert not await ApiLog.filter(request_id=request_id).exists()
    alarms = [r.getMessage() for r in caplog.records if r.name == "chrgraph" and r.levelno >= logging.ERROR]
    assert any("ALARM" in line and request_id in line for line in alarms), alarms
    assert failures.added == [(1, {"answered": "committed"})]


async def test_a_query_whose_row_cannot_be_written_for_want_of_the_database_is_a_503(clinic, monkeypatch):
    """Nothing committed: the answer is not sent without its row; the client may retry."""
    failures = Recorded()
    monkeypatch.setattr(api_log_middleware, "api_log_failures", failures)

    async def cannot_write(row: Any, accesses: Any = ()) -> None:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(api_log_middleware.writer, "write", cannot_write)
    response = await clinic.vendor.post(LOOK)

    assert_unavailable(response)
    assert failures.added == [(1, {"answered": "503"})]


async def test_a_pooled_connection_postgresql_ended_while_idle_is_a_503_not_a_500(clinic, monkeypatch):
    """What asyncpg raises for a statement given a connection whose FATAL error arrived
    while it sat idle in the pool, before the socket's close was seen (a restart under
    load)."""
    failures = Recorded()
    monkeypatch.setattr(api_log_middleware, "api_log_failures", failures)

    async def ended_while_idle(row: Any, accesses: Any = ()) -> None:
        raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")

    monkeypatch.setattr(api_log_middleware.writer, "write", ended_while_idle)
    response = await clinic.vendor.post(LOOK)

    assert_unavailable(response)
    assert failures.added == [(1, {"answered": "503"})]
    # Any other state is a second operation on a live connection: a bug, not an outage.
    assert not database_unreachable(
        asyncpg.InternalClientError("cannot switch to state 12; another operation (11) is in progress")
    )


def _fatal(code: str, message: str) -> bytes:
    """A PostgreSQL ErrorResponse message, as the server sends it before closing."""
    fields = b"SFATAL\0VFATAL\0C" + code.encode() + b"\0M" + message.encode() + b"\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


@pytest.mark.skipif(backend() != "postgres", reason="asyncpg's protocol (CHRGRAPH_TEST_DB=postgres)")
async def test_asyncpg_refusing_a_statement_on_a_connection_ended_while_idle_counts_as_unreachable(client):
    async with connections.get("default").acquire_connection() as conn:
        # The server's FATAL message reaches the idle connection; its close has not yet.
        conn._protocol.data_received(_fatal("57P01", "terminating connection due to administrator command"))
        try:
            with pytest.raises(asyncpg.InternalClientError) as refused:
                await conn.fetchval("SELECT 1")
        finally:
            conn.terminate()
    assert database_unreachable(refused.value), refused.value


async def test_the_database_unreachable_before_the_commit_is_a_503_and_changes_nothing(clinic, monkeypatch):
    before = await Patient.filter(organization_id=clinic.organization.id).count()
    unavailable = Recorded()
    monkeypatch.setattr(answers, "database_unavailable", unavailable)
    original = hooks.before_statement

    def refuse_patients(query: str) -> None:
        if "patient" in query.lower() and "api_log" not in query.lower():
            raise ConnectionRefusedError("connection refused")
        original(query)

    monkeypatch.setattr(hooks, "before_statement", refuse_patients)
    response = await register(clinic, "Refused")
    monkeypatch.setattr(hooks, "before_statement", original)

    assert_unavailable(response)
    assert await Patient.filter(organization_id=clinic.organization.id).count() == before
    row = await ApiLog.get(request_id=response.headers["x-request-id"])
    assert row.status == 503
    assert unavailable.added == [(1, {"at": "graphql"})]


async def test_an_unreachable_database_escaping_a_middleware_is_a_503_not_a_500():
    async def failing_app(scope: Scope, receive: Receive, send: Send) -> None:
        raise OSError(111, "Connect call failed ('127.0.0.1', 5432)")

    app = answers.ServerErrorAnswer(failing_app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/graphql", json={"query": LOOK})
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
