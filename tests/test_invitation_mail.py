"""Invitation tokens and their mail: an unknown token costs no password hash, resending
voids the old token and moves invitedAt, the database keeps no usable token once a
message is delivered, and SMTP sends only what is still due, over STARTTLS when the
server offers it, from CHRGRAPH_MAIL_FROM, with the token in the link's fragment."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import ssl
from dataclasses import replace
from email import message_from_bytes, policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from tortoise import Tortoise

from chrgraph.auth import passwords
from chrgraph.db.migrations import __name__ as migrations_package
from chrgraph.db.models import Invitation, OutboxMessage, User, UserStatus
from chrgraph.resolvers.users import outbox
from chrgraph.resolvers.users.invitations import ACCEPT_LINK_MARK, token_hash
from chrgraph.resolvers.users.outbox import deliver_pending
from chrgraph.settings import SettingError, Settings, get_settings
from tests.accounts import PASSWORD, make_clinic
from tests.certificates import Authority
from tests.helpers import unique
from tests.test_invitation_delivery import Inbox, free_port

INVITE = """
mutation Invite($input: InviteUserInput!) {
  inviteUser(input: $input) { user { id invitedAt } errors { code field } }
}"""
ACCEPT = """
mutation Accept($input: AcceptInvitationInput!) {
  acceptInvitation(input: $input) { user { id status } errors { code field } }
}"""
RESEND = """
mutation Resend($input: ResendInvitationInput!) {
  resendInvitation(input: $input) { user { id invitedAt } errors { code field } }
}"""
USER = "query One($id: ID!) { user(id: $id) { invitedAt } }"

PUBLIC_URL = "https://clinic.example.test"
MAIL_FROM = "Clinic Team <team@clinic.example.test>"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/admin/accept#token=(inv_[A-Za-z0-9_-]+)")


@pytest.fixture
async def clinic(client):
    return await make_clinic(client)


def mail_settings(port: int) -> Settings:
    return replace(get_settings(), smtp_url=f"smtp://127.0.0.1:{port}", mail_from=MAIL_FROM, public_url=PUBLIC_URL)


async def invite(clinic, email: str) -> dict:
    result = await clinic.owner.gql(
        INVITE,
        {"input": {"email": email, "type": "STAFF", "license": "STAFF", "firstName": "Ivy", "lastName": "Invited"}},
    )
    assert result["inviteUser"]["errors"] == []
    return result["inviteUser"]["user"]


async def message_to(email: str) -> OutboxMessage:
    return await OutboxMessage.filter(to_email=email).order_by("-id").first()


async def accept(client, token: str, password: str = PASSWORD) -> list[str]:
    response = await client.post(
        "/graphql",
        json={
            "query": ACCEPT,
            "variables": {"input": {"token": token, "password": password, "firstName": "Ivy", "lastName": "I"}},
        },
    )
    return [e["code"] for e in response.json()["data"]["acceptInvitation"]["errors"]]


class CountingHasher:
    """Stands in for the Argon2 password hasher and counts its hashes."""

    def __init__(self, monkeypatch) -> None:
        self.calls = 0
        self._real = passwords._hasher
        monkeypatch.setattr(passwords, "_hasher", self)

    def hash(self, password: str, **kwargs) -> str:
        self.calls += 1
        return self._real.hash(password, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._real, name)


# --- acceptInvitation: the token first -------------------------------------------------


async def test_a_token_that_cannot_be_accepted_costs_no_password_hash(client, clinic, monkeypatch):
    hashes_ = CountingHasher(monkeypatch)
    assert await accept(client, "inv_" + "x" * 43) == ["INVITATION_INVALID"]
    assert hashes_.calls == 0

    email = f"{unique('tok')}@x.test"
    user = await invite(clinic, email)
    first = (await message_to(email)).token
    await Invitation.filter(token_hash=token_hash(first)).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert await accept(client, first) == ["INVITATION_EXPIRED"]
    assert (await clinic.owner.gql(RESEND, {"input": {"userId": user["id"]}}))["resendInvitation"]["errors"] == []
    assert await accept(client, first) == ["INVITATION_VOIDED"]
    assert hashes_.calls == 0

    second = (await message_to(email)).token
    assert await accept(client, second) == []
    assert hashes_.calls == 1
    assert await accept(client, second) == ["INVITATION_USED"]
    assert hashes_.calls == 1


async def test_two_accepts_of_one_token_activate_once(client, clinic):
    email = f"{unique('twice')}@x.test"
    await invite(clinic, email)
    token = (await message_to(email)).token
    outcomes = await asyncio.gather(accept(client, token), accept(client, token))
    assert sorted(outcomes) == [[], ["INVITATION_USED"]]


# --- resendInvitation ------------------------------------------------------------------


async def test_resend_issues_a_new_token_voids_the_old_one_and_moves_invited_at(client, clinic):
    email = f"{unique('resend')}@x.test"
    user = await invite(clinic, email)
    old = (await message_to(email)).token
    long_ago = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    await User.filter(email=email).update(invited_at=long_ago)

    resent = (await clinic.owner.gql(RESEND, {"input": {"userId": user["id"]}}))["resendInvitation"]
    assert resent["errors"] == []
    moved = dt.datetime.fromisoformat(resent["user"]["invitedAt"])
    assert moved > long_ago and dt.datetime.now(dt.UTC) - moved < dt.timedelta(minutes=1)
    assert (await clinic.owner.gql(USER, {"id": user["id"]}))["user"]["invitedAt"] == resent["user"]["invitedAt"]

    new = (await message_to(email)).token
    assert new != old
    assert (await Invitation.get(token_hash=token_hash(old))).voided_at is not None
    fresh = await Invitation.get(token_hash=token_hash(new))
    assert fresh.voided_at is None and fresh.used_at is None
    assert await accept(client, old) == ["INVITATION_VOIDED"]
    assert await accept(client, new) == []


# --- the outbox keeps no usable token --------------------------------------------------


async def test_a_queued_body_never_holds_the_token(clinic):
    email = f"{unique('body')}@x.test"
    await invite(clinic, email)
    message = await message_to(email)
    assert message.token and message.token not in message.body and ACCEPT_LINK_MARK in message.body
    invitation = await Invitation.get(token_hash=token_hash(message.token))
    assert message.invitation_id == invitation.id


class SmtpSink:
    """aiosmtpd on 127.0.0.1, optionally offering (or requiring) STARTTLS."""

    def __init__(self, tls: ssl.SSLContext | None = None, require_tls: bool = False) -> None:
        self.inbox = TlsInbox()
        self.port = free_port()
        kw = {"tls_context": tls, "require_starttls": require_tls} if tls else {}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kw)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def to(self, email: str) -> list[SimpleNamespace]:
        return [m for m in self.inbox.mail if email in m.rcpt_tos]


class TlsInbox(Inbox):
    def __init__(self) -> None:
        super().__init__()
        self.mail: list[SimpleNamespace] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.mail.append(
            SimpleNamespace(
                rcpt_tos=envelope.rcpt_tos,
                mail_from=envelope.mail_from,
                content=envelope.content.decode("utf-8", "replace"),
                text=message_from_bytes(envelope.content, policy=policy.default).get_content(),
                tls=session.ssl is not None,
            )
        )
        return await super().handle_DATA(server, session, envelope)


async def test_delivery_links_to_the_accept_page_with_the_token_in_the_fragment_and_blanks_it(client, clinic):
    email = f"{unique('link')}@x.test"
    await invite(clinic, email)
    token = (await message_to(email)).token
    with SmtpSink() as sink:
        assert await deliver_pending(mail_settings(sink.port)) >= 1
        (mail,) = sink.to(email)
    assert LINK.search(mail.text).group(1) == token
    assert "From: " + MAIL_FROM in mail.content and mail.mail_from == "team@clinic.example.test"
    assert ACCEPT_LINK_MARK not in mail.text

    stored = await message_to(email)
    assert stored.sent_at is not None and stored.token is None and token not in stored.body
    # Nothing delivered anywhere in the database keeps a token, in its column or its body.
    assert not await OutboxMessage.filter(sent_at__isnull=False, token__isnull=False).exists()
    assert not await OutboxMessage.filter(sent_at__isnull=False, body__contains="inv_").exists()
    # The link still works: the token only left the database.
    assert await accept(client, LINK.search(mail.text).group(1)) == []


async def test_only_invitations_still_due_are_sent(client, clinic):
    due, voided, used, expired, deactivated = (f"{unique(kind)}@x.test" for kind in ("due", "vd", "us", "ex", "de"))
    users = {email: await invite(clinic, email) for email in (due, voided, used, expired, deactivated)}
    assert (await clinic.owner.gql(RESEND, {"input": {"userId": users[voided]["id"]}}))["resendInvitation"][
        "errors"
    ] == []
    voided_message = (await OutboxMessage.filter(to_email=voided).order_by("id"))[0]
    assert await accept(client, (await message_to(used)).token) == []
    expired_message = await message_to(expired)
    await Invitation.filter(id=expired_message.invitation_id).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    await User.filter(email=deactivated).update(status=UserStatus.DEACTIVATED)

    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        assert len(sink.to(due)) == 1
        assert len(sink.to(voided)) == 1  # the resent invitation only
        assert sink.to(used) == sink.to(expired) == sink.to(deactivated) == []
        resent_token = LINK.search(sink.to(voided)[0].text).group(1)
    assert await Invitation.get(token_hash=token_hash(resent_token), voided_at__isnull=True)

    reasons = {
        voided_message.id: "invitation voided",
        (await message_to(used)).id: "invitation used",
        expired_message.id: "invitation expired",
        (await message_to(deactivated)).id: "user no longer invited",
    }
    for message_id, reason in reasons.items():
        skipped = await OutboxMessage.get(id=message_id)
        assert (skipped.sent_at, skipped.token, skipped.skip_reason) == (None, None, reason)
        assert skipped.skipped_at is not None
    # Skipped messages are never tried again.
    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        assert sink.to(voided) == sink.to(used) == sink.to(expired) == sink.to(deactivated) == []


# --- STARTTLS ----------------------------------------------------------------------------


def self_signed(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context that
    trusts exactly the authority that signed it."""
    authority = Authority.make(tmp_path / "smtp-ca")
    return authority.server("127.0.0.1"), authority.trusting()


