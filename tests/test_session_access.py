"""A session does what its user may do now. Whatever takes a user's access away —
deactivation, an end of training moved into the past, a locum period changed, a
classification change, a role or a permission removed — is refused on the next
request of the process that made the change, and within a second in every other (two
server processes, PostgreSQL); access that the calendar alone ends (a trainee's 14
days, a locum's last day) is refused from the first request after it ends, with no
query per request: the cached session holds the instant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from chrgraph import clock
from chrgraph.auth import epoch
from chrgraph.auth.access import access_ends_at, local_today
from chrgraph.auth.principals import support_cli_actor
from chrgraph.auth.sessions import session_hash
from chrgraph.db import hooks
from chrgraph.db.models import Classification, License, OutboxMessage, Session, User, UserType
from chrgraph.resolvers.errors import OperationFailed
from chrgraph.resolvers.scheduling.appointments import book_appointment
from chrgraph.resolvers.users.password_changes import request_password_reset
from chrgraph.resolvers.users.profile import Locum
from tests.accounts import PASSWORD, Clinic, forget_token_guesses, login, make_clinic, session_for
from tests.accounts import Session as Caller
from tests.databases import backend
from tests.helpers import key_of
from tests.processes import Server, running_server
from tests.scheduling_helpers import patient

PATIENTS = "{ patients { totalCount } }"
PING = "{ viewer { kind } }"
DEACTIVATE = """mutation($i: DeactivateUserInput!) {
  deactivateUser(input: $i) { user { status } errors { code } } }"""
UPDATE = """mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { id } errors { code field } } }"""
ASSIGN = """mutation($i: AssignRolesInput!) { assignRoles(input: $i) { user { id } errors { code } } }"""
GRANT = """mutation($i: GrantPermissionInput!) { grantPermission(input: $i) { user { id } errors { code } } }"""
REVOKE = """mutation($i: RevokePermissionInput!) { revokePermission(input: $i) { user { id } errors { code } } }"""
CHANGE_PASSWORD = """mutation($i: ChangePasswordInput!) { changePassword(input: $i) { errors { code } } }"""
RESET_PASSWORD = """mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { errors { code } } }"""
NEW_PASSWORD = "seven quiet herons over the marsh"
REVOCATION_BOUND = 1.0  # seconds


@pytest.fixture
async def clinic(client) -> Clinic:
    return await make_clinic(client)


@pytest.fixture
def clock_at() -> AsyncIterator[Callable[[datetime], None]]:
    """Move the server's "now" (this process) to an instant; back to the system clock after."""

    def move(instant: datetime) -> None:
        clock.set_source(lambda: instant)

    yield move  # type: ignore[misc]
    clock.set_source(None)


def today(clinic: Clinic) -> date:
    return local_today(clinic.organization)


def local_midnight(clinic: Clinic, day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(clinic.organization.time_zone)).astimezone(UTC)


async def trainee(clinic: Clinic, end: date | None = None, **roles) -> Caller:
    return await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=end or today(clinic) + timedelta(days=60),
        **roles,
    )


async def locum(clinic: Clinic, start: date, end: date | None, **roles) -> Caller:
    return await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.LOCUM,
        license=License.LOCUM,
        locum=Locum(None, start, end),
        **roles,
    )


async def long_lived(caller: Caller) -> None:
    """A moved clock may pass the session's own expiry (12 h): give it days."""
    far = datetime.now(UTC) + timedelta(days=30)
    await Session.filter(token_hash=session_hash(caller.token)).update(expires_at=far)


def is_invalid_session(response: httpx.Response) -> bool:
    if response.status_code != 401:
        assert response.status_code == 200, response.text
        return False
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED", "reason": "INVALID_SESSION"}
    return True


