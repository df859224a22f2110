"""The TOTP second factor, over GraphQL with real codes (pyotp): enrolment with ten
recovery codes, the two-step login (a challenge, then a code), no replay of a code, 5
wrong codes void a challenge and count in the login throttle, a stolen challenge alone
never gives a session, removal by the user and by an administrator, and an organization
that requires a second factor (a session that may only enrol until it does).

Codes depend on the time: the tests move the server's clock (chrgraph.clock) by whole
30-second steps instead of waiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest

from chrgraph import clock
from chrgraph.auth import throttle
from chrgraph.db.models import AuditEvent, LoginFailure, Organization, RecoveryCode, SecondFactorChallenge, TwoFactor
from tests.accounts import PASSWORD, Session, login, make_clinic
from tests.helpers import key_of

START = """
mutation Start {
  startTwoFactorEnrollment { secret otpauthUri qrCodeSvg errors { code message field } }
}"""
CONFIRM = """
mutation Confirm($input: ConfirmTwoFactorEnrollmentInput!) {
  confirmTwoFactorEnrollment(input: $input) { recoveryCodes user { id twoFactorEnabled } errors { code message field } }
}"""
VERIFY = """
mutation Verify($input: VerifySecondFactorInput!) {
  verifySecondFactor(input: $input) { token expiresAt user { id email } errors { code message field } }
}"""
LOGIN_2FA = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    token user { id } secondFactorRequired challengeToken challengeExpiresAt errors { code message field }
  }
}"""
DISABLE = """
mutation Disable($input: DisableTwoFactorInput!) {
  disableTwoFactor(input: $input) { user { twoFactorEnabled } errors { code message field } }
}"""
RESET = """
mutation Reset($input: ResetSecondFactorInput!) {
  resetSecondFactor(input: $input) { user { id twoFactorEnabled } errors { code message field } }
}"""
VIEWER = "{ viewer { kind user { id email twoFactorEnabled } } }"
USERS = "{ users(first: 50) { edges { node { email twoFactorEnabled } } } }"
LOGOUT = "mutation { logout { errors { code } } }"


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


class Clock:
    """The server's clock, moved by whole steps (codes of a step are accepted once)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        clock.set_source(lambda: datetime.now(UTC) + self.offset)

    def next_step(self) -> None:
        self.offset += timedelta(seconds=30)

    def code(self, secret: str, steps_back: int = 0) -> str:
        return pyotp.TOTP(secret).at(clock.now() - timedelta(seconds=30 * steps_back))


@pytest.fixture
def moved_clock():
    yield Clock()
    clock.set_source(None)


async def enrol(session: Session, moved_clock: Clock) -> tuple[str, list[str]]:
    """Enrol `session`'s user; its secret and recovery codes. The clock moves on a step."""
    started = (await session.gql(START))["startTwoFactorEnrollment"]
    assert started["errors"] == []
    confirmed = (await session.gql(CONFIRM, {"input": {"code": moved_clock.code(started["secret"])}}))[
        "confirmTwoFactorEnrollment"
    ]
    assert confirmed["errors"] == [] and confirmed["user"]["twoFactorEnabled"] is True
    moved_clock.next_step()
    return started["secret"], confirmed["recoveryCodes"]


async def password_step(client, email: str, password: str = PASSWORD) -> dict:
    response = await client.post(
        "/graphql", json={"query": LOGIN_2FA, "variables": {"input": {"email": email, "password": password}}}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]


async def verify(client, challenge: str, code: str) -> dict:
    response = await client.post(
        "/graphql", json={"query": VERIFY, "variables": {"input": {"challengeToken": challenge, "code": code}}}
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]["verifySecondFactor"]


