"""Passwords over GraphQL: one strength rule for every new password (zxcvbn's advice in
PASSWORD_TOO_WEAK), changePassword (the current password re-entered and counted like a
login; the other sessions end), requestPasswordReset (one answer whatever the email;
a link valid one hour delivered over SMTP, the token in its fragment and stored hashed)
and resetPassword (single use, every session ends, the throttle counters cleared, the
email-wide ceiling never refusing a valid token)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chrgraph.auth import throttle
from chrgraph.db.models import AuditEvent, LoginFailure, OutboxMessage, PasswordReset, User
from chrgraph.resolvers.users.invitations import token_hash
from chrgraph.resolvers.users.outbox import deliver_pending
from chrgraph.resolvers.users.password_resets import RESET_LINK_MARK
from chrgraph.settings import Settings, get_settings
from tests.accounts import PASSWORD, forget_token_guesses, login, make_clinic, session_for
from tests.test_invitation_mail import SmtpSink

PING = "{ viewer { kind } }"
CHANGE = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { id } errors { code message field } }
}"""
REQUEST = """
mutation Request($input: RequestPasswordResetInput!) {
  requestPasswordReset(input: $input) { errors { code } }
}"""
RESET = """
mutation Reset($input: ResetPasswordInput!) {
  resetPassword(input: $input) { email errors { code message field } }
}"""
NEW_PASSWORD = "violet kettle under seven maple bridges"
PUBLIC_URL = "https://clinic.example.test"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/admin/reset#token=(rst_[A-Za-z0-9_-]+)")


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def mail_settings(port: int) -> Settings:
    return replace(get_settings(), smtp_url=f"smtp://127.0.0.1:{port}", public_url=PUBLIC_URL)


async def anonymous(client: httpx.AsyncClient, query: str, input: dict) -> dict:
    response = await client.post("/graphql", json={"query": query, "variables": {"input": input}})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def request_reset(client, email: str) -> list:
    return (await anonymous(client, REQUEST, {"email": email}))["requestPasswordReset"]["errors"]


async def reset(client, token: str, new_password: str = NEW_PASSWORD) -> dict:
    return (await anonymous(client, RESET, {"token": token, "newPassword": new_password}))["resetPassword"]


async def delivered_token(client, email: str) -> str:
    """Ask for a reset of `email`, deliver the outbox to a real SMTP sink, and read the link."""
    await forget_token_guesses()
    assert await request_reset(client, email) == []
    with SmtpSink() as sink:
        assert await deliver_pending(mail_settings(sink.port)) >= 1
        (mail,) = sink.to(email)
    assert RESET_LINK_MARK not in mail.text
    found = LINK.search(mail.text)
    assert found is not None, mail.text
    return found.group(1)


async def ping(session) -> int:
    return (await session.post(PING)).status_code


# --- the strength rule ------------------------------------------------------------------


async def test_a_weak_new_password_is_refused_with_the_estimators_advice(clinic):
    answer = (await clinic.owner.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": "password1234"}}))[
        "changePassword"
    ]
    (error,) = answer["errors"]
    assert error["code"] == "PASSWORD_TOO_WEAK" and error["field"] == ["newPassword"]
    assert "common password" in error["message"]
    for short_or_long in ("Sh0rt!x", "é" * 257):
        answer = await clinic.owner.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": short_or_long}})
        assert answer["changePassword"]["errors"][0]["code"] == "PASSWORD_TOO_WEAK"
    # Nothing changed: the old password still logs in.
    assert (await login(clinic.client, clinic.owner.email))["errors"] == []


async def test_a_long_password_is_judged_on_its_first_72_characters(clinic):
    long_one = NEW_PASSWORD + " " + "x" * 200  # 240 characters; zxcvbn refuses > 72 itself
    answer = await clinic.owner.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": long_one}})
    assert answer["changePassword"]["errors"] == []
    assert (await login(clinic.client, clinic.owner.email, long_one))["errors"] == []


