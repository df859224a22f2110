"""One's own account over GraphQL: updateMyProfile, mySessions (with the login's user
agent, cleaned, and the last use written at most once a minute: a request costs no
write), revokeMySession (one's own only); the organization's security policy
(updateSecurityPolicy by the owner or support, audited, bounded; securityPolicy readable)
and its idle timeout (a session unused that long is refused from its next request); and
the break-glass `chrgraph org transfer-ownership`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from chrgraph import clock
from chrgraph.auth import epoch
from chrgraph.db import hooks
from chrgraph.db.models import AuditEvent, Organization, Session, User
from tests.accounts import LOGIN, PASSWORD, make_clinic, session_for
from tests.accounts import Session as Caller

PING = "{ viewer { kind } }"
PROFILE = """
mutation Profile($input: UpdateMyProfileInput!) {
  updateMyProfile(input: $input) { user { firstName lastName title position } errors { code field } }
}"""
SESSIONS = "{ mySessions { id createdAt lastUsedAt userAgent expiresAt current } }"
REVOKE = """
mutation Revoke($input: RevokeMySessionInput!) {
  revokeMySession(input: $input) { revokedSessionId errors { code field } }
}"""
POLICY = """
mutation Policy($input: UpdateSecurityPolicyInput!) {
  updateSecurityPolicy(input: $input) {
    organization { securityPolicy { requireTwoFactor sessionIdleTimeoutMinutes } }
    errors { code field }
  }
}"""
READ_POLICY = "{ viewer { organization { securityPolicy { requireTwoFactor sessionIdleTimeoutMinutes } } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


@pytest.fixture
def clock_at() -> AsyncIterator[Callable[[datetime], None]]:
    """Move the server's "now" (this process) to an instant; back to the system clock after."""

    def move(instant: datetime) -> None:
        clock.set_source(lambda: instant)

    yield move  # type: ignore[misc]
    clock.set_source(None)


async def login_with_agent(client, email: str, agent: bytes) -> Caller:
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": PASSWORD}}},
        headers={"User-Agent": agent},
    )
    result = response.json()["data"]["login"]
    assert result["errors"] == []
    return Caller(client, result["token"], result["user"]["id"], email)


# --- updateMyProfile --------------------------------------------------------------------


async def test_a_user_changes_its_own_name_title_and_position(clinic):
    member = await clinic.member()  # no permission at all
    answer = (await member.gql(PROFILE, {"input": {"firstName": " Robin ", "title": "Dr", "position": "Front desk"}}))[
        "updateMyProfile"
    ]
    assert answer == {
        "user": {"firstName": "Robin", "lastName": "Member", "title": "Dr", "position": "Front desk"},
        "errors": [],
    }
    cleared = (await member.gql(PROFILE, {"input": {"title": None}}))["updateMyProfile"]["user"]
    assert cleared["title"] is None and cleared["position"] == "Front desk"
    event = await AuditEvent.filter(action="PROFILE_UPDATED").order_by("-id").first()
    assert event is not None and event.organization_id == clinic.organization.id


async def test_names_cannot_be_cleared_and_bad_text_changes_nothing(clinic):
    member = await clinic.member()
    answer = await member.gql(PROFILE, {"input": {"firstName": None, "lastName": "x" * 101, "title": "ok"}})
    errors = answer["updateMyProfile"]["errors"]
    assert {tuple(e["field"]) for e in errors} == {("firstName",), ("lastName",)}
    assert (await User.get(email=member.email)).title is None