async def test_enrolment_gives_a_secret_its_uri_and_qr_code_and_a_code_turns_it_on(clinic, moved_clock):
    member = await clinic.member()
    started = (await member.gql(START))["startTwoFactorEnrollment"]
    uri = urlparse(started["otpauthUri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == f"/{clinic.organization.name}:{member.email}"
    query = parse_qs(uri.query)
    assert query["secret"] == [started["secret"]] and query["issuer"] == [clinic.organization.name]
    assert pyotp.parse_uri(started["otpauthUri"]).now() == pyotp.TOTP(started["secret"]).now()
    assert started["qrCodeSvg"].startswith("<svg") and started["qrCodeSvg"].rstrip().endswith("</svg>")
    # Not on until confirmed: login still gives a session.
    assert (await member.gql(VIEWER))["viewer"]["user"]["twoFactorEnabled"] is False
    assert (await password_step(clinic.client, member.email))["token"] is not None
    wrong = (await member.gql(CONFIRM, {"input": {"code": "000000"}}))["confirmTwoFactorEnrollment"]
    assert wrong["errors"][0]["code"] == "INVALID_SECOND_FACTOR" and wrong["recoveryCodes"] is None
    confirmed = (await member.gql(CONFIRM, {"input": {"code": moved_clock.code(started["secret"])}}))[
        "confirmTwoFactorEnrollment"
    ]
    codes = confirmed["recoveryCodes"]
    assert confirmed["errors"] == [] and len(codes) == 10 and len(set(codes)) == 10
    assert (await member.gql(VIEWER))["viewer"]["user"]["twoFactorEnabled"] is True
    # Stored sealed and hashed: neither the secret nor a recovery code is in the database.
    user_id = await key_of(member.user_id)
    factor = await TwoFactor.get(user_id=user_id)
    assert started["secret"] not in factor.secret and factor.enabled_at is not None
    hashes = set(await RecoveryCode.filter(user_id=user_id).values_list("code_hash", flat=True))
    assert len(hashes) == 10 and not any(c in h or c.replace("-", "") in h for c in codes for h in hashes)
    event = await AuditEvent.filter(action="SECOND_FACTOR_ENABLED").order_by("-id").first()
    assert event is not None and event.changes == {"recoveryCodes": 10}
    assert await AuditEvent.exists(action="SECOND_FACTOR_ENROLLMENT_STARTED", target_id=event.target_id)
    # A second enrolment while one is on is refused.
    again = (await member.gql(START))["startTwoFactorEnrollment"]
    assert again["errors"][0]["code"] == "ALREADY_IN_STATE" and again["secret"] is None


async def test_login_of_an_enrolled_user_gives_a_challenge_and_a_code_gives_the_session(clinic, moved_clock):
    member = await clinic.member()
    secret, _ = await enrol(member, moved_clock)
    first = await password_step(clinic.client, member.email)
    assert first["errors"] == [] and first["token"] is None and first["user"] is None
    assert first["secondFactorRequired"] is True and first["challengeToken"].startswith("chc_")
    # The challenge is no session.
    as_bearer = await clinic.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {first['challengeToken']}"}
    )
    assert as_bearer.status_code == 401
    answer = await verify(clinic.client, first["challengeToken"], moved_clock.code(secret))
    assert answer["errors"] == [] and answer["user"]["email"] == member.email
    session = Session(clinic.client, answer["token"])
    assert (await session.gql(VIEWER))["viewer"]["user"]["email"] == member.email
    # Single use: the same challenge gives nothing more.
    moved_clock.next_step()
    again = await verify(clinic.client, first["challengeToken"], moved_clock.code(secret))
    assert again["token"] is None and again["errors"][0]["code"] == "CHALLENGE_INVALID"


async def test_a_code_of_the_previous_step_is_accepted_and_a_code_is_accepted_once(clinic, moved_clock):
    member = await clinic.member()
    secret, _ = await enrol(member, moved_clock)
    moved_clock.next_step()
    challenge = (await password_step(clinic.client, member.email))["challengeToken"]
    previous = moved_clock.code(secret, steps_back=1)
    assert (await verify(clinic.client, challenge, previous))["token"] is not None
    # The same code again, on a new challenge within its step: a replay.
    replay = (await password_step(clinic.client, member.email))["challengeToken"]
    refused = await verify(clinic.client, replay, previous)
    assert refused["token"] is None and refused["errors"][0]["code"] == "INVALID_SECOND_FACTOR"
    # Nor an older step's code (two steps back), nor the next step's.
    assert (await verify(clinic.client, replay, moved_clock.code(secret, steps_back=2)))["token"] is None
    assert (await verify(clinic.client, replay, moved_clock.code(secret, steps_back=-1)))["token"] is None
    # The current step's code is later than the one used: accepted.
    assert (await verify(clinic.client, replay, moved_clock.code(secret)))["token"] is not None


async def test_a_recovery_code_logs_in_once(clinic, moved_clock):
    member = await clinic.member()
    _, codes = await enrol(member, moved_clock)
    challenge = (await password_step(clinic.client, member.email))["challengeToken"]
    # Typed loosely: lower case, without dashes.
    answer = await verify(clinic.client, challenge, codes[3].replace("-", "").lower())
    assert answer["errors"] == [] and answer["token"] is not None
    event = await AuditEvent.filter(action="USER_LOGGED_IN").order_by("-id").first()
    assert event is not None and event.changes["secondFactor"] == "RECOVERY_CODE"
    challenge = (await password_step(clinic.client, member.email))["challengeToken"]
    used = await verify(clinic.client, challenge, codes[3])
    assert used["token"] is None and used["errors"][0]["code"] == "INVALID_SECOND_FACTOR"
    assert (await verify(clinic.client, challenge, codes[4]))["token"] is not None


async def test_a_stolen_challenge_alone_never_gives_a_session(clinic, moved_clock):
    """Someone holding only the challenge token (not the authenticator) guesses codes:
    5 wrong codes void the challenge, each counts in the login throttle, and from then
    on even the password step is refused from that address."""
    member = await clinic.member()
    secret, _ = await enrol(member, moved_clock)
    stolen = (await password_step(clinic.client, member.email))["challengeToken"]
    right = moved_clock.code(secret)
    guesses = [f"{(int(right) + n) % 1_000_000:06d}" for n in range(1, 6)]
    for n, guess in enumerate(guesses, 1):
        answer = await verify(clinic.client, stolen, guess)
        assert answer["token"] is None and answer["errors"][0]["code"] == "INVALID_SECOND_FACTOR"
        assert await LoginFailure.filter(email=member.email).count() == n
    challenge = await SecondFactorChallenge.get(user_id=await key_of(member.user_id), voided_at__isnull=False)
    assert challenge.failures == 5
    # Void: the right code no longer helps, and the throttle refuses this address.
    assert (await verify(clinic.client, stolen, right))["token"] is None
    assert (await password_step(clinic.client, member.email))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await LoginFailure.filter(email=member.email).count() == throttle.PER_ADDRESS_LIMIT
    # An expired challenge is refused too (a fresh one, once the window passed).
    await LoginFailure.filter(email=member.email).delete()
    fresh = (await password_step(clinic.client, member.email))["challengeToken"]
    moved_clock.offset += timedelta(minutes=5, seconds=1)
    late = await verify(clinic.client, fresh, moved_clock.code(secret))
    assert late["token"] is None and late["errors"][0]["code"] == "CHALLENGE_INVALID"


async def test_a_wrong_password_still_counts_before_any_challenge(clinic, moved_clock):
    member = await clinic.member()
    await enrol(member, moved_clock)
    for _ in range(throttle.PER_ADDRESS_LIMIT):
        refused = await password_step(clinic.client, member.email, "not the password at all")
        assert refused["challengeToken"] is None and refused["secondFactorRequired"] is False
    # Throttled: the right password gets no challenge either.
    throttled = await password_step(clinic.client, member.email)
    assert throttled["challengeToken"] is None and throttled["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_disable_needs_the_password_and_a_code(clinic, moved_clock):
    member = await clinic.member()
    secret, _ = await enrol(member, moved_clock)
    no_code = (await member.gql(DISABLE, {"input": {"password": PASSWORD, "code": "123"}}))["disableTwoFactor"]
    assert no_code["errors"][0]["code"] == "INVALID_SECOND_FACTOR"
    wrong_password = (
        await member.gql(DISABLE, {"input": {"password": "not the password", "code": moved_clock.code(secret)}})
    )["disableTwoFactor"]
    assert wrong_password["errors"][0]["code"] == "PASSWORD_INVALID"
    done = (await member.gql(DISABLE, {"input": {"password": PASSWORD, "code": moved_clock.code(secret)}}))[
        "disableTwoFactor"
    ]
    assert done["errors"] == [] and done["user"]["twoFactorEnabled"] is False
    assert not await TwoFactor.exists(user_id=await key_of(member.user_id))
    assert not await RecoveryCode.exists(user_id=await key_of(member.user_id))
    assert (await login(clinic.client, member.email))["token"] is not None  # one step again
    assert await AuditEvent.exists(action="SECOND_FACTOR_DISABLED")


async def test_an_administrator_resets_a_second_factor_and_ends_its_sessions(clinic, moved_clock):
    member = await clinic.member()
    admin = await clinic.member(permissions_of=["Administrator"])
    front_desk = await clinic.member(permissions_of=["Front desk"])
    await enrol(member, moved_clock)
    variables = {"input": {"userId": member.user_id, "password": PASSWORD}}
    refused = await front_desk.post(RESET, variables)
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for caller in (clinic.vendor, clinic.support):  # neither consumers nor the support account
        body = (await caller.post(RESET, variables)).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    wrong = (await admin.gql(RESET, {"input": {"userId": member.user_id, "password": "not it at all"}}))[
        "resetSecondFactor"
    ]
    assert wrong["errors"][0]["code"] == "PASSWORD_INVALID"
    assert await LoginFailure.filter(email=admin.email).count() == 1  # counted in the throttle
    done = (await admin.gql(RESET, variables))["resetSecondFactor"]
    assert done["errors"] == [] and done["user"]["twoFactorEnabled"] is False
    gone = await member.post(VIEWER)
    assert gone.status_code == 401  # its session ended
    event = await AuditEvent.filter(action="SECOND_FACTOR_RESET").order_by("-id").first()
    assert event is not None and event.changes["sessionsRevoked"] == 1
    # Nothing left to reset; one's own goes through disableTwoFactor; the owner's by the owner only.
    again = (await admin.gql(RESET, variables))["resetSecondFactor"]
    assert again["errors"][0]["code"] == "ALREADY_IN_STATE"
    own = (await admin.gql(RESET, {"input": {"userId": admin.user_id, "password": PASSWORD}}))["resetSecondFactor"]
    assert own["errors"][0]["code"] == "NOT_ALLOWED_FOR_SELF"
    await enrol(clinic.owner, moved_clock)
    owner_id = (await clinic.owner.gql(VIEWER))["viewer"]["user"]["id"]
    not_owner = (await admin.gql(RESET, {"input": {"userId": owner_id, "password": PASSWORD}}))["resetSecondFactor"]
    assert not_owner["errors"][0]["code"] == "OWNER_ONLY"


async def test_two_factor_enabled_is_shown_to_those_who_may_view_users(clinic, moved_clock):
    member = await clinic.member()
    await enrol(member, moved_clock)
    listed = {
        e["node"]["email"]: e["node"]["twoFactorEnabled"] for e in (await clinic.owner.gql(USERS))["users"]["edges"]
    }
    assert listed[member.email] is True and listed[clinic.owner.email] is False


async def _require_two_factor(clinic) -> None:
    # The policy mutation (updateSecurityPolicy) is another change's: set the column here.
    await Organization.filter(id=clinic.organization.id).update(require_two_factor=True)
    await _bump_epoch()


async def _bump_epoch() -> None:
    from chrgraph.db.transactions import atomic

    async with atomic(revokes_credentials=True):
        pass


async def test_a_required_second_factor_leaves_a_session_that_may_only_enrol(clinic, moved_clock):
    await _require_two_factor(clinic)
    member = await clinic.member(permissions_of=["Administrator"])
    held = await member.post(USERS)
    assert held.status_code == 200
    error = held.json()["errors"][0]
    assert error["extensions"]["code"] == "SECOND_FACTOR_ENROLLMENT_REQUIRED"
    assert held.json()["data"] is None or held.json()["data"]["users"] is None
    # Other mutations are refused the same way; viewer is open.
    refused = (await member.post(DISABLE, {"input": {"password": PASSWORD, "code": "123456"}})).json()
    assert refused["errors"][0]["extensions"]["code"] == "SECOND_FACTOR_ENROLLMENT_REQUIRED"
    assert (await member.gql(VIEWER))["viewer"]["user"]["twoFactorEnabled"] is False
    node = (await member.post("query N($id: ID!) { node(id: $id) { id } }", {"id": member.user_id})).json()
    assert node["errors"][0]["extensions"]["code"] == "SECOND_FACTOR_ENROLLMENT_REQUIRED"
    # Enrolling turns this very session into a full one.
    await enrol(member, moved_clock)
    assert (await member.gql(USERS))["users"]["edges"]
    # The support account is held too, and logout stays open.
    support = clinic.support
    assert (await support.post(USERS)).json()["errors"][0]["extensions"]["code"] == "SECOND_FACTOR_ENROLLMENT_REQUIRED"
    assert (await support.gql(LOGOUT))["logout"]["errors"] == []
    # API consumers are not sessions: the policy does not concern them.
    assert "errors" not in (await clinic.vendor.post(USERS)).json()


async def test_removing_a_required_second_factor_holds_the_sessions_again(clinic, moved_clock):
    member = await clinic.member(permissions_of=["Front desk"])
    secret, _ = await enrol(member, moved_clock)
    await _require_two_factor(clinic)
    challenge = (await password_step(clinic.client, member.email))["challengeToken"]
    session = Session(clinic.client, (await verify(clinic.client, challenge, moved_clock.code(secret)))["token"])
    assert "errors" not in (await session.post(USERS)).json()
    moved_clock.next_step()
    await session.gql(DISABLE, {"input": {"password": PASSWORD, "code": moved_clock.code(secret)}})
    held = (await session.post(USERS)).json()
    assert held["errors"][0]["extensions"]["code"] == "SECOND_FACTOR_ENROLLMENT_REQUIRED"


async def test_verify_second_factor_is_open_to_anonymous_callers_and_its_secrets_are_declared(client, app):
    from chrgraph.schema import schema
    from chrgraph.schema.permissions import public_mutations

    assert "verifySecondFactor" in public_mutations(schema)
    sdl = schema.as_str()
    for declared in (
        "challengeToken: String! @secret",
        "code: String! @secret",
        "password: String! @secret",
        "recoveryCodes: [String!] @secret",
        "secret: String @secret",
        "challengeToken: String @secret",
    ):
        assert declared in sdl, declared


@pytest.fixture
def chrgraph(database_url):
    import asyncio
    import os
    import sys
    from pathlib import Path

    command = str(Path(sys.executable).parent / "chrgraph")
    env = {**os.environ, "CHRGRAPH_DATABASE_URL": database_url}

    async def run(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            command, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    return run


@pytest.mark.cli
async def test_break_glass_removes_the_owners_second_factor_with_a_reason(clinic, moved_clock, chrgraph):
    await enrol(clinic.owner, moved_clock)
    base = ("users", "reset-second-factor", "--org", clinic.domain, "--email", clinic.owner.email)
    code, _, err = await chrgraph(*base)
    assert code != 0 and "--reason" in err and "Traceback" not in err
    code, _, err = await chrgraph(*base, "--reason", "   ")
    assert code != 0 and "reason" in err and "Traceback" not in err
    code, _, err = await chrgraph(
        "users", "reset-second-factor", "--org", clinic.domain, "--email", "nobody@x.test", "--reason", "r"
    )
    assert code != 0 and "No such user" in err and "Traceback" not in err
    code, out, err = await chrgraph(*base, "--reason", "Ticket 4711: owner lost phone, identity checked", "--json")
    assert code == 0, err
    assert json.loads(out) == {"email": clinic.owner.email, "secondFactor": "removed", "sessionsRevoked": 1}
    assert (await clinic.owner.post(VIEWER)).status_code == 401
    event = await AuditEvent.filter(action="SECOND_FACTOR_RESET").order_by("-id").first()
    assert event is not None and event.changes["reason"] == "Ticket 4711: owner lost phone, identity checked"
    assert event.actor_kind.value == "SYSTEM"  # the operator at the server's shell
    assert (await login(clinic.client, clinic.owner.email))["token"] is not None  # one step again


async def test_two_factor_enabled_of_a_page_of_users_costs_one_statement(clinic, moved_clock):
    from chrgraph.db import hooks

    for _ in range(3):
        await enrol(await clinic.member(), moved_clock)

    async def statements(query: str) -> list[str]:
        counter = hooks.count_statements()
        try:
            await clinic.owner.gql(query)
        finally:
            hooks.stop_counting(counter)
        return [sql for sql in counter.statements if "auth_epoch" not in sql]

    await statements(USERS)  # warm the session cache
    plain = await statements("{ users(first: 50) { edges { node { email } } } }")
    with_flag = await statements(USERS)
    assert len(with_flag) == len(plain) + 1
    assert sum("two_factor" in sql for sql in with_flag) == 1
