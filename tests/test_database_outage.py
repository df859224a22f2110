"""A real database outage: PostgreSQL is stopped and started again three times while
eight API consumers register patients at a real server process. Afterwards:
- every patient in the database was answered 200 with its data, and every 200 answer's
  patient is in the database (no committed write answered otherwise, none lost);
- no 500 at all, no transport error: during the outage the answer is 503
  `SERVICE_UNAVAILABLE` with `Retry-After`;
- after PostgreSQL is back, the same server (no restart) answers a fresh query 200 for
  every consumer;
- every 200 answer has its API-log row, unless the server raised the alarm for it.

The test runs its own throwaway PostgreSQL cluster (initdb into a temporary folder, a
free port, trust authentication): the shared test server is never restarted. As root
the cluster runs as the `postgres` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import pwd
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.helpers import claims, public_pem, rsa_key, sign
from tests.processes import free_port, run_process, running_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CONSUMERS = 8
OUTAGES = 3
RUN_BEFORE_OUTAGE = 2.0  # seconds of load before each stop
DOWN_FOR = 1.5  # seconds PostgreSQL stays stopped
REQUEST_TIME_LIMIT = 20.0

REGISTER = """
mutation Register($input: RegisterPatientInput!) {
  registerPatient(input: $input) { patient { id lastName } errors { code field } }
}"""
LOOK = "query Look { patients(first: 1) { totalCount } }"

SETUP = """
import asyncio, json, sys
from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.config import close_db, init_db
from chrgraph.resolvers.consumers.manage import create_api_consumer
from chrgraph.resolvers.organizations.create_organization import create_organization

async def main():
    pems = json.load(sys.stdin)
    await init_db()
    created = await create_organization(domain="outage", name="Outage clinic")
    org = created.organization
    issuers = []
    for n, pem in enumerate(pems):
        consumer = await create_api_consumer(
            support_cli_actor(org.id), name=f"vendor-{n}", public_key=pem, kid="k1"
        )
        issuers.append(consumer.issuer)
    await close_db()
    print(json.dumps({"organization": org.id, "issuers": issuers}))

