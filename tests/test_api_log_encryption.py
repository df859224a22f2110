"""The API log's content is encrypted at rest (a copy of the database alone reveals no
patient data), readable after a key rotation, shown to the owner only (the support
account sees each row's metadata), and filtered on clear columns: consumer, time,
status, operation name, request id."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise import connections

from chrgraph.db import log_keys
from chrgraph.db.log_keys import LogKeyError, load_key_ring
from chrgraph.db.models import ApiLog
from chrgraph.settings import get_settings
from tests.accounts import make_clinic
from tests.helpers import unique
from tests.processes import chrgraph, environment, run_process

pytestmark = pytest.mark.usefixtures("app")

REGISTER = """mutation Register($i: RegisterPatientInput!) {
  registerPatient(input: $i) { patient { id firstName lastName } errors { code } } }"""
API_LOGS = """query Logs($filter: ApiLogFilter) { apiLogs(first: 100, filter: $filter) { totalCount edges { node {
  requestId operationName status query variables responseBody } } } }"""


async def _register(clinic, last_name: str) -> str:
    response = await clinic.vendor.post(
        REGISTER, {"i": {"firstName": "Zelda", "lastName": last_name, "dateOfBirth": "1970-02-03"}}
    )
    assert response.status_code == 200 and not response.json()["data"]["registerPatient"]["errors"]
    return response.headers["x-request-id"]


async def _raw_rows(organization_id: int) -> list[str]:
    """Every API-log row of the organization as the database holds it, each as one text."""
    conn = connections.get("default")
    mark = "?" if conn.capabilities.dialect == "sqlite" else "$1"
    _, rows = await conn.execute_query(f"SELECT * FROM api_log WHERE organization_id = {mark}", [organization_id])
    return [" ".join(str(v) for v in dict(row).values()) for row in rows]


async def test_the_raw_table_holds_no_patient_name_and_the_owner_reads_it_decrypted(client):
    clinic = await make_clinic(client)
    name = unique("Zebulon").replace("-", "")
    rid = await _register(clinic, name)

    raw = await _raw_rows(clinic.organization.id)
    assert raw and not any(name in text for text in raw)
    assert not any("Zelda" in text or "registerPatient" in text or "1970-02-03" in text for text in raw)

    logs = (await clinic.owner.gql(API_LOGS, {"filter": {"requestId": rid}}))["apiLogs"]
    [node] = [e["node"] for e in logs["edges"]]
    assert node["operationName"] == "Register" and node["status"] == 200  # kept in clear
    assert "registerPatient" in node["query"]
    assert node["variables"] == {"i": {"firstName": "Zelda", "lastName": name, "dateOfBirth": "1970-02-03"}}
    assert json.loads(node["responseBody"])["data"]["registerPatient"]["patient"]["lastName"] == name


async def test_support_sees_every_rows_metadata_but_not_its_content(client):
    clinic = await make_clinic(client)
    rid = await _register(clinic, "Metadata")

    response = await clinic.support.post(API_LOGS, {"filter": {"requestId": rid}})
    body = response.json()
    assert "errors" not in body  # content is null for support, not an error per row
    [node] = [e["node"] for e in body["data"]["apiLogs"]["edges"]]
    assert node == {
        "requestId": rid,
        "operationName": "Register",
        "status": 200,
        "query": None,
        "variables": None,
        "responseBody": None,
    }


async def test_a_rotation_keeps_every_older_row_readable(client):
    clinic = await make_clinic(client)
    path = log_keys.key_ring_path(get_settings())
    before = await _register(clinic, "BeforeRotation")
    old_key = (await ApiLog.get(request_id=before)).content_key

    ring = log_keys.rotate(path)
    log_keys.current.install(ring)  # a running server re-reads the file within seconds
    after = await _register(clinic, "AfterRotation")

    assert (await ApiLog.get(request_id=after)).content_key == ring.newest != old_key
    logs = (await clinic.owner.gql(API_LOGS))["apiLogs"]
    names = {e["node"]["requestId"]: e["node"]["variables"]["i"]["lastName"] for e in logs["edges"]}
    assert names[before] == "BeforeRotation" and names[after] == "AfterRotation"


async def test_apilogs_filters_by_status_operation_name_request_id_and_until(client):
    clinic = await make_clinic(client)
    first = await _register(clinic, "First")
    ping = (await clinic.vendor.post("query Ping { viewer { kind } }")).headers["x-request-id"]
    refused = await clinic.vendor.client.post(
        "/graphql", json={"query": "{ viewer { kind } }"}, headers={"Authorization": f"Bearer {clinic.vendor.token()}x"}
    )
    assert refused.status_code == 401  # refused before the log: no row

    async def ids(**filter) -> list[str]:
        logs = (await clinic.owner.gql(API_LOGS, {"filter": filter}))["apiLogs"]
        return [e["node"]["requestId"] for e in logs["edges"]]

    assert await ids(operationName="Ping") == [ping]
    assert await ids(operationName="Register") == [first]
    assert await ids(requestId=first) == [first]
    assert await ids(status=200) == [ping, first]
    assert await ids(status=500) == []
    row = await ApiLog.get(request_id=ping)
    assert await ids(until=row.created_at.isoformat()) == [first]
    assert await ids(since=(row.created_at + timedelta(seconds=1)).isoformat()) == []


def test_content_moved_onto_another_row_does_not_decrypt(tmp_path: Path):
    ring = load_key_ring(tmp_path / "log.key", create=True)
    key, sealed = ring.seal("a" * 26, b'{"query":"x"}')
    assert ring.open("a" * 26, key, sealed) == b'{"query":"x"}'
    with pytest.raises(LogKeyError):
        ring.open("b" * 26, key, sealed)
    assert (tmp_path / "log.key").stat().st_mode & 0o777 == 0o600


def test_a_malformed_key_file_is_refused_without_echoing_it(tmp_path: Path):
    file = tmp_path / "log.key"
    file.write_text("secret-looking-line\n")
    with pytest.raises(LogKeyError) as refused:
        load_key_ring(file)
    assert "secret-looking-line" not in str(refused.value) and str(file) in str(refused.value)
    with pytest.raises(LogKeyError, match="no API log encryption key"):
        load_key_ring(tmp_path / "absent.key")


@pytest.mark.cli
async def test_rotate_key_adds_a_key_and_logs_show_filters_and_decrypts(client, tmp_path):
    clinic = await make_clinic(client)
    rid = await _register(clinic, "Shown")
    key_file = os.environ["CHRGRAPH_LOG_ENCRYPTION_KEY"]
    keys_before = len(load_key_ring(key_file).keys)

    rotated = await chrgraph("logs", "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    assert len(load_key_ring(key_file).keys) == keys_before + 1

    domain = clinic.domain
    shown = await chrgraph("logs", "show", "--org", domain, "--operation", "Register", "--status", "200", "--json")
    assert shown.returncode == 0, shown.stderr
    [row] = json.loads(shown.stdout)
    assert row["requestId"] == rid and row["variables"]["i"]["lastName"] == "Shown"
    by_id = await chrgraph("logs", "show", "--org", domain, "--request-id", rid, "--json")
    assert [r["requestId"] for r in json.loads(by_id.stdout)] == [rid]
    none = await chrgraph("logs", "show", "--org", domain, "--status", "404", "--json")
    assert json.loads(none.stdout) == []

    missing = await chrgraph(
        "logs", "show", "--org", domain, "--json", env=environment(CHRGRAPH_LOG_ENCRYPTION_KEY=str(tmp_path / "no.key"))
    )
    assert missing.returncode == 2 and "CHRGRAPH_LOG_ENCRYPTION_KEY" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_postgresql_requires_the_key_setting():
    settings = get_settings()
    with pytest.raises(ValueError, match="CHRGRAPH_LOG_ENCRYPTION_KEY"):
        log_keys.key_ring_path(replace(settings, log_encryption_key="", database_url="postgres://h/db"))
    sqlite = replace(settings, log_encryption_key="", database_url="sqlite:///var/tmp/x/chrgraph.db")
    assert log_keys.key_ring_path(sqlite) == Path("/var/tmp/x/chrgraph-log-encryption.key")


_MIGRATE_TO_0018 = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from chrgraph.db.config import tortoise_config

async def main():
    await migrate(config=tortoise_config(sys.argv[1]), target="chrgraph.0020_api_log_client_request_id")
    await Tortoise.close_connections()

asyncio.run(main())
"""


