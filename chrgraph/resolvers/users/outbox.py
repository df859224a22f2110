"""Delivering queued mail over SMTP when CHRGRAPH_SMTP_URL is set.

`smtp://host:port` or `smtps://user:pass@host:port`; the stdlib client runs in a thread.
Failed deliveries stay queued with their error and are retried by the server's job."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from chrgraph.db.models import OutboxMessage
from chrgraph.telemetry import log

SENDER = "chrgraph <no-reply@chrgraph.invalid>"
MAX_ATTEMPTS = 10


def _send(url: str, message: OutboxMessage) -> None:
    parts = urlparse(url)
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(parts.hostname or "127.0.0.1", parts.port or (465 if secure else 25), timeout=10) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = SENDER, message.to_email, message.subject
        mail.set_content(message.body)
        smtp.send_message(mail)


async def deliver_pending(smtp_url: str) -> int:
    if not smtp_url:
        return 0
    sent, after = 0, 0
    while True:
        batch = (
            await OutboxMessage.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS, id__gt=after)
            .order_by("id")
            .limit(100)
        )
        if not batch:
            return sent
        after = batch[-1].id
        sent += await _deliver_batch(smtp_url, batch)


async def _deliver_batch(smtp_url: str, batch: list[OutboxMessage]) -> int:
    sent = 0
    for message in batch:
        try:
            await asyncio.to_thread(_send, smtp_url, message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("outbox delivery failed id=%s: %s", message.id, type(exc).__name__)
            await OutboxMessage.filter(id=message.id).update(
                attempts=message.attempts + 1, last_error=type(exc).__name__
            )
            continue
        await OutboxMessage.filter(id=message.id).update(sent_at=datetime.now(UTC), attempts=message.attempts + 1)
        sent += 1
    return sent