async def test_support_updates_its_own_profile_and_a_consumer_cannot(clinic):
    answer = await clinic.support.gql(PROFILE, {"input": {"position": "Vendor support"}})
    assert answer["updateMyProfile"]["errors"] == []
    body = (await clinic.vendor.post(PROFILE, {"input": {"position": "x"}})).json()
    assert body["data"]["updateMyProfile"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- mySessions and revokeMySession -----------------------------------------------------


async def test_my_sessions_lists_open_sessions_with_their_cleaned_user_agent(clinic):
    agent = b"Mozilla/5.0 (X11)\x1b[31m\x7f\x85" + b"y" * 600  # ESC, DEL and a C1 control
    laptop = await login_with_agent(clinic.client, clinic.owner.email, agent)
    sessions = (await laptop.gql(SESSIONS))["mySessions"]
    assert len(sessions) == 2  # the fixture's login and this one
    mine = [s for s in sessions if s["current"]]
    assert len(mine) == 1
    assert mine[0]["userAgent"] == ("Mozilla/5.0 (X11)[31m" + "y" * 600)[:512]
    assert mine[0]["lastUsedAt"] is not None and mine[0]["createdAt"] <= mine[0]["lastUsedAt"]
    other = next(s for s in sessions if not s["current"])
    assert (await clinic.owner.gql(SESSIONS))["mySessions"][0]["id"] in {other["id"], mine[0]["id"]}


async def test_revoking_an_own_session_ends_it_at_its_next_request(clinic):
    phone = await session_for(clinic.client, clinic.owner.email)
    phone_id = next(s["id"] for s in (await phone.gql(SESSIONS))["mySessions"] if s["current"])
    answer = (await clinic.owner.gql(REVOKE, {"input": {"sessionId": phone_id}}))["revokeMySession"]
    assert answer == {"revokedSessionId": phone_id, "errors": []}
    assert (await phone.post(PING)).status_code == 401
    assert (await clinic.owner.post(PING)).status_code == 200
    again = (await clinic.owner.gql(REVOKE, {"input": {"sessionId": phone_id}}))["revokeMySession"]
    assert again["errors"] == [{"code": "NOT_FOUND", "field": ["sessionId"]}]
    event = await AuditEvent.filter(action="SESSION_REVOKED").order_by("-id").first()
    assert event is not None and "REVOKED_BY_USER" in str(event.changes)


async def test_another_users_session_is_not_found(clinic):
    member = await clinic.member()
    member_session = (await member.gql(SESSIONS))["mySessions"][0]["id"]
    answer = (await clinic.owner.gql(REVOKE, {"input": {"sessionId": member_session}}))["revokeMySession"]
    assert answer["errors"] == [{"code": "NOT_FOUND", "field": ["sessionId"]}]
    assert (await member.post(PING)).status_code == 200


async def test_a_request_costs_no_write_and_the_last_use_is_written_once_a_minute(clinic, clock_at):
    member = await clinic.member()
    start = datetime.now(UTC)
    clock_at(start)
    epoch.clear_local()

    async def statements() -> list[str]:
        counter = hooks.count_statements()
        try:
            assert (await member.post(PING)).status_code == 200
        finally:
            hooks.stop_counting(counter)
        return [s for s in counter.statements if "auth_epoch" not in s]

    await statements()  # warms the caches
    assert not [s for s in await statements() if '"session"' in s.lower()]
    clock_at(start + timedelta(seconds=30))
    assert not [s for s in await statements() if '"session"' in s.lower()]
    clock_at(start + timedelta(seconds=61))
    writes = [s for s in await statements() if s.lstrip().upper().startswith("UPDATE") and '"session"' in s.lower()]
    assert len(writes) == 1
    stored = await Session.filter(user__email=member.email).order_by("-id").first()
    assert stored.last_used_at == start + timedelta(seconds=61)
    clock_at(start + timedelta(seconds=90))
    assert not [s for s in await statements() if '"session"' in s.lower()]


# --- the security policy ----------------------------------------------------------------


async def test_the_owner_and_support_set_the_policy_and_everyone_reads_it(clinic):
    answer = (await clinic.owner.gql(POLICY, {"input": {"sessionIdleTimeoutMinutes": 30}}))["updateSecurityPolicy"]
    assert answer["errors"] == []
    assert answer["organization"]["securityPolicy"] == {"requireTwoFactor": False, "sessionIdleTimeoutMinutes": 30}
    answer = (await clinic.support.gql(POLICY, {"input": {"requireTwoFactor": True}}))["updateSecurityPolicy"]
    assert answer["organization"]["securityPolicy"] == {"requireTwoFactor": True, "sessionIdleTimeoutMinutes": 30}
    member = await clinic.member()
    policy = (await member.gql(READ_POLICY))["viewer"]["organization"]["securityPolicy"]
    assert policy == {"requireTwoFactor": True, "sessionIdleTimeoutMinutes": 30}
    events = await AuditEvent.filter(action="SECURITY_POLICY_UPDATED", organization_id=clinic.organization.id)
    assert len(events) == 2


async def test_only_the_owner_or_support_change_the_policy(clinic):
    admin = await clinic.member(permissions_of=["Administrator"]) if "Administrator" in clinic.roles else None
    for caller in [c for c in (await clinic.member(), admin) if c is not None]:
        body = (await caller.post(POLICY, {"input": {"requireTwoFactor": True}})).json()
        assert body["data"]["updateSecurityPolicy"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = (await clinic.vendor.post(POLICY, {"input": {"requireTwoFactor": True}})).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not (await Organization.get(id=clinic.organization.id)).require_two_factor


@pytest.mark.parametrize("minutes", [0, 4, 1441, -5])
async def test_the_idle_timeout_is_bounded(clinic, minutes):
    answer = await clinic.owner.gql(POLICY, {"input": {"sessionIdleTimeoutMinutes": minutes}})
    assert answer["updateSecurityPolicy"]["errors"] == [
        {"code": "INVALID_INPUT", "field": ["sessionIdleTimeoutMinutes"]}
    ]
    assert (await Organization.get(id=clinic.organization.id)).session_idle_timeout_minutes is None


async def test_a_session_unused_for_the_idle_timeout_is_refused_from_its_next_request(clinic, clock_at):
    assert (await clinic.owner.gql(POLICY, {"input": {"sessionIdleTimeoutMinutes": 15}}))["updateSecurityPolicy"][
        "errors"
    ] == []
    desk = await clinic.member()
    busy = await clinic.member()
    start = datetime.now(UTC)
    clock_at(start)
    assert (await desk.post(PING)).status_code == 200
    assert (await busy.post(PING)).status_code == 200
    clock_at(start + timedelta(minutes=10))
    assert (await busy.post(PING)).status_code == 200  # used: its idle time starts again
    clock_at(start + timedelta(minutes=15))
    assert (await desk.post(PING)).status_code == 401
    assert (await desk.post(PING)).json()["errors"][0]["extensions"]["reason"] == "INVALID_SESSION"
    assert (await busy.post(PING)).status_code == 200
    # Another process: its cache is gone, the stored last use decides.
    epoch.clear_local()
    clock_at(start + timedelta(minutes=24))
    assert (await busy.post(PING)).status_code == 200
    clock_at(start + timedelta(minutes=40))
    assert (await busy.post(PING)).status_code == 401


async def test_without_an_idle_timeout_sessions_last_until_they_expire(clinic, clock_at):
    desk = await clinic.member()
    clock_at(datetime.now(UTC) + timedelta(hours=11))
    assert (await desk.post(PING)).status_code == 200


# --- chrgraph org transfer-ownership ----------------------------------------------------


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "chrgraph.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


async def test_the_cli_transfers_ownership_with_a_reason_recorded(clinic, database_url):
    member = await clinic.member()
    missing = cli(database_url, "org", "transfer-ownership", "--org", clinic.domain, "--to", member.email)
    assert missing.returncode == 2 and "reason" in missing.stderr.lower() and "Traceback" not in missing.stderr
    unknown = cli(
        database_url, "org", "transfer-ownership", "--org", clinic.domain, "--to", "nobody@x.test", "--reason", "T-1"
    )
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr and "Traceback" not in unknown.stderr
    blank = cli(
        database_url, "org", "transfer-ownership", "--org", clinic.domain, "--to", member.email, "--reason", " "
    )
    assert blank.returncode == 1 and "Traceback" not in blank.stderr

    done = cli(
        database_url,
        "org",
        "transfer-ownership",
        "--org",
        clinic.domain,
        "--to",
        member.email,
        "--reason",
        "Owner left the clinic, ticket T-42",
    )
    assert done.returncode == 0, done.stderr
    user = await User.get(email=member.email)
    assert (await Organization.get(id=clinic.organization.id)).owner_user_id == user.id
    event = await AuditEvent.filter(action="OWNERSHIP_TRANSFERRED", organization_id=clinic.organization.id).first()
    assert event is not None and "ticket T-42" in str(event.changes)
    # The old owner's session lost the owner's rights at its next request.
    assert (await clinic.owner.post(POLICY, {"input": {"requireTwoFactor": True}})).json()["errors"]
