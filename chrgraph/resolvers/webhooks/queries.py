"""Reads of webhook subscriptions and deliveries: a consumer sees its own, the owner and
the support account every consumer's."""

from __future__ import annotations

from typing import Any

from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import WebhookDelivery, WebhookSubscription
from chrgraph.resolvers.webhooks.subscriptions import sees_all

# The order of `webhookDeliveries` (and of its cursors): newest first.
DELIVERY_ORDER = ("-created_at", "-public_id")


def _consumer_filter(actor: Actor) -> int | None:
    """The consumer whose rows the caller sees; None: every consumer's."""
    if sees_all(actor):
        return None
    if actor.principal.kind is PrincipalKind.CONSUMER and actor.principal.consumer_id is not None:
        return actor.principal.consumer_id
    return -1  # nobody else sees any (the permission class refuses them first)


async def subscriptions(actor: Actor) -> list[WebhookSubscription]:
    query = actor.data.webhook_subscriptions.filter(deleted_at__isnull=True)
    consumer = _consumer_filter(actor)
    if consumer is not None:
        query = query.filter(consumer_id=consumer)
    return await query.order_by("id")


async def subscription(actor: Actor, public_id: str) -> WebhookSubscription | None:
    query = actor.data.webhook_subscriptions.filter(public_id=public_id)
    consumer = _consumer_filter(actor)
    if consumer is not None:
        query = query.filter(consumer_id=consumer)
    return await query.first()


def deliveries_query(
    actor: Actor,
    *,
    subscription: str | None = None,
    event_type: str | None = None,
    status: str | None = None,
) -> Any:
    """The caller's deliveries (with their event, subscription and attempts, prefetched:
    a constant number of statements per page)."""
    query = actor.data.webhook_deliveries
    consumer = _consumer_filter(actor)
    if consumer is not None:
        query = query.filter(subscription__consumer_id=consumer)
    if subscription is not None:
        query = query.filter(subscription__public_id=subscription)
    if event_type is not None:
        query = query.filter(event_type=event_type)
    if status is not None:
        query = query.filter(status=status)
    return query.prefetch_related("event", "subscription", "attempts")


async def delivery(actor: Actor, public_id: str) -> WebhookDelivery | None:
    return await deliveries_query(actor).filter(public_id=public_id).first()
