"""The delivery worker: runs inside every server process and sends due deliveries.

A delivery is claimed before it is sent: in one short transaction the worker picks due
rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two processes never pick the same row;
SQLite's write transactions are serialized, so one process at a time claims) and moves
each row's `next_attempt_at` a lease ahead. It then sends, and records the attempt and
the outcome under that claim. A process that dies between sending and recording leaves
the row pending: when the lease lapses another worker sends it again, with the same
`webhook-id` (at least once, never lost).

Each attempt checks the URL again (resolved once, every address public unless the host
is allowed) and connects to the address it checked, with SNI and `Host` from the URL,
no proxy from the environment, no redirect followed, within the timeout. A 2xx answer
delivers; `410 Gone` fails the delivery and disables the subscription; anything else is
retried on the schedule, then fails."""

from __future__ import annotations

import asyncio
import json
import secrets
import ssl
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import certifi
import httpx
from standardwebhooks.webhooks import Webhook
from tortoise.expressions import F

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.audit.webhooks import may_hear
from chrgraph.auth.principals import system_actor
from chrgraph.db import hooks
from chrgraph.db.models import (
    ApiConsumer,
    Organization,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.webhooks.addresses import UrlNotAllowed, allowed_hosts, check
from chrgraph.resolvers.webhooks.subscriptions import signing_secrets
from chrgraph.settings import Settings, retry_schedule
from chrgraph.telemetry import log

BATCH = 20
EXCERPT_BYTES = 1024


def lease_seconds(settings: Settings) -> float:
    """How long a claim holds a row: well over one attempt's timeout."""
    return 2 * settings.webhook_timeout_seconds + 5


async def claim_due(settings: Settings, limit: int = BATCH) -> tuple[str, list[WebhookDelivery]]:
    """Claim up to `limit` due deliveries for this worker (see the module docstring)."""
    now = datetime.now(UTC)
    claim = secrets.token_hex(8)
    async with atomic() as conn:
        # Across organizations: the worker serves the whole server.
        rows = (
            await WebhookDelivery.filter(status="PENDING", next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .limit(limit)
            .using_db(conn)
            .select_for_update(skip_locked=True)
        )
        if not rows:
            return claim, []
        await (
            WebhookDelivery.filter(id__in=[r.id for r in rows])
            .using_db(conn)
            .update(
                next_attempt_at=now + timedelta(seconds=lease_seconds(settings)),
                claim=claim,
                attempt_count=F("attempt_count") + 1,
            )
        )
    for row in rows:
        row.attempt_count += 1
    return claim, list(rows)


def signature_headers(event: WebhookEvent, body: str, secrets_: list[str], now: datetime) -> dict[str, str]:
    """Standard Webhooks headers: the message id, the time, and one `v1,` signature per
    secret (two for a day after a rotation)."""
    message_id = str(event.payload["id"])
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, now, body) for s in secrets_),
    }


def body_of(event: WebhookEvent) -> str:
    return json.dumps(event.payload, separators=(",", ":"), sort_keys=True)


class Outcome:
    __slots__ = ("status", "error", "excerpt", "duration_ms")

    def __init__(self) -> None:
        self.status: int | None = None
        self.error: str | None = None
        self.excerpt: str | None = None
        self.duration_ms = 0.0


