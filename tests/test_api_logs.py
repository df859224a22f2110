"""API logs: one row per request of an authenticated API consumer, committed
before its response leaves (group commit), with secrets redacted; read with
`chrgraph logs show`, purged after the retention by the server and `chrgraph logs purge`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
import pytest

from chrgraph.audit.api_log import ApiLogRow, purge_api_logs, writer
from chrgraph.audit.redact import REDACTED
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db import hooks
from chrgraph.db.hooks import FaultPlan, arm_fault, disarm_fault
from chrgraph.db.models import ApiConsumer, ApiLog
from chrgraph.resolvers.consumers.manage import create_api_consumer
from tests.accounts import make_clinic
from tests.audit_helpers import new_vendor
from tests.helpers import Vendor, claims, public_pem, rsa_key, sign, unique
from tests.processes import chrgraph, eventually, running_server

pytestmark = pytest.mark.usefixtures("app")

VIEWER = "{ viewer { kind } }"
RECENT_EVENTS = """
query RecentEvents($action: AuditAction, $password: String, $token: String, $secret: String) {
  auditEvents(first: 5,
              filter: {action: $action, actorId: $password, targetId: $token, targetType: $secret}) {
    totalCount
  }
}"""
SECRET_VARIABLES = {"password": "hunter2-password", "token": "tok-9f8e7d", "secret": "shh-secret"}
INLINE_SECRET = """
mutation InlineLogin {
  login(input: {email: "someone@example.com", password: "inline-secret-password"}) { token }
}"""


def request_id(label: str) -> str:
    """A caller-chosen X-Request-Id (kept as the row's client request id; the request id
    itself is always the server's)."""
    return unique(label).replace("-", "_")


async def call(
    vendor: Vendor,
    query: str = VIEWER,
    variables: dict | None = None,
    rid: str | None = None,
    token: str | None = None,
    **body,
) -> httpx.Response:
    headers = {"X-Request-Id": rid} if rid else {}
    headers["Authorization"] = f"Bearer {token or vendor.token()}"
    return await vendor.client.post("/graphql", json={"query": query, "variables": variables, **body}, headers=headers)


async def log_row(rid: str) -> ApiLog:
    """The row of the request whose caller sent `rid` as its X-Request-Id, or of the
    request the server named `rid`."""
    row = await ApiLog.get_or_none(client_request_id=rid)
    return row or await ApiLog.get(request_id=rid)


async def committed(database_url: str, rid: str) -> bool:
    """Whether the row is committed, seen through a connection of its own."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://")

        def read() -> bool:
            with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn:
                row = conn.execute("SELECT 1 FROM api_log WHERE client_request_id = ?", (rid,)).fetchone()
                return row is not None

        return await asyncio.to_thread(read)
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT 1 FROM api_log WHERE client_request_id = $1", rid) is not None
    finally:
        await conn.close()


def old_row(vendor: Vendor, age: timedelta, rid: str) -> ApiLog:
    return ApiLogRow(
        organization_id=vendor.organization.id,
        consumer_id=vendor.consumer.id,
        key_id="k1",
        request_id=rid,
        created_at=datetime.now(UTC) - age,
        method="POST",
        operation_name=None,
        query=VIEWER,
        variables=None,
        status=200,
        response_body='{"data":{"viewer":{"kind":"CONSUMER"}}}',
        duration_ms=1.0,
    ).model()


# --- what a row holds -------------------------------------------------------------------


async def test_a_consumer_request_is_logged_with_query_variables_status_answer_and_key(client):
    vendor = await new_vendor(client)
    assert vendor.consumer.last_used_at is None
    started = datetime.now(UTC)

    response = await call(
        vendor,
        RECENT_EVENTS,
        {"action": "ORGANIZATION_CREATED", **SECRET_VARIABLES},
        operationName="RecentEvents",
    )

    assert response.status_code == 200, response.text
    rid = response.headers["x-request-id"]
    row = await log_row(rid)
    assert (row.organization_id, row.consumer_id, row.key_id) == (
        vendor.organization.id,
        vendor.consumer.id,
        "k1",
    )
    assert (row.method, row.operation_name, row.query) == ("POST", "RecentEvents", RECENT_EVENTS)
    # Named like secrets, but they feed no secret: the schema decides, not the names
    # (tests/test_secret_redaction.py has the secrets).
    assert row.variables == {"action": "ORGANIZATION_CREATED", **SECRET_VARIABLES}
    assert row.status == 200
    assert orjson.loads(row.response_body) == response.json()
    assert response.json()["data"]["auditEvents"]["totalCount"] == 0
    assert 0 < row.duration_ms < 30_000
    assert started <= row.created_at <= datetime.now(UTC)
    consumer = await ApiConsumer.get(id=vendor.consumer.id)
    assert consumer.last_used_at is not None and consumer.last_used_at >= row.created_at


async def test_a_business_failure_is_logged_with_its_answer_too(client):
    vendor = await new_vendor(client)
    rid = request_id("forbidden")

    response = await call(vendor, "{ apiConsumers { issuer } }", rid=rid)

    assert response.status_code == 200 and response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    row = await log_row(rid)
    assert row.status == 200 and orjson.loads(row.response_body) == response.json()


async def test_secrets_written_inline_in_the_query_text_are_redacted(client):
    vendor = await new_vendor(client)
    rid = request_id("inline")

    await call(vendor, INLINE_SECRET, rid=rid)

    row = await log_row(rid)
    assert "inline-secret-password" not in row.query
    assert f'password: "{REDACTED}"' in row.query


async def test_anonymous_refused_and_session_requests_write_no_row(client):
    vendor = await new_vendor(client)
    clinic = await make_clinic(client)
    expired = sign(claims(vendor.consumer.issuer, ttl=-10), vendor.key)
    forged = sign(claims(vendor.consumer.issuer), rsa_key(1))
    anonymous, late, bad_signature, session = (request_id(x) for x in ("anon", "late", "bad", "session"))

    answers = [
        await client.post("/graphql", json={"query": VIEWER}, headers={"X-Request-Id": anonymous}),
        await call(vendor, rid=late, token=expired),
        await call(vendor, rid=bad_signature, token=forged),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    as_support = await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {clinic.support.token}", "X-Request-Id": session},
    )
    assert as_support.status_code == 200

    assert not await ApiLog.filter(client_request_id__in=[anonymous, late, bad_signature, session]).exists()
    assert not await ApiLog.filter(consumer_id=vendor.consumer.id).exists()
    assert (await ApiConsumer.get(id=vendor.consumer.id)).last_used_at is None


async def test_a_refused_authentication_goes_to_the_application_log_without_the_token(client, caplog):
    vendor = await new_vendor(client)
    expired = sign(claims(vendor.consumer.issuer, ttl=-10), vendor.key)
    caplog.set_level(logging.INFO, logger="chrgraph")

    response = await call(vendor, token=expired)

    assert response.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "chrgraph"]
    assert any("TOKEN_EXPIRED" in line for line in lines), lines
    signature = expired.rsplit(".", 1)[1]
    assert not any(expired in line or signature in line for line in caplog.text.splitlines())


# --- durability: written before the response leaves -------------------------------------------


async def test_a_row_survives_the_server_being_killed_right_after_its_response(client):
    vendor = await new_vendor(client)
    rids = [request_id(f"crash{i}") for i in range(10)]
    answered: list[str] = []

    async with running_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:

            async def ask_then_crash(rid: str) -> None:
                try:
                    response = await http.post(
                        "/graphql",
                        json={"query": VIEWER},
                        headers={"Authorization": f"Bearer {vendor.token()}", "X-Request-Id": rid},
                    )
                except httpx.TransportError:
                    return  # the server was already dead: nothing was promised
                server.kill()  # the moment a response arrived, before anything else runs
                assert response.status_code == 200, response.text
                answered.append(rid)

            await asyncio.gather(*(ask_then_crash(rid) for rid in rids))
            await asyncio.wait_for(server.process.wait(), 10)

    assert answered, "no request was answered before the kill"
    logged = set(await ApiLog.filter(client_request_id__in=rids).values_list("client_request_id", flat=True))
    assert set(answered) <= logged


async def test_the_row_is_committed_before_the_response_starts(app, client, database_url):
    vendor = await new_vendor(client)
    rid = request_id("ordered")
    seen: list[bool] = []

    async def observed(scope, receive, send):
        async def watch(message):
            if message["type"] == "http.response.start":
                seen.append(await committed(database_url, rid))
            await send(message)

        await app(scope, receive, watch)

    transport = httpx.ASGITransport(app=observed)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as observing:
        response = await observing.post(
            "/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {vendor.token()}", "X-Request-Id": rid},
        )

    assert response.status_code == 200
    assert seen == [True]


async def test_concurrent_requests_each_get_their_own_row_in_shared_commits(client):
    vendor = await new_vendor(client)
    rids = [request_id(f"burst{i:02d}") for i in range(50)]
    counter = hooks.count_statements()
    try:
        responses = await asyncio.gather(*(call(vendor, rid=rid) for rid in rids))
    finally:
        hooks.stop_counting(counter)

    assert [r.status_code for r in responses] == [200] * 50
    rows = {row.client_request_id: row for row in await ApiLog.filter(consumer_id=vendor.consumer.id)}
    assert sorted(rows) == sorted(rids)
    assert [rows[rid].request_id for rid in rids] == [r.headers["x-request-id"] for r in responses]
    for rid, response in zip(rids, responses, strict=True):
        assert orjson.loads(rows[rid].response_body) == response.json()
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith('INSERT INTO "API_LOG"')]
    assert 1 <= len(inserts) < 50, "each row was committed on its own"


async def test_a_request_whose_row_cannot_be_written_gets_a_500_and_not_its_answer(client):
    vendor = await new_vendor(client)
    rid = request_id("unlogged")
    plan = FaultPlan(fail_at=1, match="api_log")
    arm_fault(plan)
    try:
        response = await call(vendor, rid=rid)
    finally:
        disarm_fault()

    assert plan.fired
    assert response.status_code == 500
    body = response.json()
    assert "data" not in body and "CONSUMER" not in response.text
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"] != rid
    assert not await ApiLog.filter(client_request_id=rid).exists()
    assert (await ApiConsumer.get(id=vendor.consumer.id)).last_used_at is None
    # The writer recovers: the next request is answered and logged.
    again = await call(vendor, rid=request_id("after"))
    assert again.status_code == 200
    assert await ApiLog.filter(request_id=again.headers["x-request-id"]).exists()


async def test_a_request_with_an_unusual_http_method_is_logged_too(client):
    """uvicorn passes methods such as MKCALENDAR through; the row must still be written."""
    vendor = await new_vendor(client)
    rid = request_id("mkcalendar")

    response = await client.request(
        "MKCALENDAR", "/graphql", headers={"Authorization": f"Bearer {vendor.token()}", "X-Request-Id": rid}
    )

    assert response.status_code == 405, response.text
    row = await log_row(rid)
    assert row.status == 405 and "MKCALENDAR".startswith(row.method)


async def test_a_row_that_cannot_be_written_costs_no_other_request_of_its_commit_its_answer(client):
    vendor, stranger = await new_vendor(client), await new_vendor(client)
    rows = [old_row(vendor if i % 2 else stranger, timedelta(0), request_id(f"batch{i:02d}")) for i in range(20)]
    rows[7].method = "TOOLONGMETHOD"  # a row the database cannot take

    # Queued in one go, the twenty rows share one commit.
    outcomes = await asyncio.gather(*(writer.write(row) for row in rows), return_exceptions=True)

    assert [i for i, outcome in enumerate(outcomes) if outcome is not None] == [7]
    stored = set(await ApiLog.filter(request_id__in=[r.request_id for r in rows]).values_list("request_id", flat=True))
    assert stored == {r.request_id for i, r in enumerate(rows) if i != 7}


# --- `chrgraph logs show` ---------------------------------------------------------------------


async def test_logs_show_prints_the_rows_as_json_and_filters_by_consumer(client):
    vendor = await new_vendor(client)
    other = await create_api_consumer(
        support_cli_actor(vendor.organization.id),
        name=unique("other"),
        public_key=public_pem(rsa_key(1)),
        kid="k1",
    )
    other_vendor = Vendor(vendor.organization, other, rsa_key(1), client)
    theirs = request_id("cli")
    first = (await call(vendor, RECENT_EVENTS, SECRET_VARIABLES, rid=theirs, operationName="RecentEvents")).headers[
        "x-request-id"
    ]
    second = (await call(other_vendor)).headers["x-request-id"]

    shown = await chrgraph("logs", "show", "--org", vendor.organization.domain, "--json")

    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [r["requestId"] for r in rows] == [second, first]  # newest first
    row = rows[1]
    assert row["issuer"] == vendor.consumer.issuer and row["keyId"] == "k1"
    # The same fields as the API's apiLogs: the signing key's fingerprint, the caller's own id.
    assert row["clientRequestId"] == theirs and rows[0]["clientRequestId"] is None
    assert row["keyFingerprint"] == (await ApiLog.get(request_id=first)).key_fingerprint
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", row["keyFingerprint"])  # SHA-256, base64url
    assert (row["method"], row["operationName"], row["query"], row["status"]) == (
        "POST",
        "RecentEvents",
        RECENT_EVENTS,
        200,
    )
    assert row["variables"] == SECRET_VARIABLES  # no secret in them: the schema decides
    assert json.loads(row["responseBody"])["data"]["auditEvents"]["totalCount"] == 0
    assert row["durationMs"] > 0 and datetime.fromisoformat(row["createdAt"])
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$", row["createdAt"])  # as the API writes it
    text = await chrgraph("logs", "show", "--org", vendor.organization.domain)
    assert text.returncode == 0 and text.stdout.splitlines()[1].split("\t")[:2] == [row["createdAt"], row["issuer"]]

    filtered = await chrgraph("logs", "show", "--org", vendor.organization.domain, "--consumer", other.issuer, "--json")
    assert filtered.returncode == 0, filtered.stderr
    assert [(r["requestId"], r["issuer"]) for r in json.loads(filtered.stdout)] == [(second, other.issuer)]


async def test_logs_show_for_an_unknown_consumer_fails_with_an_error(client):
    vendor = await new_vendor(client)

    shown = await chrgraph(
        "logs", "show", "--org", vendor.organization.domain, "--consumer", unique("nobody"), "--json"
    )

    assert shown.returncode != 0
    assert "No such API consumer" in shown.stderr
    assert shown.stdout == ""


async def test_logs_show_does_not_show_another_organizations_rows(client):
    vendor, stranger = await new_vendor(client), await new_vendor(client)
    await call(stranger)

    shown = await chrgraph("logs", "show", "--org", vendor.organization.domain, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout) == []
    refused = await chrgraph(
        "logs", "show", "--org", vendor.organization.domain, "--consumer", stranger.consumer.issuer
    )
    assert refused.returncode != 0 and "No such API consumer" in refused.stderr


# --- retention -----------------------------------------------------------------------------


async def test_logs_purge_deletes_rows_older_than_90_days_and_keeps_the_rest(client):
    vendor = await new_vendor(client)
    old, recent = request_id("old"), request_id("recent")
    await old_row(vendor, timedelta(days=91), old).save()
    await old_row(vendor, timedelta(days=89), recent).save()

    purged = await chrgraph("logs", "purge")

    assert purged.returncode == 0, purged.stderr
    assert "purged" in purged.stdout
    assert not await ApiLog.filter(request_id=old).exists()
    assert await ApiLog.filter(request_id=recent).exists()


async def test_purge_api_logs_removes_exactly_the_rows_past_the_retention(client):
    vendor = await new_vendor(client)
    now = datetime.now(UTC)
    past, within = request_id("past"), request_id("within")
    await old_row(vendor, timedelta(days=30, seconds=1), past).save()
    await old_row(vendor, timedelta(days=30, seconds=-60), within).save()

    purged = await purge_api_logs(30, now=now)

    assert purged >= 1
    assert not await ApiLog.filter(request_id=past).exists()
    assert await ApiLog.filter(request_id=within).exists()


async def test_the_server_purges_old_rows_on_its_schedule(client):
    vendor = await new_vendor(client)
    old, recent = request_id("scheduled_old"), request_id("scheduled_recent")
    await old_row(vendor, timedelta(days=91), old).save()
    await old_row(vendor, timedelta(days=89), recent).save()

    async def old_row_is_gone() -> bool:
        return not await ApiLog.filter(request_id=old).exists()

    async with running_server(CHRGRAPH_API_LOG_PURGE_INTERVAL_SECONDS="0.2"):
        await eventually(old_row_is_gone, time_limit=15)

    assert await ApiLog.filter(request_id=recent).exists()


async def test_an_unexpected_error_is_a_logged_json_500_with_the_request_id(client, monkeypatch, caplog):
    from chrgraph.http import graphql as view

    vendor = await new_vendor(client)
    rid = request_id("unexpected")

    def broken_loaders():
        raise RuntimeError("a bug")

    monkeypatch.setattr(view, "make_loaders", broken_loaders)
    with caplog.at_level(logging.ERROR, logger="chrgraph"):
        response = await vendor.post("{ viewer { kind } }", headers={"X-Request-Id": rid})

    assert response.status_code == 500
    ours = response.headers["x-request-id"]
    assert ours != rid
    assert response.json() == {
        "errors": [
            {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": ours}}
        ]
    }
    assert "a bug" not in response.text
    assert any(ours in record.getMessage() and record.exc_info for record in caplog.records)
    row = await log_row(rid)
    assert row.status == 500 and row.consumer_id == vendor.consumer.id


@pytest.mark.parametrize(
    ("body", "as_is"),
    [
        (b'{"data":{"viewer":{"kind":"CONSUMER"}}}', True),
        ('{"data":{"name":"Zoë Ñúñez"}}'.encode(), True),  # non-ASCII, nothing to redact
        # Names like secrets change nothing: the document's redaction plan says whether
        # an answer holds a secret output (tests/test_secret_redaction.py).
        (b'{"data":{"apiToken":"x"}}', True),
        ('{"data":{"\u0130d":"x"}}'.encode(), True),
        (b'{"data":{"name":"\\u0000"}}', False),  # an escape: may carry a NUL or a surrogate
        (b'{"data":{"name":"\xff"}}', False),  # not UTF-8
    ],
)
def test_an_answer_is_stored_as_is_only_when_redaction_could_not_change_it(body, as_is):
    from chrgraph.audit.api_log import _stored_as_is

    assert _stored_as_is(body) is as_is
