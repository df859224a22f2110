"""Webhook subscriptions: an API consumer manages its own; the owner and the support
account read every consumer's deliveries and may queue one again.

Each operation validates, then writes in one transaction with its audit event. The
signing secret (Standard Webhooks form, `whsec_` and base64 of 32 random bytes) is shown
once, by the operation that makes it, and kept encrypted under the API log's key ring."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chrgraph.audit.actions import AuditAction
from chrgraph.audit.events import diff, ref
from chrgraph.audit.events import record as audit_record
from chrgraph.audit.webhooks import WebhookEventType
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db import log_keys
from chrgraph.db.models import WebhookDelivery, WebhookSubscription
from chrgraph.db.models.webhooks import URL_MAX_LENGTH
from chrgraph.db.public_ids import new_public_id
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.validation import Errors
from chrgraph.resolvers.webhooks.addresses import UrlNotAllowed, allowed_hosts, check
from chrgraph.settings import get_settings

# How long the previous secret keeps signing after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_SUBSCRIPTIONS_PER_CONSUMER = 20


@dataclass(frozen=True, slots=True)
class WithSecret:
    """A subscription and its signing secret in clear, shown this once."""

    subscription: WebhookSubscription
    secret: str


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _aad(public_id: str) -> str:
    # Bound to its subscription: a secret copied onto another row does not decrypt.
    return f"webhook-secret:{public_id}"


def seal(public_id: str, secret: str) -> tuple[str, str]:
    return log_keys.current.get().seal(_aad(public_id), secret.encode("ascii"))


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one for a
    day after a rotation (receivers that still hold it keep verifying)."""
    found = [log_keys.open_content(_aad(subscription.public_id), subscription.secret_key, subscription.secret_sealed)]
    if (
        subscription.previous_secret_sealed is not None
        and subscription.previous_secret_key is not None
        and subscription.previous_secret_until is not None
        and subscription.previous_secret_until > now
    ):
        found.append(
            log_keys.open_content(
                _aad(subscription.public_id), subscription.previous_secret_key, subscription.previous_secret_sealed
            )
        )
    return [s.decode("ascii") for s in found]


def _own_consumer(actor: Actor) -> int:
    consumer_id = actor.principal.consumer_id
    if actor.principal.kind is not PrincipalKind.CONSUMER or consumer_id is None:
        raise fail(ErrorCode.NOT_FOUND, "Webhook subscriptions are managed by their API consumer.")
    return consumer_id


async def _checked_url(errors: Errors, url: str | None) -> str | None:
    url = errors.text(url, "url", max_length=URL_MAX_LENGTH, required=True)
    if url is None:
        return None
    try:
        await check(url, allowed_hosts(get_settings().webhook_allowed_hosts))
    except UrlNotAllowed as refused:
        errors.add(ErrorCode.WEBHOOK_URL_NOT_ALLOWED, str(refused), "url")
        return None
    return url


def _events(errors: Errors, events_: list[Any] | None) -> list[str] | None:
    if not events_:
        errors.add(ErrorCode.INVALID_INPUT, "Name at least one event.", "events")
        return None
    return sorted({str(WebhookEventType(e)) for e in events_})


def _shown(row: WebhookSubscription) -> dict[str, Any]:
    return {"url": row.url, "events": list(row.events), "description": row.description, "active": row.active}


async def create_webhook_subscription(
    actor: Actor, url: str, events: list[Any], description: str | None = None
) -> WithSecret:
    consumer_id = _own_consumer(actor)
    errors = Errors()
    checked = await _checked_url(errors, url)
    chosen = _events(errors, events)
    description = errors.text(description, "description", max_length=500)
    if errors:
        raise OperationFailed(*errors.items)
    public_id, secret = new_public_id(), new_secret()
    key, sealed = seal(public_id, secret)
    async with atomic() as conn:
        live = actor.data.webhook_subscriptions.filter(consumer_id=consumer_id, deleted_at__isnull=True)
        if await live.using_db(conn).count() >= MAX_SUBSCRIPTIONS_PER_CONSUMER:
            raise fail(
                ErrorCode.INVALID_INPUT,
                f"A consumer holds at most {MAX_SUBSCRIPTIONS_PER_CONSUMER} subscriptions.",
                "url",
            )
        row = await actor.data.create(
            WebhookSubscription,
            public_id=public_id,
            consumer_id=consumer_id,
            url=checked,
            events=chosen,
            description=description,
            secret_key=key,
            secret_sealed=sealed,
            using_db=conn,
        )
        await _record(conn, actor, AuditAction.WEBHOOK_SUBSCRIPTION_CREATED, row, _shown(row))
    return WithSecret(row, secret)