async def test_delivery_upgrades_to_tls_when_the_server_offers_starttls(clinic, tmp_path, monkeypatch):
    server_tls, client_tls = self_signed(tmp_path)
    monkeypatch.setattr(outbox, "tls_context", lambda: client_tls)
    email = f"{unique('tls')}@x.test"
    await invite(clinic, email)
    # Offered, not required: the server would take clear text; the client still upgrades.
    with SmtpSink(server_tls) as sink:
        await deliver_pending(mail_settings(sink.port))
        (mail,) = sink.to(email)
    assert mail.tls
    assert (await message_to(email)).sent_at is not None


async def test_an_untrusted_certificate_fails_the_delivery_rather_than_sending_in_clear(clinic, tmp_path):
    server_tls, _ = self_signed(tmp_path)
    email = f"{unique('mitm')}@x.test"
    await invite(clinic, email)
    with SmtpSink(server_tls) as sink:
        await deliver_pending(mail_settings(sink.port))
        assert sink.to(email) == []
    message = await message_to(email)
    assert message.sent_at is None and message.last_error and message.token  # still queued, retried later


async def test_a_server_without_starttls_still_gets_the_mail(clinic):
    email = f"{unique('plain')}@x.test"
    await invite(clinic, email)
    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        (mail,) = sink.to(email)
    assert not mail.tls


