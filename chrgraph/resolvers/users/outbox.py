"""Delivering queued mail over SMTP when CHRGRAPH_SMTP_URL is set.

`smtp://host:port` (upgraded with STARTTLS whenever the server offers it) or
`smtps://user:pass@host:port`; certificates are verified. The stdlib client runs in a
thread. Only messages still due are sent: an invitation that was voided, used or has
expired, or whose user is no longer invited, and a password reset that was used, voided
or has expired, or whose user can no longer log in, is skipped with its reason. Once sent or
skipped, a message's clear token is blanked. Failed deliveries stay queued with their
error and are retried by the server's job.

Every server process runs that job, so a message is claimed before it is sent: in one
short transaction the sender picks queued rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two processes never pick the same row; on SQLite write transactions are serialized)
and marks each with its claim for `LEASE_SECONDS`. It sends, then records the outcome
under that claim. A process that dies while holding a claim leaves the message queued:
when the lease lapses another process sends it (at least once, never lost)."""

from __future__ import annotations

import asyncio
import secrets
import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from tortoise.expressions import Q

from chrgraph.auth.access import has_access
from chrgraph.db.models import Invitation, Organization, OutboxMessage, PasswordReset, User, UserStatus
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.users.invitations import ACCEPT_LINK_MARK, accept_link
from chrgraph.resolvers.users.password_resets import RESET_LINK_MARK, reset_link
from chrgraph.settings import Settings
from chrgraph.telemetry import log

MAX_ATTEMPTS = 10
BATCH = 100
# Over one message's SMTP exchange: each socket operation may take the client's 10 s.
LEASE_SECONDS = 120


def tls_context() -> ssl.SSLContext:
    """Verifies the server's certificate against the system's authorities."""
    return ssl.create_default_context()


def _send(settings: Settings, to_email: str, subject: str, body: str) -> None:
    parts = urlparse(settings.smtp_url)
    host = parts.hostname or "127.0.0.1"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=10, context=tls_context())
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=10)
    with client as smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            # Offered, so required: a failed handshake is a failed delivery, never clear text.
            smtp.starttls(context=tls_context())
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = settings.mail_from, to_email, subject
        mail.set_content(body)
        smtp.send_message(mail)


async def _not_due(message: OutboxMessage, now: datetime) -> str | None:
    """Why an invitation or reset message is no longer to be sent; None when it is due."""
    if message.password_reset_id is not None:
        return await _reset_not_due(message, now)
    if message.invitation_id is None:
        return None
    invitation = await Invitation.filter(id=message.invitation_id).first()
    if invitation is None or message.token is None:
        return "invitation unknown"
    if invitation.used_at is not None:
        return "invitation used"
    if invitation.voided_at is not None:
        return "invitation voided"
    if invitation.expires_at <= now:
        return "invitation expired"
    user = await User.filter(id=invitation.user_id).first()
    if user is None or user.status is not UserStatus.INVITED:
        return "user no longer invited"
    return None


async def _reset_not_due(message: OutboxMessage, now: datetime) -> str | None:
    reset = await PasswordReset.filter(id=message.password_reset_id).first()
    if reset is None or message.token is None:
        return "password reset unknown"
    if reset.used_at is not None:
        return "password reset used"
    if reset.voided_at is not None:
        return "password reset voided"
    if reset.expires_at <= now:
        return "password reset expired"
    user = await User.filter(id=reset.user_id).first()
    org = await Organization.filter(id=user.organization_id).first() if user is not None else None
    if user is None or org is None or not has_access(user, org, now):
        return "user can no longer log in"
    return None


def _body(settings: Settings, message: OutboxMessage) -> str:
    if message.token is None:
        return message.body
    if message.password_reset_id is not None:
        marker, link = RESET_LINK_MARK, reset_link(settings.public_url, message.token)
    else:
        marker, link = ACCEPT_LINK_MARK, accept_link(settings.public_url, message.token)
    # The last mark: a name earlier in the body cannot take the link's place.
    head, mark, tail = message.body.rpartition(marker)
    return head + link + tail if mark else message.body


async def deliver_pending(settings: Settings) -> int:
    """Send every message still queued and due; returns how many this process sent."""
    if not settings.smtp_url:
        return 0
    sent, after = 0, 0
    while True:
        claim, batch = await _claim(after)
        if not batch:
            return sent
        after = batch[-1].id
        sent += await _deliver_batch(settings, claim, batch)


async def _claim(after: int) -> tuple[str, list[OutboxMessage]]:
    """Claim the next queued messages after id `after` for this sender (module docstring)."""
    now = datetime.now(UTC)
    claim = secrets.token_hex(8)
    async with atomic() as conn:
        rows = (
            await OutboxMessage.filter(
                Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
                sent_at__isnull=True,
                skipped_at__isnull=True,
                attempts__lt=MAX_ATTEMPTS,
                id__gt=after,
            )
            .order_by("id")
            .limit(BATCH)
            .using_db(conn)
            .select_for_update(skip_locked=True)
        )
        if rows:
            await (
                OutboxMessage.filter(id__in=[r.id for r in rows])
                .using_db(conn)
                .update(claim=claim, claimed_until=now + timedelta(seconds=LEASE_SECONDS))
            )
    return claim, list(rows)


async def _record(message: OutboxMessage, claim: str, **values: object) -> None:
    """Write an outcome under the claim it was reached under, and give the claim back."""
    await OutboxMessage.filter(id=message.id, claim=claim).update(claim=None, claimed_until=None, **values)


async def _skip(message: OutboxMessage, claim: str, reason: str) -> None:
    await _record(message, claim, skipped_at=datetime.now(UTC), skip_reason=reason, token=None)


async def _deliver_batch(settings: Settings, claim: str, batch: list[OutboxMessage]) -> int:
    sent = 0
    for message in batch:
        if (reason := await _not_due(message, datetime.now(UTC))) is not None:
            log.info("outbox message id=%s skipped: %s", message.id, reason)
            await _skip(message, claim, reason)
            continue
        try:
            await asyncio.to_thread(_send, settings, message.to_email, message.subject, _body(settings, message))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("outbox delivery failed id=%s: %s", message.id, type(exc).__name__)
            failed: dict[str, object] = {"attempts": message.attempts + 1, "last_error": type(exc).__name__}
            if message.attempts + 1 >= MAX_ATTEMPTS:
                failed |= {"skipped_at": datetime.now(UTC), "skip_reason": "undeliverable", "token": None}
            await _record(message, claim, **failed)
            continue
        await _record(message, claim, sent_at=datetime.now(UTC), attempts=message.attempts + 1, token=None)
        sent += 1
    return sent
