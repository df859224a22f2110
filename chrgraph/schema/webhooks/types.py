"""Webhook subscriptions and deliveries as GraphQL types."""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from chrgraph.audit.webhooks import DESCRIPTIONS as EVENT_DESCRIPTIONS
from chrgraph.audit.webhooks import WebhookEventType
from chrgraph.db.models import WebhookAttempt as AttemptModel
from chrgraph.db.models import WebhookDelivery as DeliveryModel
from chrgraph.db.models import WebhookSubscription as SubscriptionModel
from chrgraph.db.public_ids import global_id
from chrgraph.schema.consumers.types import ApiConsumer

strawberry.enum(WebhookEventType, name="WebhookEvent", description="What an event notification reports.")
WebhookEvent = WebhookEventType
for _value in WebhookEventType.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = EVENT_DESCRIPTIONS[WebhookEventType(_value.value)]


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


_STATUS_DESCRIPTIONS = {
    "PENDING": "Due now or at `nextAttemptAt` (retries included).",
    "DELIVERED": "The receiver answered 2xx.",
    "FAILED": "Every retry failed, or the receiver answered 410 Gone; redeliver to try again.",
    "CANCELLED": "Not sent: its subscription was deleted or disabled before it was due.",
}
strawberry.enum(WebhookDeliveryStatus, description="Where a delivery stands.")
for _value in WebhookDeliveryStatus.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = _STATUS_DESCRIPTIONS[_value.value]


@strawberry.type(description="Where an API consumer is told of which events (signed, see the webhooks guide).")
class WebhookSubscription(relay.Node):
    id: strawberry.Private[int]
    consumer_key: strawberry.Private[int]
    public_id: relay.NodeID[str]
    url: str = strawberry.field(description="Where events are POSTed (https; checked at every attempt).")
    events: list[WebhookEventType] = strawberry.field(description="The events sent to it.")
    description: str | None = strawberry.field(description="The consumer's own note.")
    active: bool = strawberry.field(
        description="Whether events are sent; a 410 Gone answer turns it off (updateWebhookSubscription turns it on)."
    )
    disabled_reason: str | None = strawberry.field(description="Why the server turned it off, if it did.")
    previous_secret_valid_until: datetime.datetime | None = strawberry.field(
        description="After a rotation: until when the previous secret signs too (a second signature)."
    )
    created_at: datetime.datetime = strawberry.field(description="When it was created.")
    updated_at: datetime.datetime = strawberry.field(description="When it last changed.")

    @strawberry.field(description="The API consumer it belongs to.")
    async def consumer(self, info: strawberry.Info) -> ApiConsumer | None:
        row = await info.context.loaders.api_consumer_by_id.load(self.consumer_key)
        return ApiConsumer.from_model(row) if row else None

    @classmethod
    def from_model(cls, row: SubscriptionModel) -> WebhookSubscription:
        until = row.previous_secret_until
        return cls(
            id=row.id,
            consumer_key=row.consumer_id,
            public_id=row.public_id,
            url=row.url,
            events=[WebhookEventType(e) for e in row.events],
            description=row.description,
            active=row.active,
            disabled_reason=row.disabled_reason,
            previous_secret_valid_until=until if until and until > datetime.datetime.now(datetime.UTC) else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    at: datetime.datetime = strawberry.field(description="When it started (UTC).")
    http_status: int | None = strawberry.field(description="The receiver's HTTP status; null when none came.")
    duration_ms: float = strawberry.field(description="How long it took, in milliseconds.")
    error_class: str | None = strawberry.field(
        description=(
            "Why no answer came: timeout, connection_refused, connect_error, tls_error, url_not_allowed "
            "(the address rules refused the host at this attempt) or http_error."
        )
    )
    response_excerpt: str | None = strawberry.field(description="At most the first 1 KiB of the answer's body.")

    @classmethod
    def from_model(cls, row: AttemptModel) -> WebhookAttempt:
        return cls(
            at=row.at,
            http_status=row.http_status,
            duration_ms=row.duration_ms,
            error_class=row.error_class,
            response_excerpt=row.response_excerpt,
        )


def _json(value: Any) -> Any:
    return value


@strawberry.type(description="One event sent to one subscription, with its attempts (kept 30 days).")
class WebhookDelivery(relay.Node):
    public_id: relay.NodeID[str]
    subscription_id: relay.GlobalID = strawberry.field(description="The subscription it goes to.")
    message_id: str = strawberry.field(
        description="The event's id: the `webhook-id` header and the payload's `id`, the same on every attempt."
    )
    event: WebhookEventType = strawberry.field(description="What the event reports.")
    payload: JSON = strawberry.field(description="The body sent: type, id, occurredAt, organizationId, data.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempt_count: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: datetime.datetime | None = strawberry.field(description="When it is next tried, if pending.")
    last_http_status: int | None = strawberry.field(description="The last answer's HTTP status.")
    created_at: datetime.datetime = strawberry.field(description="When the event occurred and it was queued.")
    delivered_at: datetime.datetime | None = strawberry.field(description="When a 2xx answer came.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Its attempts, oldest first.")

    @classmethod
    def from_model(cls, row: DeliveryModel) -> WebhookDelivery:
        return cls(
            public_id=row.public_id,
            subscription_id=relay.GlobalID.from_id(global_id("WebhookSubscription", row.subscription.public_id)),
            message_id=str(row.event.payload["id"]),
            event=WebhookEventType(row.event_type),
            payload=_json(row.event.payload),
            status=WebhookDeliveryStatus(row.status),
            attempt_count=row.attempt_count,
            next_attempt_at=row.next_attempt_at if row.status == "PENDING" else None,
            last_http_status=row.last_http_status,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            attempts=[WebhookAttempt.from_model(a) for a in sorted(row.attempts, key=lambda a: a.id)],
        )