async def test_a_message_given_up_keeps_no_token(clinic):
    email = f"{unique('gone')}@x.test"
    await invite(clinic, email)
    message = await message_to(email)
    await OutboxMessage.filter(id=message.id).update(attempts=outbox.MAX_ATTEMPTS - 1)
    await deliver_pending(mail_settings(free_port()))  # nobody listens
    message = await OutboxMessage.get(id=message.id)
    assert (message.token, message.skip_reason, message.attempts) == (None, "undeliverable", outbox.MAX_ATTEMPTS)


async def test_two_senders_at_once_send_each_message_once(clinic):
    # Every server process runs the outbox job: each message is claimed by one sender.
    emails = [f"{unique('once')}@x.test" for _ in range(6)]
    for email in emails:
        await invite(clinic, email)
    with SmtpSink() as sink:
        sent = await asyncio.gather(*(deliver_pending(mail_settings(sink.port)) for _ in range(3)))
        assert [len(sink.to(email)) for email in emails] == [1] * 6
    assert sum(sent) >= 6
    for email in emails:
        message = await message_to(email)
        assert message.sent_at is not None and (message.claim, message.claimed_until) == (None, None)


async def test_a_claim_whose_sender_died_holds_until_it_lapses(clinic):
    email = f"{unique('lapse')}@x.test"
    await invite(clinic, email)
    message = await message_to(email)
    now = dt.datetime.now(dt.UTC)
    await OutboxMessage.filter(id=message.id).update(claim="0" * 16, claimed_until=now + dt.timedelta(seconds=60))
    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        assert sink.to(email) == []  # another process holds it
        await OutboxMessage.filter(id=message.id).update(claimed_until=now - dt.timedelta(seconds=1))
        await deliver_pending(mail_settings(sink.port))
        (mail,) = sink.to(email)
    message = await OutboxMessage.get(id=message.id)
    assert message.sent_at is not None and message.attempts == 1 and message.claim is None


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["team@clinic.test", "Clinic <team@clinic.test>", '"Clinic, Inc" <a@b.test>'])
def test_mail_from_takes_an_address_with_an_optional_name(value):
    assert Settings.from_env({"CHRGRAPH_MAIL_FROM": value}).mail_from == value