async def test_accepting_an_invitation_follows_the_same_rule(client):
    INVITE_ACCEPT = """
    mutation Accept($input: AcceptInvitationInput!) {
      acceptInvitation(input: $input) { user { id } errors { code message } }
    }"""
    clinic = await make_clinic(client)
    from chrgraph.auth.principals import support_cli_actor
    from chrgraph.db.models import License, UserType
    from chrgraph.resolvers.users.invite_user import invite_user
    from chrgraph.resolvers.users.profile import Profile

    _, token = await invite_user(
        support_cli_actor(clinic.organization.id),
        f"weak-{clinic.domain}@x.test",
        Profile(type=UserType.STAFF, license=License.STAFF, first_name="W", last_name="K"),
        [],
    )
    answer = await anonymous(
        client, INVITE_ACCEPT, {"token": token, "password": "aaaaaaaaaaaaaa", "firstName": "W", "lastName": "K"}
    )
    (error,) = answer["acceptInvitation"]["errors"]
    assert error["code"] == "PASSWORD_TOO_WEAK" and "Repeats" in error["message"]


# --- changePassword ---------------------------------------------------------------------


async def test_change_password_keeps_this_session_and_ends_the_others(clinic):
    other = await session_for(clinic.client, clinic.owner.email)
    answer = await clinic.owner.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    assert answer["changePassword"]["errors"] == []
    assert await ping(clinic.owner) == 200
    assert await ping(other) == 401  # the next request, in this process
    assert (await login(clinic.client, clinic.owner.email))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert (await login(clinic.client, clinic.owner.email, NEW_PASSWORD))["errors"] == []
    user = await User.get(email=clinic.owner.email)
    event = await AuditEvent.filter(action="PASSWORD_CHANGED", target_id__contains="").order_by("-id").first()
    assert event is not None and event.organization_id == user.organization_id


async def test_a_wrong_current_password_counts_in_the_login_throttle(clinic):
    email = clinic.owner.email
    before = await LoginFailure.filter(email=email).count()
    answer = await clinic.owner.gql(CHANGE, {"input": {"password": "not my password", "newPassword": NEW_PASSWORD}})
    assert answer["changePassword"]["errors"][0]["code"] == "PASSWORD_INVALID"
    assert await LoginFailure.filter(email=email).count() == before + 1
    for _ in range(4):
        await clinic.owner.gql(CHANGE, {"input": {"password": "not my password", "newPassword": NEW_PASSWORD}})
    assert await ping(clinic.owner) == 401  # the 5th failure ended the session that sent it


async def test_the_support_account_changes_its_own_password(clinic):
    answer = await clinic.support.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    assert answer["changePassword"]["errors"] == []
    assert (await login(clinic.client, clinic.support.email, NEW_PASSWORD))["errors"] == []


