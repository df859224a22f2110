"""Event notifications across real server processes (uvicorn, `chrgraph serve`) and the
CLI. The servers run on a database of their own, so the test process's in-process
worker never touches their deliveries; the receiver listens on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.databases import create_database
from tests.helpers import claims, public_pem, rsa_key, sign, unique
from tests.processes import chrgraph, environment, eventually, running_server
from tests.test_webhooks import DELIVERIES, REGISTER, subscribe
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.slow


@dataclass
class Isolated:
    """A database of its own with one organization and one API consumer."""

    env: dict[str, str]
    issuer: str

    def token(self) -> str:
        return sign(claims(self.issuer), rsa_key(0), kid="k1")


@asynccontextmanager
async def isolated() -> AsyncIterator[Isolated]:
    # (PostgreSQL: made and dropped with asyncio.run, so off this event loop.)
    url, drop = await asyncio.to_thread(create_database)
    files = Path(tempfile.mkdtemp(prefix="chrgraph-hooks-"))
    env = {
        "CHRGRAPH_DATABASE_URL": url,
        "CHRGRAPH_AUDIT_SIGNING_KEY": str(files / "audit.key"),
        "CHRGRAPH_AUDIT_ANCHOR_FILE": str(files / "anchors.jsonl"),
        "CHRGRAPH_LOG_ENCRYPTION_KEY": str(files / "log.key"),
        # A claim lapses 2 × timeout + 5 s after it was taken.
        "CHRGRAPH_WEBHOOK_TIMEOUT_SECONDS": "1",
        "CHRGRAPH_WEBHOOK_POLL_SECONDS": "0.2",
    }
    full = environment(**env)
    try:
        assert (await chrgraph("migrate", env=full, time_limit=120)).returncode == 0
        domain = unique("hooks")
        made = await chrgraph(
            "org", "create", "--domain", domain, "--name", "Hooks", "--owner-email", f"o@{domain}.test", env=full
        )
        assert made.returncode == 0, made.stderr
        pem = files / "vendor.pem"
        pem.write_text(public_pem(rsa_key(0)))
        issuer = unique("vendor")
        added = await chrgraph(
            "consumers", "create", "--org", domain, "--name", issuer, "--public-key", str(pem), "--kid", "k1", env=full
        )
        assert added.returncode == 0, added.stderr
        yield Isolated(env, issuer)
    finally:
        await asyncio.to_thread(drop)


class Remote:
    """A vendor calling a server process."""

    def __init__(self, base_url: str, place: Isolated) -> None:
        self.base_url, self.place = base_url, place

    async def gql(self, query: str, variables: dict | None = None) -> dict:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {self.place.token()}"},
            )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


async def _register(vendor: Remote) -> None:
    made = await vendor.gql(
        REGISTER, {"i": {"firstName": "Kim", "lastName": unique("Lee"), "dateOfBirth": "1990-01-02"}}
    )
    assert made["registerPatient"]["errors"] == []


async def _deliveries(vendor: Remote) -> list[dict]:
    data = await vendor.gql(DELIVERIES, {"f": None})
    return [e["node"] for e in data["webhookDeliveries"]["edges"]]


async def test_a_server_killed_between_sending_and_recording_sends_again_with_the_same_id():
    async with isolated() as place:
        with receiver() as inbox:
            inbox.hold = True  # the first request gets no answer until the server is dead
            async with running_server(**place.env) as first:
                vendor = Remote(first.base_url, place)
                await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
                await _register(vendor)
                arrived = await asyncio.to_thread(inbox.arrived.wait, 30)
                assert arrived, "the first server never sent the event"
                first.kill()  # sent, never recorded
            inbox.hold = False
            inbox.release.set()
            async with running_server(**place.env) as second:
                vendor = Remote(second.base_url, place)

                async def delivered() -> bool:
                    return [d["status"] for d in await _deliveries(vendor)] == ["DELIVERED"]

                await eventually(delivered, 60, interval=0.25)
                (shown,) = await _deliveries(vendor)
    ids = inbox.ids()
    assert len(ids) == 2 and ids[0] == ids[1] == shown["messageId"]
    assert shown["attemptCount"] == 2
    assert [a["httpStatus"] for a in shown["attempts"]] == [200]  # the killed attempt left no record


async def test_two_server_processes_never_deliver_one_event_twice():
    async with isolated() as place:
        with receiver() as inbox:
            async with running_server(**place.env) as one, running_server(**place.env) as two:
                vendors = [Remote(one.base_url, place), Remote(two.base_url, place)]
                await subscribe(vendors[0], inbox.url, ["PATIENT_REGISTERED"])
                count = 24
                for i in range(count):
                    await _register(vendors[i % 2])

                async def all_recorded() -> bool:
                    data = await vendors[1].gql(
                        "{ webhookDeliveries(first: 1, filter: {status: DELIVERED}) { totalCount } }"
                    )
                    return data["webhookDeliveries"]["totalCount"] == count

                await eventually(all_recorded, 90, interval=0.5)
    ids = inbox.ids()
    assert len(ids) == count and len(set(ids)) == count


# --- the CLI ----------------------------------------------------------------------------


@pytest.mark.cli
async def test_the_cli_lists_every_consumers_webhooks_and_redelivers(vendor):
    with receiver() as inbox:
        await subscribe(vendor, inbox.url, ["PATIENT_REGISTERED"])
        made = (
            await vendor.gql(
                REGISTER, {"i": {"firstName": "Li", "lastName": unique("Na"), "dateOfBirth": "1970-07-07"}}
            )
        )["registerPatient"]
        assert made["errors"] == []

        async def delivered() -> bool:
            return len(inbox.requests) >= 1

        await eventually(delivered, 30, interval=0.25)
        domain = vendor.organization.domain
        listed = await chrgraph("webhooks", "list", "--org", domain, "--json")
        assert listed.returncode == 0, listed.stderr
        found = json.loads(listed.stdout)
        assert [s["url"] for s in found["subscriptions"]] == [inbox.url]
        (delivery,) = found["deliveries"]
        assert delivery["event"] == "PATIENT_REGISTERED"
        text = await chrgraph("webhooks", "list", "--org", domain)
        assert delivery["id"] in text.stdout

        again = await chrgraph("webhooks", "redeliver", "--org", domain, "--delivery", delivery["id"])
        assert again.returncode == 0, again.stderr

        async def twice() -> bool:
            return len(inbox.requests) >= 2

        await eventually(twice, 30, interval=0.25)
    assert inbox.ids()[0] == inbox.ids()[1] == delivery["messageId"]
    unknown = await chrgraph("webhooks", "redeliver", "--org", domain, "--delivery", "nonsense")
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1