@pytest.mark.parametrize("value", ["team", "a@b.test, c@d.test", "x <>", "a@b.test\nBcc: c@d.test"])
def test_a_malformed_mail_from_stops_the_process(value):
    with pytest.raises(SettingError) as refused:
        Settings.from_env({"CHRGRAPH_MAIL_FROM": value})
    assert refused.value.variable == "CHRGRAPH_MAIL_FROM"


def test_the_public_url_is_http_or_https():
    assert Settings.from_env({"CHRGRAPH_PUBLIC_URL": "https://c.test/"}).public_url == "https://c.test/"
    with pytest.raises(SettingError, match="CHRGRAPH_PUBLIC_URL"):
        Settings.from_env({"CHRGRAPH_PUBLIC_URL": "ftp://c.test"})
    for value in ("", "https://"):
        with pytest.raises(SettingError, match="CHRGRAPH_PUBLIC_URL"):
            Settings.from_env({"CHRGRAPH_PUBLIC_URL": value})


# --- the migration that scrubs existing rows ---------------------------------------------


async def test_the_migration_scrubs_tokens_from_delivered_rows_and_moves_queued_ones(clinic):
    from importlib import import_module

    migration = import_module(migrations_package + ".0017_outbox_tokens")
    delivered_email, queued_email, orphan_email = (f"{unique(k)}@x.test" for k in ("old1", "old2", "old3"))
    await invite(clinic, delivered_email)
    await invite(clinic, queued_email)
    delivered_token = (await message_to(delivered_email)).token
    queued_token = (await message_to(queued_email)).token
    orphan_token = "inv_" + "o" * 43

    def old_body(token: str) -> str:  # as bodies were written before
        return f"Hello Ivy,\n\nYou have been invited.\nAccept with this invitation token (valid 7 days):\n\n{token}\n"

    now = dt.datetime.now(dt.UTC)
    await OutboxMessage.filter(to_email=delivered_email).update(
        body=old_body(delivered_token), token=None, invitation_id=None, sent_at=now
    )
    await OutboxMessage.filter(to_email=queued_email).update(
        body=old_body(queued_token), token=None, invitation_id=None
    )
    orphan = await OutboxMessage.create(
        organization_id=clinic.organization.id,
        to_email=orphan_email,
        subject="You are invited to Old",
        body=old_body(orphan_token),
        created_at=now,
    )

    await migration.forward(None, SimpleNamespace(client=Tortoise.get_connection("default")))

    delivered = await message_to(delivered_email)
    assert delivered_token not in delivered.body and delivered.token is None
    queued = await message_to(queued_email)
    assert queued_token not in queued.body and ACCEPT_LINK_MARK in queued.body and queued.token == queued_token
    assert queued.invitation_id == (await Invitation.get(token_hash=token_hash(queued_token))).id
    orphan = await OutboxMessage.get(id=orphan.id)
    assert orphan_token not in orphan.body and orphan.skip_reason == "invitation unknown"
    assert orphan.skipped_at is not None
    # The moved row is then delivered like a new one, with a working link.
    with SmtpSink() as sink:
        await deliver_pending(mail_settings(sink.port))
        (mail,) = sink.to(queued_email)
        assert sink.to(orphan_email) == []
    assert LINK.search(mail.text).group(1) == queued_token