@pytest.mark.cli
@pytest.mark.skipif(os.environ.get("CHRGRAPH_TEST_DB") == "postgres", reason="the migration is the same SQL on both")
async def test_the_migration_encrypts_rows_written_before_encryption(tmp_path: Path):
    url = f"sqlite://{tmp_path / 'old.db'}"
    env = environment(CHRGRAPH_DATABASE_URL=url, CHRGRAPH_LOG_ENCRYPTION_KEY=str(tmp_path / "log.key"))
    old = await run_process(sys.executable, "-c", _MIGRATE_TO_0018, url, env=env)
    assert old.returncode == 0, old.stderr
    with sqlite3.connect(tmp_path / "old.db") as db:  # a row as the server wrote it before
        db.execute(
            "INSERT INTO organization (id, name, domain, contract, province, time_zone, enterprise_api_enabled,"
            " stripe_connected, portal_enabled, license_enforcement_date, created_at, public_id)"
            " VALUES (1, 'Old', 'old', 'STANDARD', 'ON', 'America/Toronto', 1, 0, 0, '2030-01-01',"
            " '2027-01-01 00:00:00+00:00', ?)",
            ["o" * 26],
        )
        db.execute(
            "INSERT INTO api_consumer (id, name, issuer, active, created_at, organization_id, public_id)"
            " VALUES (1, 'v', 'v', 1, '2027-01-01 00:00:00+00:00', 1, ?)",
            ["c" * 26],
        )
        db.execute(
            "INSERT INTO api_log (organization_id, consumer_id, key_id, request_id, created_at, method,"
            " operation_name, query, variables, status, response_body, duration_ms)"
            " VALUES (1, 1, 'k1', 'legacy', '2027-01-01 00:00:00+00:00', 'POST', 'Chart', ?, ?, 200, ?, 1.0)",
            ["query Chart { patients { lastName } }", '{"who": "Legacyname"}', '{"lastName": "Legacyname"}'],
        )

    migrated = await chrgraph("migrate", env=env)

    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.row_factory = sqlite3.Row
        [row] = db.execute("SELECT * FROM api_log").fetchall()
    assert "Legacyname" not in " ".join(str(v) for v in tuple(row))
    assert {"query", "variables", "response_body"}.isdisjoint(row.keys())
    content = load_key_ring(tmp_path / "log.key").open(row["public_id"], row["content_key"], row["content"])
    assert json.loads(content) == {
        "query": "query Chart { patients { lastName } }",
        "variables": {"who": "Legacyname"},
        "responseBody": '{"lastName": "Legacyname"}',
    }