async def test_an_api_consumer_cannot_change_a_password(clinic):
    response = await clinic.vendor.post(CHANGE, {"input": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    body = response.json()
    assert body["data"]["changePassword"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- requestPasswordReset and resetPassword ---------------------------------------------


async def test_a_reset_link_is_delivered_and_sets_the_password_ending_every_session(client, clinic):
    email = clinic.owner.email
    second = await session_for(client, email)
    token = await delivered_token(client, email)
    # Stored hashed; the outbox keeps no clear token once delivered.
    assert await PasswordReset.filter(token_hash=token_hash(token)).exists()
    assert not await OutboxMessage.filter(sent_at__isnull=False, token__isnull=False).exists()
    assert not await OutboxMessage.filter(body__contains=token).exists()

    answer = await reset(client, token)
    assert answer == {"email": email, "errors": []}
    assert await ping(clinic.owner) == 401 and await ping(second) == 401
    assert (await login(client, email, NEW_PASSWORD))["errors"] == []
    assert (await reset(client, token, "another fine long passphrase here"))["errors"][0]["code"] == (
        "RESET_TOKEN_INVALID"
    )
    assert await AuditEvent.filter(action="PASSWORD_RESET_REQUESTED", organization_id=clinic.organization.id).exists()
    assert await AuditEvent.filter(action="PASSWORD_RESET", organization_id=clinic.organization.id).exists()


async def test_the_answer_is_the_same_whatever_the_email(client, clinic):
    queued = await OutboxMessage.all().count()
    assert await request_reset(client, f"nobody-{clinic.domain}@x.test") == []
    assert await request_reset(client, "not an email at all") == []
    assert await request_reset(client, clinic.support.email) == []  # the operator sets its password
    assert await OutboxMessage.all().count() == queued
    assert await request_reset(client, clinic.owner.email.upper()) == []
    assert await OutboxMessage.all().count() == queued + 1


async def test_an_expired_or_replaced_link_is_refused(client, clinic):
    token = await delivered_token(client, clinic.owner.email)
    await PasswordReset.filter(token_hash=token_hash(token)).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await reset(client, token))["errors"][0]["code"] == "RESET_TOKEN_INVALID"
    fresh = await delivered_token(client, clinic.owner.email)
    # A password change voids the links still out.
    await clinic.owner.gql(CHANGE, {"input": {"password": PASSWORD, "newPassword": NEW_PASSWORD}})
    assert (await reset(client, fresh))["errors"][0]["code"] == "RESET_TOKEN_INVALID"


async def test_a_weak_password_leaves_the_token_usable(client, clinic):
    token = await delivered_token(client, clinic.owner.email)
    answer = await reset(client, token, "password1234")
    assert answer["errors"][0]["code"] == "PASSWORD_TOO_WEAK" and answer["errors"][0]["field"] == ["newPassword"]
    assert await ping(clinic.owner) == 200
    assert (await reset(client, token))["errors"] == []


async def test_a_valid_token_passes_the_email_ceiling_and_clears_the_counters(client, clinic):
    email = clinic.owner.email
    now = datetime.now(UTC)
    # Strangers' guesses from many addresses reached the email-wide ceiling: logins are refused.
    await LoginFailure.bulk_create(
        [LoginFailure(email=email, address=f"203.0.113.{i}", at=now) for i in range(throttle.EMAIL_CEILING)]
    )
    assert (await login(client, email))["errors"][0]["code"] == "INVALID_CREDENTIALS"
    token = await delivered_token(client, email)
    assert (await reset(client, token))["errors"] == []
    assert not await LoginFailure.filter(email=email).exists()
    assert (await login(client, email, NEW_PASSWORD))["errors"] == []


async def test_token_guesses_are_throttled_per_client_address(client, clinic):
    token = await delivered_token(client, clinic.owner.email)
    for _ in range(throttle.PER_ADDRESS_LIMIT):
        assert (await reset(client, "rst_" + "x" * 43))["errors"][0]["code"] == "RESET_TOKEN_INVALID"
    # From this address, even the right token waits for the window to pass.
    assert (await reset(client, token))["errors"][0]["code"] == "RESET_TOKEN_INVALID"
    await LoginFailure.filter(email="password-reset-token").delete()
    assert (await reset(client, token))["errors"] == []


async def test_reset_requests_count_like_logins(client, clinic):
    email = clinic.owner.email
    for _ in range(throttle.PER_ADDRESS_LIMIT + 2):
        assert await request_reset(client, email) == []
    assert await OutboxMessage.filter(to_email=email, password_reset_id__isnull=False).count() == (
        throttle.PER_ADDRESS_LIMIT
    )


async def test_a_link_for_a_user_deactivated_since_is_not_sent(client, clinic):
    member = await clinic.member()
    assert await request_reset(client, member.email) == []
    await User.filter(email=member.email).update(status="DEACTIVATED")
    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        assert sink.to(member.email) == []
    message = await OutboxMessage.filter(to_email=member.email).order_by("-id").first()
    assert message.skipped_at is not None and message.token is None


async def test_the_operator_setting_the_support_password_ends_the_support_sessions(clinic):
    from chrgraph.auth.principals import support_cli_actor
    from chrgraph.resolvers.users.ownership import set_support_password

    assert await ping(clinic.support) == 200
    await set_support_password(support_cli_actor(clinic.organization.id), NEW_PASSWORD)
    assert await ping(clinic.support) == 401
    assert (await login(clinic.client, clinic.support.email, NEW_PASSWORD))["errors"] == []