def is_forbidden(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    errors = response.json().get("errors")
    return bool(errors) and errors[0]["extensions"]["code"] == "FORBIDDEN"


def assert_served(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text


# --- what an admin changes: refused on the next request --------------------------------


async def test_deactivation_refuses_the_next_request(clinic):
    member = await clinic.member(permissions_of=["Front desk"])
    assert_served(await member.post(PATIENTS))
    done = await clinic.owner.gql(DEACTIVATE, {"i": {"userId": member.user_id, "password": PASSWORD}})
    assert done["deactivateUser"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def reset_token(email: str) -> str:
    """A password-reset token for `email`, as its message carries it before delivery."""
    await forget_token_guesses()
    await request_password_reset(email)
    message = await OutboxMessage.filter(to_email=email, password_reset_id__isnull=False).order_by("-id").first()
    assert message is not None and message.token
    return message.token


async def test_a_password_change_refuses_the_users_other_sessions_at_their_next_request(clinic):
    member = await clinic.member(permissions_of=["Front desk"])
    desk = await session_for(clinic.client, member.email)
    assert_served(await member.post(PATIENTS))
    done = await desk.gql(CHANGE_PASSWORD, {"i": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    assert done["changePassword"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))
    assert_served(await desk.post(PATIENTS))  # the session that changed it goes on


async def test_a_password_reset_refuses_every_session_at_its_next_request(clinic):
    member = await clinic.member(permissions_of=["Front desk"])
    assert_served(await member.post(PATIENTS))
    token = await reset_token(member.email)
    response = await clinic.client.post(
        "/graphql", json={"query": RESET_PASSWORD, "variables": {"i": {"token": token, "newPassword": NEW_PASSWORD}}}
    )
    assert response.json()["data"]["resetPassword"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def test_end_of_training_moved_into_the_past_refuses_the_next_request(clinic):
    member = await trainee(clinic, permissions_of=["Practitioner"])
    assert_served(await member.post(PATIENTS))
    ended = (today(clinic) - timedelta(days=15)).isoformat()
    done = await clinic.owner.gql(UPDATE, {"i": {"userId": member.user_id, "expectedEndOfTraining": ended}})
    assert done["updateUser"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def test_an_end_of_training_within_the_14_days_keeps_the_session(clinic):
    member = await trainee(clinic, permissions_of=["Practitioner"])
    assert_served(await member.post(PATIENTS))
    recent = (today(clinic) - timedelta(days=14)).isoformat()
    done = await clinic.owner.gql(UPDATE, {"i": {"userId": member.user_id, "expectedEndOfTraining": recent}})
    assert done["updateUser"]["errors"] == []
    assert_served(await member.post(PATIENTS))


async def test_locum_period_moved_into_the_past_refuses_the_next_request(clinic):
    member = await locum(clinic, today(clinic) - timedelta(days=10), None, permissions_of=["Practitioner"])
    assert_served(await member.post(PATIENTS))
    period = {"startDate": (today(clinic) - timedelta(days=10)).isoformat(), "endDate": today(clinic).isoformat()}
    done = await clinic.owner.gql(UPDATE, {"i": {"userId": member.user_id, "locum": period}})
    assert done["updateUser"]["errors"] == []
    assert_served(await member.post(PATIENTS))  # its last day: still in
    period["endDate"] = (today(clinic) - timedelta(days=1)).isoformat()
    done = await clinic.owner.gql(UPDATE, {"i": {"userId": member.user_id, "locum": period}})
    assert done["updateUser"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def test_locum_period_moved_into_the_future_refuses_the_next_request(clinic):
    member = await locum(clinic, today(clinic), None, permissions_of=["Practitioner"])
    assert_served(await member.post(PATIENTS))
    later = {"startDate": (today(clinic) + timedelta(days=1)).isoformat()}
    done = await clinic.owner.gql(UPDATE, {"i": {"userId": member.user_id, "locum": later}})
    assert done["updateUser"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def test_classification_change_that_ends_access_refuses_the_next_request(clinic):
    member = await clinic.member(
        type=UserType.PRACTITIONER,
        classification=Classification.STANDARD,
        license=License.CHR_PLUS,
        permissions_of=["Practitioner"],
    )
    assert_served(await member.post(PATIENTS))
    day = today(clinic)
    past = {"startDate": (day - timedelta(days=30)).isoformat(), "endDate": (day - timedelta(days=1)).isoformat()}
    change = {"userId": member.user_id, "classification": "LOCUM", "license": "LOCUM", "locum": past}
    done = await clinic.owner.gql(UPDATE, {"i": change})
    assert done["updateUser"]["errors"] == []
    assert is_invalid_session(await member.post(PATIENTS))


async def test_role_removed_is_refused_on_the_next_request(clinic):
    member = await clinic.member(permissions_of=["Front desk"])
    assert_served(await member.post(PATIENTS))
    done = await clinic.owner.gql(ASSIGN, {"i": {"userId": member.user_id, "roleIds": [], "password": PASSWORD}})
    assert done["assignRoles"]["errors"] == []
    assert is_forbidden(await member.post(PATIENTS))
    assert_served(await member.post(PING))  # the session itself stays


async def test_permission_revoked_is_refused_on_the_next_request(clinic):
    member = await clinic.member()
    grant = {"userId": member.user_id, "permission": "MANAGE_PATIENTS", "password": PASSWORD}
    assert (await clinic.owner.gql(GRANT, {"i": grant}))["grantPermission"]["errors"] == []
    assert_served(await member.post(PATIENTS))
    assert (await clinic.owner.gql(REVOKE, {"i": grant}))["revokePermission"]["errors"] == []
    assert is_forbidden(await member.post(PATIENTS))


# --- what the calendar alone ends: refused from the first request after ----------------


async def test_the_14_days_after_the_end_of_training_end_the_session_at_local_midnight(clinic, clock_at):
    last_day = today(clinic)
    member = await trainee(clinic, permissions_of=["Practitioner"])
    await User.filter(email=member.email).update(expected_end_of_training=last_day - timedelta(days=14))
    member = await session_for(clinic.client, member.email)  # logs in on its last day
    await long_lived(member)
    user = await User.get(email=member.email)
    ends = local_midnight(clinic, last_day + timedelta(days=1))
    assert access_ends_at(user, clinic.organization) == ends

    clock_at(ends - timedelta(microseconds=1))
    assert_served(await member.post(PATIENTS))  # loaded and cached on the last instant
    clock_at(ends)
    assert is_invalid_session(await member.post(PATIENTS))
    clock_at(ends + timedelta(days=3))
    assert is_invalid_session(await member.post(PATIENTS))


async def test_a_locums_last_day_ends_the_session_at_local_end_of_day(clinic, clock_at):
    last_day = today(clinic)
    member = await locum(clinic, last_day - timedelta(days=10), last_day, permissions_of=["Practitioner"])
    await long_lived(member)
    ends = local_midnight(clinic, last_day + timedelta(days=1))
    assert access_ends_at(await User.get(email=member.email), clinic.organization) == ends

    clock_at(ends - timedelta(seconds=1))
    assert_served(await member.post(PATIENTS))
    clock_at(ends)
    assert is_invalid_session(await member.post(PATIENTS))


async def test_a_locum_before_its_period_has_no_session(clinic, clock_at):
    first_day = today(clinic)
    member = await locum(clinic, first_day, first_day + timedelta(days=5), permissions_of=["Practitioner"])
    await long_lived(member)
    clock_at(local_midnight(clinic, first_day) - timedelta(seconds=1))
    epoch.clear_local()  # a session loaded the day before its period
    assert is_invalid_session(await member.post(PATIENTS))
    clock_at(local_midnight(clinic, first_day))
    assert_served(await member.post(PATIENTS))


async def test_the_calendar_check_costs_no_statement(clinic, clock_at):
    """A cached session with an end instant sends what a staff member's does: nothing
    about users or sessions, whatever the clock says."""
    staff = await clinic.member()
    member = await trainee(clinic)

    async def statements(caller: Caller) -> list[str]:
        epoch.clear_local()
        assert_served(await caller.post(PING))  # warms the caches
        counter = hooks.count_statements()
        try:
            assert_served(await caller.post(PING))
        finally:
            hooks.stop_counting(counter)
        return [s for s in counter.statements if "auth_epoch" not in s]

    staff_statements = await statements(staff)
    trainee_statements = await statements(member)
    assert len(trainee_statements) == len(staff_statements)
    assert not [s for s in trainee_statements if '"session"' in s.lower() or '"user"' in s.lower()]


# --- login ----------------------------------------------------------------------------


async def test_login_refuses_a_locum_outside_its_period_with_the_one_error(clinic):
    day = today(clinic)
    ended = await locum(clinic, day - timedelta(days=10), day)
    await User.filter(email=ended.email).update(locum_end=day - timedelta(days=1))
    future = await locum(clinic, day, None)
    await User.filter(email=future.email).update(locum_start=day + timedelta(days=1))
    unknown = await login(clinic.client, "nobody-at-all@example.test")
    for email in (ended.email, future.email):
        refused = await login(clinic.client, email)
        assert refused["token"] is None
        assert refused["errors"] == unknown["errors"]
        assert [e["code"] for e in refused["errors"]] == ["INVALID_CREDENTIALS"]
    await User.filter(email=future.email).update(locum_start=day)
    assert (await login(clinic.client, future.email))["errors"] == []


async def test_a_locum_is_booked_ahead_for_its_period_though_it_cannot_log_in_yet(clinic):
    """Booking follows the appointment's start, not today's date."""
    day = today(clinic)
    member = await locum(clinic, day, day + timedelta(days=20))
    await User.filter(email=member.email).update(locum_start=day + timedelta(days=7))
    assert (await login(clinic.client, member.email))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    actor = support_cli_actor(clinic.organization.id)
    dr = await User.get(email=member.email)
    pat = await key_of(await patient(clinic.organization.id))
    inside = local_midnight(clinic, day + timedelta(days=8)) + timedelta(hours=14)
    assert (await book_appointment(actor, dr.id, pat, inside, 30)).practitioner_id == dr.id
    with pytest.raises(OperationFailed) as before_it:
        await book_appointment(
            actor, dr.id, pat, local_midnight(clinic, day + timedelta(days=1)) + timedelta(hours=14), 30
        )
    assert [e.code.value for e in before_it.value.errors] == ["PRACTITIONER_NOT_BOOKABLE"]


# --- two server processes: within a second in the other one -----------------------------


async def _within_a_second(
    servers: tuple[Server, Server],
    owner: Caller,
    member: Caller,
    change: tuple[str, dict],
    refused: Callable[[httpx.Response], bool],
) -> None:
    a, b = servers
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:

        async def post(server: Server, caller: Caller, query: str, variables: dict | None = None) -> httpx.Response:
            return await http.post(
                server.base_url + "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {caller.token}"},
            )

        for server in (a, b):  # both processes hold the session in their cache
            assert_served(await post(server, member, PATIENTS))
        document, variables = change
        done = await post(a, owner, document, variables)
        assert done.status_code == 200 and "errors" not in done.json(), done.text
        assert all(payload["errors"] == [] for payload in done.json()["data"].values()), done.text
        changed_at = loop.time()
        assert refused(await post(a, member, PATIENTS)), "served by the process that made the change"
        answers = []
        while True:
            sent_at = loop.time() - changed_at
            assert sent_at <= REVOCATION_BOUND, f"still served {sent_at:.2f} s after the change: {answers}"
            response = await post(b, member, PATIENTS)
            answers.append((round(sent_at, 3), response.status_code))
            if refused(response):
                break
            await asyncio.sleep(0.05)
        assert refused(await post(b, member, PATIENTS))  # and it stays refused


@pytest.fixture(scope="module")
async def servers(app) -> AsyncIterator[tuple[Server, Server]]:
    async with running_server() as a, running_server() as b:
        yield a, b


@pytest.mark.parametrize(
    "cause",
    [
        "deactivation",
        "end of training moved",
        "locum period changed",
        "role removed",
        "permission revoked",
        "password changed",
        "password reset",
    ],
)
@pytest.mark.slow
@pytest.mark.skipif(backend() != "postgres", reason="two server processes share a PostgreSQL database")
async def test_a_change_that_takes_access_away_reaches_another_process_within_a_second(clinic, servers, cause):
    day = today(clinic)

    async def deactivation():
        member = await clinic.member(permissions_of=["Front desk"])
        return member, (DEACTIVATE, {"i": {"userId": member.user_id, "password": PASSWORD}}), is_invalid_session

    async def end_of_training():
        member = await trainee(clinic, permissions_of=["Practitioner"])
        ended = (day - timedelta(days=15)).isoformat()
        return member, (UPDATE, {"i": {"userId": member.user_id, "expectedEndOfTraining": ended}}), is_invalid_session

    async def locum_period():
        member = await locum(clinic, day - timedelta(days=10), None, permissions_of=["Practitioner"])
        period = {"startDate": (day - timedelta(days=10)).isoformat(), "endDate": (day - timedelta(days=1)).isoformat()}
        return member, (UPDATE, {"i": {"userId": member.user_id, "locum": period}}), is_invalid_session

    async def role_removed():
        member = await clinic.member(permissions_of=["Front desk"])
        return member, (ASSIGN, {"i": {"userId": member.user_id, "roleIds": [], "password": PASSWORD}}), is_forbidden

    async def permission_revoked():
        member = await clinic.member()
        grant = {"userId": member.user_id, "permission": "MANAGE_PATIENTS", "password": PASSWORD}
        assert (await clinic.owner.gql(GRANT, {"i": grant}))["grantPermission"]["errors"] == []
        return member, (REVOKE, {"i": grant}), is_forbidden

    changer = clinic.owner

    async def password_changed():
        nonlocal changer
        member = await clinic.member(permissions_of=["Front desk"])
        changer = await session_for(clinic.client, member.email)  # its own other session changes it
        return member, (CHANGE_PASSWORD, {"i": {"password": PASSWORD, "newPassword": NEW_PASSWORD}}), is_invalid_session

    async def password_reset():
        member = await clinic.member(permissions_of=["Front desk"])
        token = await reset_token(member.email)
        return member, (RESET_PASSWORD, {"i": {"token": token, "newPassword": NEW_PASSWORD}}), is_invalid_session

    changes: dict[str, Callable[[], Awaitable[tuple[Caller, tuple[str, dict], Callable]]]] = {
        "password changed": password_changed,
        "password reset": password_reset,
        "deactivation": deactivation,
        "end of training moved": end_of_training,
        "locum period changed": locum_period,
        "role removed": role_removed,
        "permission revoked": permission_revoked,
    }
    member, change, refused = await changes[cause]()
    await _within_a_second(servers, changer, member, change, refused)
