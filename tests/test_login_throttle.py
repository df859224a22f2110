"""The password throttle (issue 16, point 1): counted per email and client address
before the password is checked, so a burst of guesses gets at most 5 checks and the
right password inside the burst is refused too; an email-wide ceiling that never blocks
a valid reset; passwords re-entered in mutations count in the same counters and the
5th failure revokes the session that sent it. The bursts run in this process and, marked
slow, against real server processes (one and two; PostgreSQL with
CHRGRAPH_TEST_DB=postgres)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chrgraph.auth import throttle
from chrgraph.db.models import AuditEvent, LoginFailure
from chrgraph.http.client import client_address
from chrgraph.settings import SettingError, Settings
from tests.accounts import LOGIN, PASSWORD, login, make_clinic
from tests.processes import running_server

WRONG = "not the password at all"
VIEWER = "{ viewer { kind } }"
REVOKE = """
mutation Revoke($input: RevokePermissionInput!) {
  revokePermission(input: $input) { user { extraPermissions } errors { code field } }
}"""


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


@pytest.fixture
async def elsewhere(app):
    """The same app, reached from another client address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        yield other


def _login_body(email: str, password: str) -> dict:
    return {"query": LOGIN, "variables": {"input": {"email": email, "password": password}}}


async def _burst(post, email: str, wrong: int) -> list[dict]:
    """`wrong` wrong passwords at once, then the right one 50 ms later; every answer."""

    async def right_one_later():
        await asyncio.sleep(0.05)
        return await post(_login_body(email, PASSWORD))

    answers = await asyncio.gather(*(post(_login_body(email, WRONG)) for _ in range(wrong)), right_one_later())
    return [a["data"]["login"] for a in answers]


