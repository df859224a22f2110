"""Cost budgets and client disconnects with real server processes (issue 13, point 2):
a consumer's budget is one across processes when they share Redis, one per process
otherwise; a query whose client went away stops working; a mutation runs to its end."""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import urlsplit

import httpx
import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import ApiLog, Role, User
from chrgraph.db.models.enums import License, UserType
from chrgraph.resolvers.consumers.manage import set_api_consumer_cost_budget
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.profile import Profile
from tests.helpers import Vendor
from tests.processes import Server, eventually, running_server

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
VIEWER = "query Who { viewer { organization { id } } }"  # costs 2
# The query: 4 × members³ objects here, seconds of work for the server.
NESTED_MEMBERS = (
    "query Nested { users(first: 100) { edges { node { roles { members { roles { members { email } } } } } } } }"
)
INVITE = """mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id } errors { code } } }"""


async def _budget(vendor: Vendor, cost_per_minute: int) -> None:
    await set_api_consumer_cost_budget(
        support_cli_actor(vendor.organization.id), vendor.consumer.issuer, cost_per_minute
    )


async def _viewer(http: httpx.AsyncClient, server: Server, vendor: Vendor) -> httpx.Response:
    return await http.post(
        server.base_url + "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {vendor.token()}"},
    )


async def test_two_server_processes_share_a_consumers_budget_through_redis(vendor):
    await _budget(vendor, 10)
    async with (
        running_server(CHRGRAPH_REDIS_URL=REDIS_URL) as a,
        running_server(CHRGRAPH_REDIS_URL=REDIS_URL) as b,
        httpx.AsyncClient(timeout=30) as http,
    ):
        spent = [await _viewer(http, a, vendor) for _ in range(3)] + [await _viewer(http, b, vendor) for _ in range(2)]
        assert [r.status_code for r in spent] == [200] * 5, [r.text for r in spent]
        assert [r.json()["extensions"]["cost"]["remaining"] for r in spent] == [8, 6, 4, 2, 0]
        for server in (a, b):
            refused = await _viewer(http, server, vendor)
            assert refused.status_code == 429, refused.text
            assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert int(refused.headers["retry-after"]) >= 1


async def test_without_redis_each_server_process_keeps_its_own_budget(vendor):
    await _budget(vendor, 10)
    async with running_server() as a, running_server() as b, httpx.AsyncClient(timeout=30) as http:
        assert [(await _viewer(http, a, vendor)).status_code for _ in range(5)] == [200] * 5
        assert (await _viewer(http, a, vendor)).status_code == 429
        assert (await _viewer(http, b, vendor)).status_code == 200


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _send_and_leave(server: Server, body: bytes, token: str, after: float) -> None:
    """An HTTP request whose client closes the connection `after` seconds later."""
    address = urlsplit(server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await asyncio.sleep(after)
    writer.close()
    await writer.wait_closed()


async def _clinic_of_members(vendor: Vendor, count: int) -> None:
    """`count` invited users, each holding the same two roles."""
    roles = [r.id for r in await Role.filter(organization_id=vendor.organization.id).order_by("id").limit(2)]
    actor = support_cli_actor(vendor.organization.id)
    for i in range(count):
        await invite_user(
            actor,
            f"member{i}@{vendor.organization.domain}.test",
            Profile(type=UserType.STAFF, license=License.STAFF, first_name="Many", last_name=f"Member{i}"),
            roles,
        )


async def test_a_query_whose_client_went_away_stops_and_a_mutation_runs_to_its_end(vendor):
    await _clinic_of_members(vendor, 50)
    await _budget(vendor, 1_000_000_000)
    body = json.dumps({"query": NESTED_MEMBERS}).encode()
    # This server lets the query through, to have seconds of work to stop.
    async with running_server(CHRGRAPH_MAX_NODES=str(10**9)) as server, httpx.AsyncClient(timeout=120) as http:
        started = _cpu_seconds(server.process.pid)
        served = await http.post(
            server.base_url + "/graphql",
            content=body,
            headers={"Authorization": f"Bearer {vendor.token()}", "Content-Type": "application/json"},
        )
        assert served.status_code == 200, served.text[:300]
        whole = _cpu_seconds(server.process.pid) - started
        assert whole > 1.0, f"the query took only {whole:.2f} s of CPU: nothing to stop"

        before = _cpu_seconds(server.process.pid)
        await _send_and_leave(server, body, vendor.token(), after=0.2)
        try:
            await eventually(lambda: _logged(server, "query stopped: the client went away"), time_limit=whole + 5)
        except AssertionError as exc:
            raise AssertionError(f"no stop logged; the server said:\n{server.output()[-3000:]}") from exc
        spent = _cpu_seconds(server.process.pid) - before
        assert spent < whole / 2, f"{spent:.2f} s of CPU after the client left (the whole query: {whole:.2f} s)"
        idle = _cpu_seconds(server.process.pid)
        await asyncio.sleep(1)
        assert _cpu_seconds(server.process.pid) - idle < 0.3, "the server kept working"

        email = f"left-early@{vendor.organization.domain}.test"
        invite = {
            "query": INVITE,
            "variables": {
                "input": {"email": email, "type": "STAFF", "license": "STAFF", "firstName": "A", "lastName": "B"}
            },
        }
        await _send_and_leave(server, json.dumps(invite).encode(), vendor.token(), after=0)

        async def invited() -> bool:
            return await User.filter(email=email).exists()

        await eventually(invited, time_limit=15)

        async def logged() -> bool:
            return await ApiLog.filter(consumer_id=vendor.consumer.id, operation_name="Invite", status=200).exists()

        await eventually(logged, time_limit=15)


async def _logged(server: Server, text: str) -> bool:
    return text in server.output()