def _error_class(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection_refused"
        if "ssl" in text or "certificate" in text:
            return "tls_error"
        return "connect_error"
    if isinstance(exc, httpx.HTTPError):
        return "http_error"
    return type(exc).__name__[:100]


async def send(
    client: httpx.AsyncClient, settings: Settings, subscription: WebhookSubscription, event: WebhookEvent
) -> Outcome:
    """One attempt: check the URL, connect to the checked address, POST the signed body,
    all within the timeout (httpx's own limits each wait on its own: a receiver sending a
    byte at a time, or a slow DNS answer, would otherwise hold the attempt past its claim)."""
    outcome = Outcome()
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            await _attempt(client, settings, subscription, event, outcome)
    except UrlNotAllowed:
        outcome.error = "url_not_allowed"
    except TimeoutError:
        outcome.error = "timeout"
    except Exception as exc:  # a failed attempt of any kind is recorded and retried
        outcome.error = _error_class(exc)
    outcome.duration_ms = (time.monotonic() - started) * 1000
    return outcome


async def _attempt(
    client: httpx.AsyncClient,
    settings: Settings,
    subscription: WebhookSubscription,
    event: WebhookEvent,
    outcome: Outcome,
) -> None:
    target = await check(subscription.url, allowed_hosts(settings.webhook_allowed_hosts))
    now = datetime.now(UTC)
    body = body_of(event)
    headers = {
        "content-type": "application/json",
        "user-agent": "chrgraph-webhooks/1",
        "host": target.host_header,
        **signature_headers(event, body, signing_secrets(subscription, now), now),
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request("POST", target.url, content=body.encode(), headers=headers)
    request.extensions.update(extensions)
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        outcome.status = response.status_code
        kept = b""
        async for chunk in response.aiter_raw():
            kept += chunk
            if len(kept) >= EXCERPT_BYTES:
                break
        outcome.excerpt = kept[:EXCERPT_BYTES].decode("utf-8", "replace") or None
    finally:
        await response.aclose()


async def record(
    settings: Settings, claim: str, delivery: WebhookDelivery, subscription: WebhookSubscription, outcome: Outcome
) -> str:
    """The attempt and the delivery's new state, under this worker's claim; the status."""
    now = datetime.now(UTC)
    schedule = retry_schedule(settings.webhook_retry_schedule)
    changes: dict[str, Any] = {"claim": None, "last_http_status": outcome.status}
    gone = outcome.status == 410
    if outcome.status is not None and 200 <= outcome.status < 300:
        changes.update(status="DELIVERED", delivered_at=now, next_attempt_at=None)
    elif gone or delivery.attempt_count > len(schedule):
        changes.update(status="FAILED", next_attempt_at=None)
    else:
        changes["next_attempt_at"] = now + timedelta(seconds=schedule[delivery.attempt_count - 1])
    async with atomic() as conn:
        updated = await WebhookDelivery.filter(id=delivery.id, claim=claim).using_db(conn).update(**changes)
        if not updated:  # the claim lapsed and another worker took the row: it records
            return "LAPSED"
        await WebhookAttempt.create(
            delivery_id=delivery.id,
            at=now,
            http_status=outcome.status,
            duration_ms=outcome.duration_ms,
            error_class=outcome.error,
            response_excerpt=outcome.excerpt,
            using_db=conn,
        )
        if gone:
            reason = "The receiver answered 410 Gone."
            disabled = (
                await WebhookSubscription.filter(id=subscription.id, active=True)
                .using_db(conn)
                .update(active=False, disabled_reason=reason)
            )
            if disabled:  # the server's own change, audited as any other
                await events.record(
                    conn,
                    system_actor(subscription.organization_id),
                    AuditAction.WEBHOOK_SUBSCRIPTION_UPDATED,
                    "WebhookSubscription",
                    subscription.public_id,
                    {"active": {"before": True, "after": False}, "disabledReason": {"before": None, "after": reason}},
                )
    return str(changes.get("status", "PENDING"))


async def _cancel(claim: str, delivery: WebhookDelivery) -> None:
    await WebhookDelivery.filter(id=delivery.id, claim=claim).update(
        status="CANCELLED", next_attempt_at=None, claim=None
    )


async def deliver_due(settings: Settings, client: httpx.AsyncClient, limit: int = BATCH) -> int:
    """Claim, send and record one batch of due deliveries; how many were claimed."""
    claim, rows = await claim_due(settings, limit)
    if not rows:
        return 0
    subscriptions = {s.id: s for s in await WebhookSubscription.filter(id__in={r.subscription_id for r in rows})}
    found = {e.id: e for e in await WebhookEvent.filter(id__in={r.event_id for r in rows})}
    consumers = {
        c.id: c
        for c in await ApiConsumer.filter(id__in={s.consumer_id for s in subscriptions.values()}).only(
            "id", "active", "permissions", "organization_id"
        )
    }
    api_enabled = dict(
        await Organization.filter(id__in={c.organization_id for c in consumers.values()}).values_list(
            "id", "enterprise_api_enabled"
        )
    )

    async def one(row: WebhookDelivery) -> None:
        subscription = subscriptions[row.subscription_id]
        consumer = consumers[subscription.consumer_id]
        hears = may_hear(row.event_type, consumer, api_enabled[consumer.organization_id])
        if not subscription.active or subscription.deleted_at is not None or not hears:
            await _cancel(claim, row)  # its history says so; redeliverWebhookEvent sends it later
            return
        outcome = await send(client, settings, subscription, found[row.event_id])
        await record(settings, claim, row, subscription, outcome)

    await asyncio.gather(*(one(row) for row in rows))
    return len(rows)


def tls_context() -> ssl.SSLContext:
    """Verifies the receiver's certificate against the public authorities httpx trusts by
    default (certifi's bundle), for the URL's host name (sent as SNI), although the
    connection goes to the checked address."""
    return ssl.create_default_context(cafile=certifi.where())


def http_client(settings: Settings) -> httpx.AsyncClient:
    """No proxy from the environment, no redirects, the attempt's timeout."""
    return httpx.AsyncClient(
        verify=tls_context(),
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(settings.webhook_timeout_seconds),
        limits=httpx.Limits(max_connections=BATCH, max_keepalive_connections=0),
    )


async def run_worker(settings: Settings) -> None:
    """The server's delivery loop: a batch whenever there is one, else a short sleep."""
    hooks.run_in_background()
    async with http_client(settings) as client:
        while True:
            try:
                claimed = await deliver_due(settings, client)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery failed")
                claimed = 0
            if claimed < BATCH:
                await asyncio.sleep(settings.webhook_poll_seconds)


async def purge_webhooks(retention_days: int) -> int:
    """Deliveries (with their attempts) and events older than the retention period."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    removed = await WebhookDelivery.filter(created_at__lt=before).delete()
    await WebhookEvent.filter(occurred_at__lt=before).delete()
    return removed