async def _record(conn, actor: Actor, action: AuditAction, row: WebhookSubscription, changes: dict) -> None:
    await audit_record(conn, actor, action, "WebhookSubscription", row.public_id, changes)


async def _own(conn, actor: Actor, subscription_id: str) -> WebhookSubscription:
    """The caller's own live subscription by public id; any other is NOT_FOUND."""
    consumer_id = _own_consumer(actor)
    row = (
        await actor.data.webhook_subscriptions.filter(
            public_id=subscription_id, consumer_id=consumer_id, deleted_at__isnull=True
        )
        .using_db(conn)
        .select_for_update()
        .first()
    )
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such webhook subscription.", "subscriptionId")
    return row


async def update_webhook_subscription(
    actor: Actor,
    subscription_id: str,
    url: str | None = None,
    events: list[Any] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    """Fields left out stay as they are; `active: true` turns a subscription that a
    `410 Gone` disabled back on."""
    errors = Errors()
    checked = await _checked_url(errors, url) if url is not None else None
    chosen = _events(errors, events) if events is not None else None
    description = errors.text(description, "description", max_length=500)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        row = await _own(conn, actor, subscription_id)
        before = _shown(row)
        if checked is not None:
            row.url = checked
        if chosen is not None:
            row.events = chosen
        if description is not None:
            row.description = description
        if active is not None:
            row.active = active
            row.disabled_reason = None if active else row.disabled_reason
        delta = diff(before, _shown(row))
        if delta:
            await row.save(using_db=conn)
            await _record(conn, actor, AuditAction.WEBHOOK_SUBSCRIPTION_UPDATED, row, delta)
    return row


async def rotate_webhook_secret(actor: Actor, subscription_id: str) -> WithSecret:
    """A new secret signs from now on; the one before it signs too for a day."""
    secret = new_secret()
    async with atomic() as conn:
        row = await _own(conn, actor, subscription_id)
        key, sealed = seal(row.public_id, secret)
        row.previous_secret_key, row.previous_secret_sealed = row.secret_key, row.secret_sealed
        row.previous_secret_until = datetime.now(UTC) + ROTATION_OVERLAP
        row.secret_key, row.secret_sealed = key, sealed
        await row.save(using_db=conn)
        await _record(
            conn,
            actor,
            AuditAction.WEBHOOK_SECRET_ROTATED,
            row,
            {"previousSecretValidUntil": row.previous_secret_until},
        )
    return WithSecret(row, secret)


async def delete_webhook_subscription(actor: Actor, subscription_id: str) -> WebhookSubscription:
    """Nothing more is sent to it (its pending deliveries are dropped); its history stays."""
    async with atomic() as conn:
        row = await _own(conn, actor, subscription_id)
        row.deleted_at, row.active = datetime.now(UTC), False
        await row.save(using_db=conn)
        await (
            actor.data.webhook_deliveries.filter(subscription_id=row.id, status="PENDING")
            .using_db(conn)
            .update(status="CANCELLED", next_attempt_at=None)
        )
        await _record(conn, actor, AuditAction.WEBHOOK_SUBSCRIPTION_DELETED, row, {"deleted": True})
    return row


def sees_all(actor: Actor) -> bool:
    """The owner and the support account see every consumer's subscriptions."""
    principal = actor.principal
    return principal.kind is PrincipalKind.SUPPORT or (principal.kind is PrincipalKind.USER and principal.is_owner)


async def redeliver_webhook_event(actor: Actor, delivery_id: str) -> WebhookDelivery:
    """Queue a delivery again, due now, with the same message id (receivers that already
    have it can tell); a consumer only its own, the owner and support any. A delivery of
    a deleted subscription is not sent again."""
    async with atomic() as conn:
        query = actor.data.webhook_deliveries.filter(public_id=delivery_id)
        if not sees_all(actor):
            query = query.filter(subscription__consumer_id=_own_consumer(actor))
        row = await query.using_db(conn).select_for_update().first()
        if row is None:
            raise fail(ErrorCode.NOT_FOUND, "No such webhook delivery.", "deliveryId")
        subscription = await actor.data.webhook_subscriptions.filter(id=row.subscription_id).using_db(conn).get()
        if subscription.deleted_at is not None:
            raise fail(ErrorCode.INVALID_STATE, "Its subscription was deleted.", "deliveryId")
        before = row.status
        row.status, row.next_attempt_at, row.claim = "PENDING", datetime.now(UTC), None
        await row.save(using_db=conn, update_fields=["status", "next_attempt_at", "claim"])
        await audit_record(
            conn,
            actor,
            AuditAction.WEBHOOK_REDELIVERY_REQUESTED,
            "WebhookSubscription",
            subscription.public_id,
            {
                "delivery": ref("WebhookDelivery", row.public_id),
                "status": {"before": before, "after": "PENDING"},
            },
        )
    return row