def _in_process(client: httpx.AsyncClient):
    async def post(body: dict) -> dict:
        response = await client.post("/graphql", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    return post


async def _age(email: str) -> None:
    """Every failure for `email` leaves the 15-minute window."""
    await LoginFailure.filter(email=email).update(at=datetime.now(UTC) - timedelta(minutes=16))


@pytest.mark.parametrize("wrong", [30, 200])
async def test_a_burst_of_guesses_gets_five_checks_and_the_right_password_inside_it_is_refused(client, clinic, wrong):
    member = await clinic.member()
    answers = await _burst(_in_process(client), member.email, wrong)
    assert all(a["token"] is None and a["errors"][0]["code"] == "INVALID_CREDENTIALS" for a in answers)
    assert await LoginFailure.filter(email=member.email).count() == throttle.PER_ADDRESS_LIMIT
    assert (await login(client, member.email))["token"] is None  # still refused afterwards
    await _age(member.email)
    assert (await login(client, member.email))["errors"] == []


async def test_a_right_password_is_no_failure(client, clinic):
    member = await clinic.member()
    for _ in range(3):
        assert (await login(client, member.email, WRONG))["token"] is None
    for _ in range(throttle.PER_ADDRESS_LIMIT):
        assert (await login(client, member.email))["errors"] == []
    assert await LoginFailure.filter(email=member.email).count() == 3


async def test_guesses_from_one_address_do_not_lock_the_user_out_from_another(client, elsewhere, clinic):
    member = await clinic.member()
    for _ in range(throttle.PER_ADDRESS_LIMIT):
        assert (await login(elsewhere, member.email, WRONG))["token"] is None
    assert (await login(elsewhere, member.email))["token"] is None  # that address is throttled
    assert (await login(client, member.email))["errors"] == []  # the user's own is not
    addresses = set(await LoginFailure.filter(email=member.email).values_list("address", flat=True))
    assert addresses == {"198.51.100.7"}


async def test_the_email_wide_ceiling_refuses_logins_from_every_address_but_never_a_reset(client, clinic):
    member = await clinic.member()
    now = datetime.now(UTC)
    # 100 failures from 20 addresses (rows written directly: 100 Argon2 checks would be slow).
    await LoginFailure.bulk_create(
        [
            LoginFailure(email=member.email, address=f"203.0.113.{i % 20}", at=now - timedelta(minutes=1))
            for i in range(throttle.EMAIL_CEILING)
        ]
    )
    refused = await login(client, member.email)
    assert refused["token"] is None and refused["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await LoginFailure.filter(email=member.email).count() == throttle.EMAIL_CEILING  # nothing written
    # A password reset with a valid token reserves without the ceiling (only its address
    # counts), and a successful one clears the counters.
    attempt = await throttle.reserve(member.email, "192.0.2.1", ceiling=False)
    assert attempt is not None and attempt.failures == 1
    await throttle.succeeded(attempt)
    await throttle.clear(member.email)
    assert (await login(client, member.email))["errors"] == []


async def test_the_ceiling_does_not_stop_an_open_session_re_entering_its_password(clinic):
    member = await clinic.member()
    await LoginFailure.bulk_create(
        [LoginFailure(email=member.email, address="203.0.113.9", at=datetime.now(UTC)) for _ in range(100)]
    )
    # The owner's session re-enters the owner's password: the member's counters do not
    # matter; the owner's own ceiling does not apply to re-entry either.
    owner_email = clinic.owner.email
    await LoginFailure.bulk_create(
        [LoginFailure(email=owner_email, address="203.0.113.9", at=datetime.now(UTC)) for _ in range(100)]
    )
    answer = await clinic.owner.gql(
        REVOKE, {"input": {"userId": member.user_id, "permission": "VIEW_USERS", "password": PASSWORD}}
    )
    assert answer["revokePermission"]["errors"] == []


async def _revoke(session, user_id: str, password: str) -> httpx.Response:
    return await session.post(REVOKE, {"input": {"userId": user_id, "permission": "VIEW_USERS", "password": password}})


async def test_wrong_passwords_re_entered_count_and_the_fifth_revokes_the_session(client, clinic):
    member = await clinic.member()
    owner = clinic.owner
    for _ in range(throttle.PER_ADDRESS_LIMIT - 1):
        answer = (await _revoke(owner, member.user_id, WRONG)).json()["data"]["revokePermission"]
        assert answer["errors"] == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
        assert (await owner.post(VIEWER)).status_code == 200  # 4 failures: still open
    assert await LoginFailure.filter(email=owner.email).count() == 4
    fifth = (await _revoke(owner, member.user_id, WRONG)).json()["data"]["revokePermission"]
    assert fifth["errors"] == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
    refused = await owner.post(VIEWER)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"
    events = await AuditEvent.filter(organization_id=clinic.organization.id, action="SESSION_REVOKED")
    assert len(events) == 1
    # The session is named as logins and logouts name it, never by its database key.
    login_event = (
        await AuditEvent.filter(
            organization_id=clinic.organization.id, action="USER_LOGGED_IN", target_id=events[0].target_id
        )
        .order_by("-seq")
        .first()
    )
    assert login_event is not None
    assert events[0].changes == {"session": login_event.changes["session"], "reason": "PASSWORD_FAILURES"}
    # The same counters: a login from that address is refused now, even with the right password.
    assert (await login(client, owner.email))["token"] is None


async def test_a_burst_of_re_entered_passwords_gets_five_checks_and_ends_the_session(clinic):
    member = await clinic.member()
    owner = clinic.owner

    async def right_one_later():
        await asyncio.sleep(0.05)
        return await _revoke(owner, member.user_id, PASSWORD)

    answers = await asyncio.gather(*(_revoke(owner, member.user_id, WRONG) for _ in range(30)), right_one_later())
    for response in answers:
        if response.status_code == 200:  # sent before the session ended
            errors = response.json()["data"]["revokePermission"]["errors"]
            assert errors == [{"code": "PASSWORD_INVALID", "field": ["password"]}]
        else:
            assert response.status_code == 401
    assert await LoginFailure.filter(email=owner.email).count() == throttle.PER_ADDRESS_LIMIT
    assert (await owner.post(VIEWER)).status_code == 401


def _scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}


def test_the_client_address_is_the_peer_unless_the_peer_is_a_trusted_proxy():
    assert client_address(_scope("192.0.2.5", "10.9.9.9")) == "192.0.2.5"  # no proxy trusted
    assert client_address(_scope("192.0.2.5", "10.9.9.9"), "127.0.0.1") == "192.0.2.5"  # peer not trusted
    trusted = "127.0.0.1, 10.0.0.0/8"
    # From the right, the first hop that is not a trusted proxy; what the client wrote
    # left of it is never believed.
    assert client_address(_scope("127.0.0.1", "1.2.3.4, 198.51.100.9, 10.0.0.2"), trusted) == "198.51.100.9"
    assert client_address(_scope("127.0.0.1", "1.2.3.4", "198.51.100.9"), trusted) == "198.51.100.9"
    assert client_address(_scope("127.0.0.1"), trusted) == "127.0.0.1"
    assert client_address(_scope("127.0.0.1", "10.0.0.3, 10.0.0.2"), trusted) == "10.0.0.3"
    assert client_address(_scope("127.0.0.1", "garbage, 10.0.0.2"), trusted) == "10.0.0.2"
    # An IPv6 host counts as its /64; a mapped IPv4 address as that address.
    assert client_address(_scope("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64"
    assert client_address(_scope("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64"
    assert client_address(_scope("::ffff:192.0.2.8")) == "192.0.2.8"
    assert client_address({"headers": []}) == "unknown"


def test_trusted_proxies_must_be_addresses_or_networks():
    assert Settings.from_env({"CHRGRAPH_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"}).trusted_proxies
    with pytest.raises(SettingError, match="CHRGRAPH_TRUSTED_PROXIES"):
        Settings.from_env({"CHRGRAPH_TRUSTED_PROXIES": "proxy.example"})


# Real server processes: the attempts are spread over them (each its own event loop,
# Argon2 threads and database connection).


def _server_post(http: httpx.AsyncClient, base_urls: list[str], headers: dict[str, str] | None = None):
    turn = iter(range(10**6))

    async def post(body: dict) -> dict:
        url = base_urls[next(turn) % len(base_urls)] + "/graphql"
        response = await http.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    return post


@pytest.mark.slow
@pytest.mark.parametrize(("servers", "wrong"), [(1, 30), (1, 200), (2, 30), (2, 200)])
async def test_a_burst_against_server_processes_is_refused_with_the_right_password_inside(
    client, clinic, servers, wrong
):
    member = await clinic.member()
    limits = httpx.Limits(max_connections=wrong + 10, max_keepalive_connections=wrong + 10)
    async with running_server() as a, running_server() as b, httpx.AsyncClient(timeout=60, limits=limits) as http:
        post = _server_post(http, [a.base_url, b.base_url][:servers])
        answers = await _burst(post, member.email, wrong)
        assert all(x["token"] is None and x["errors"][0]["code"] == "INVALID_CREDENTIALS" for x in answers)
        assert await LoginFailure.filter(email=member.email).count() == throttle.PER_ADDRESS_LIMIT
        await _age(member.email)
        assert (await post(_login_body(member.email, PASSWORD)))["data"]["login"]["errors"] == []


@pytest.mark.slow
async def test_behind_a_trusted_proxy_each_forwarded_client_counts_apart(client, clinic):
    member = await clinic.member()
    async with (
        running_server(CHRGRAPH_TRUSTED_PROXIES="127.0.0.1") as behind,
        running_server() as direct,
        httpx.AsyncClient(timeout=60) as http,
    ):
        attacker = _server_post(http, [behind.base_url], {"X-Forwarded-For": "203.0.113.50"})
        user = _server_post(http, [behind.base_url], {"X-Forwarded-For": "198.51.100.20"})
        for _ in range(throttle.PER_ADDRESS_LIMIT):
            assert (await attacker(_login_body(member.email, WRONG)))["data"]["login"]["token"] is None
        assert (await attacker(_login_body(member.email, PASSWORD)))["data"]["login"]["token"] is None
        assert (await user(_login_body(member.email, PASSWORD)))["data"]["login"]["errors"] == []
        # Without the setting the header is the client's own word: ignored (the peer counts).
        await _age(member.email)
        spoofing = [_server_post(http, [direct.base_url], {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(10)]
        for post in spoofing[: throttle.PER_ADDRESS_LIMIT]:
            assert (await post(_login_body(member.email, WRONG)))["data"]["login"]["token"] is None
        assert (await spoofing[-1](_login_body(member.email, PASSWORD)))["data"]["login"]["token"] is None
        addresses = await LoginFailure.filter(email=member.email, at__gte=datetime.now(UTC) - timedelta(minutes=5))
        assert {row.address for row in addresses} == {"127.0.0.1"}