asyncio.run(main())
"""


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    """A throwaway PostgreSQL server: its own data folder, socket folder and port."""

    bin: Path
    folder: Path
    port: int
    run_as: list[str]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    async def ctl(self, *args: str) -> None:
        done = await run_process(
            *self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args, time_limit=60, cwd=self.folder
        )
        assert done.returncode == 0, f"pg_ctl {args}: {done.stdout}{done.stderr}"

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
        await self.ctl("-o", options, "-l", str(self.folder / "postgres.log"), "-w", "-t", "30", "start")

    async def stop(self) -> None:
        await self.ctl("-m", "fast", "-w", "-t", "30", "stop")


@contextlib.asynccontextmanager
async def throwaway_cluster() -> AsyncIterator[Cluster]:
    binaries = _binaries()
    if binaries is None or not (binaries / "pg_ctl").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="chrgraph-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without `runuser`")
        run_as = [runuser, "-u", "postgres", "--"]
        os.chown(folder, user.pw_uid, user.pw_gid)
    cluster = Cluster(binaries, folder, free_port(), run_as)
    try:
        made = await run_process(
            *run_as,
            str(binaries / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            time_limit=60,
            cwd=folder,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        await cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            await cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Tally:
    answers: list[tuple[int, str]] = field(default_factory=list)  # (status, what)
    registered: dict[str, str] = field(default_factory=dict)  # patient public id -> request id
    unavailable: int = 0
    committed_without_data: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


def public_id(global_id: str) -> str:
    type_name, _, key = base64.b64decode(global_id).decode().partition(":")
    assert type_name == "Patient"
    return key


async def consumer_load(client: httpx.AsyncClient, token: str, name: str, tally: Tally, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        variables = {"input": {"firstName": "Load", "lastName": f"{name}-{n}", "dateOfBirth": "1980-02-03"}}
        response = await client.post(
            "/graphql",
            json={"query": REGISTER, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIME_LIMIT,
        )
        status = response.status_code
        tally.answers.append((status, response.text[:300]))
        if status == 200:
            body = response.json()
            payload = (body.get("data") or {}).get("registerPatient")
            if payload is None or payload["patient"] is None:
                tally.committed_without_data.append(response.text[:300])
                continue
            tally.registered[public_id(payload["patient"]["id"])] = response.headers["x-request-id"]
        elif status == 503:
            tally.unavailable += 1
            error = response.json()["errors"][0]
            if error["extensions"]["code"] != "SERVICE_UNAVAILABLE" or not response.headers.get("retry-after"):
                tally.wrong.append(f"503 without its code or Retry-After: {response.headers} {response.text}")
            await asyncio.sleep(0.05)
        else:
            tally.wrong.append(f"{status}: {response.text[:300]}")
            await asyncio.sleep(0.05)


async def test_postgresql_restarts_are_answered_503_and_every_committed_write_200():
    started = time.monotonic()
    keys = [rsa_key(n) for n in range(CONSUMERS)]
    async with throwaway_cluster() as cluster:
        admin = await asyncpg.connect(cluster.url("postgres"))
        try:
            await admin.execute("CREATE DATABASE chrgraph")
        finally:
            await admin.close()
        url = cluster.url("chrgraph")
        env = {
            "CHRGRAPH_DATABASE_URL": url,
            "CHRGRAPH_AUDIT_SIGNING_KEY": str(cluster.folder / "audit.key"),
            "CHRGRAPH_AUDIT_ANCHOR_FILE": str(cluster.folder / "audit-anchors.jsonl"),
        }
        setup = await run_process(
            sys.executable,
            "-c",
            SETUP,
            env={**os.environ, **env},
            stdin=json.dumps([public_pem(k) for k in keys]).encode(),
            time_limit=90,
        )
        assert setup.returncode == 0, setup.stderr
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        tokens = [sign(claims(issuer, ttl=600), key) for issuer, key in zip(made["issuers"], keys, strict=True)]

        async with running_server(**env) as server:
            tally = Tally()
            stop = asyncio.Event()
            limits = httpx.Limits(max_connections=CONSUMERS * 2)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as client:
                load = [
                    asyncio.create_task(consumer_load(client, token, f"c{n}", tally, stop))
                    for n, token in enumerate(tokens)
                ]
                try:
                    for _ in range(OUTAGES):
                        await asyncio.sleep(RUN_BEFORE_OUTAGE)
                        await cluster.stop()
                        await asyncio.sleep(DOWN_FOR)
                        await cluster.start()
                    await asyncio.sleep(RUN_BEFORE_OUTAGE)
                finally:
                    stop.set()
                    await asyncio.gather(*load)

                # The same server process, without a restart: a fresh query answers 200.
                for token in tokens:
                    fresh = await client.post(
                        "/graphql", json={"query": LOOK}, headers={"Authorization": f"Bearer {token}"}, timeout=10
                    )
                    assert fresh.status_code == 200, fresh.text
                    assert "errors" not in fresh.json(), fresh.text
            output = server.output()

        conn = await asyncpg.connect(url)
        try:
            stored = {row["public_id"] for row in await conn.fetch("SELECT public_id FROM patient")}
            answered = await conn.fetch("SELECT request_id FROM api_log WHERE status = 200")
            logged = {row["request_id"] for row in answered}
        finally:
            await conn.close()

    statuses = [status for status, _ in tally.answers]
    assert tally.wrong == [], tally.wrong[:5]
    assert 500 not in statuses
    assert tally.committed_without_data == [], tally.committed_without_data[:5]
    assert tally.unavailable > 0, "the outages were never seen: nothing was answered 503"
    assert statuses.count(200) > 50
    # Every committed write was answered 200 with its data, and every such answer's write
    # was committed.
    assert stored == set(tally.registered), (len(stored), len(tally.registered))
    # Every 200 answer has its API-log row, unless its loss raised the alarm.
    missing = {rid for rid in tally.registered.values() if rid not in logged}
    alarmed = {rid for rid in missing if f"request_id={rid}" in output and "ALARM" in output}
    assert missing == alarmed, sorted(missing - alarmed)[:5]
    assert time.monotonic() - started < 90
