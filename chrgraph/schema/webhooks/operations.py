"""Event notifications through GraphQL: an API consumer manages its own subscriptions;
the owner and the support account read every consumer's and may redeliver."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from chrgraph.audit.webhooks import WebhookEventType
from chrgraph.resolvers.webhooks import queries, subscriptions
from chrgraph.schema.errors import UserError, bad_user_input
from chrgraph.schema.nodes import register_node
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanManageOwnWebhooks, CanViewWebhooks
from chrgraph.schema.relay import After, Before, Connection, First, Last, paginate, parse_global_id
from chrgraph.schema.secrets import Secret
from chrgraph.schema.webhooks.types import WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription


@strawberry.input(description="Subscribe to event notifications.")
class CreateWebhookSubscriptionInput:
    url: str = strawberry.field(
        description=(
            "Where events are POSTed: https, a host that resolves only to public addresses "
            "(WEBHOOK_URL_NOT_ALLOWED otherwise), at most 2048 characters."
        )
    )
    events: list[WebhookEventType] = strawberry.field(description="The events to receive (at least one).")
    description: str | None = strawberry.field(default=None, description="A note of your own, up to 500 characters.")


@strawberry.type(description="The result of createWebhookSubscription.")
class CreateWebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = strawberry.field(description="The subscription.")
    secret: str | None = strawberry.field(
        directives=[Secret()],
        description="Its signing secret (`whsec_…`), shown this once: verify each delivery's signature with it.",
    )
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Change a subscription; fields left out stay as they are.")
class UpdateWebhookSubscriptionInput:
    subscription_id: relay.GlobalID = strawberry.field(
        description="One of your subscriptions.", metadata=refers_to("WebhookSubscription", key=False)
    )
    url: str | None = strawberry.field(default=strawberry.UNSET, description="A new URL (same rules as creation).")
    events: list[WebhookEventType] | None = strawberry.field(
        default=strawberry.UNSET, description="The events to receive from now on (at least one)."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="A new note.")
    active: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Turn it off, or on again after a 410 Gone disabled it."
    )


@strawberry.type(description="The result of updateWebhookSubscription.")
class UpdateWebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = strawberry.field(description="The subscription.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Give a subscription a new signing secret.")
class RotateWebhookSecretInput:
    subscription_id: relay.GlobalID = strawberry.field(
        description="One of your subscriptions.", metadata=refers_to("WebhookSubscription", key=False)
    )


@strawberry.type(description="The result of rotateWebhookSecret.")
class RotateWebhookSecretPayload:
    subscription: WebhookSubscription | None = strawberry.field(description="The subscription.")
    secret: str | None = strawberry.field(
        directives=[Secret()],
        description=(
            "The new signing secret, shown this once. For 24 hours the previous one signs too: each delivery "
            "carries two signatures."
        ),
    )
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Stop a subscription for good.")
class DeleteWebhookSubscriptionInput:
    subscription_id: relay.GlobalID = strawberry.field(
        description="One of your subscriptions.", metadata=refers_to("WebhookSubscription", key=False)
    )


@strawberry.type(description="The result of deleteWebhookSubscription.")
class DeleteWebhookSubscriptionPayload:
    subscription: WebhookSubscription | None = strawberry.field(
        description="The deleted subscription (its deliveries stay readable)."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Send a delivery again.")
class RedeliverWebhookEventInput:
    delivery_id: relay.GlobalID = strawberry.field(
        description="The delivery (a consumer: one of its own).", metadata=refers_to("WebhookDelivery", key=False)
    )


@strawberry.type(description="The result of redeliverWebhookEvent.")
class RedeliverWebhookEventPayload:
    delivery: WebhookDelivery | None = strawberry.field(
        description="The delivery, pending again with the same message id."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Narrow `webhookDeliveries`.")
class WebhookDeliveryFilter:
    subscription_id: relay.GlobalID | None = strawberry.field(default=None, description="Only this subscription.")
    event: WebhookEventType | None = strawberry.field(default=None, description="Only this event.")
    status: WebhookDeliveryStatus | None = strawberry.field(default=None, description="Only this status.")


async def _delivery(actor, row) -> WebhookDelivery:
    fresh = await queries.delivery(actor, row.public_id)
    assert fresh is not None  # written in this request, by a caller who may see it
    return WebhookDelivery.from_model(fresh)


@strawberry.type
class WebhooksQuery:
    @strawberry.field(
        description="Webhook subscriptions: a consumer's own; the owner and the support account see every consumer's.",
        permission_classes=[CanViewWebhooks],
    )
    async def webhook_subscriptions(self, info: strawberry.Info) -> list[WebhookSubscription] | None:
        return [WebhookSubscription.from_model(r) for r in await queries.subscriptions(info.context.actor)]

    @strawberry.field(
        description=(
            "Deliveries with their attempts, newest first (kept 30 days): a consumer's own; the owner and the "
            "support account see every consumer's."
        ),
        permission_classes=[CanViewWebhooks],
    )
    async def webhook_deliveries(
        self,
        info: strawberry.Info,
        filter: Annotated[
            WebhookDeliveryFilter | None,
            strawberry.argument(
                description="Only the deliveries of this subscription, event and status (each optional)."
            ),
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[WebhookDelivery] | None:
        f = filter or WebhookDeliveryFilter()
        subscription = None
        if f.subscription_id is not None:
            parsed = parse_global_id(f.subscription_id, "WebhookSubscription")
            if parsed is None:
                raise bad_user_input("No such webhook subscription.")
            subscription = parsed[1]
        query = queries.deliveries_query(
            info.context.actor,
            subscription=subscription,
            event_type=f.event.value if f.event is not None else None,
            status=f.status.value if f.status is not None else None,
        )
        s = info.context.settings
        return await paginate(
            query,
            WebhookDelivery.from_model,
            order=queries.DELIVERY_ORDER,
            first=first,
            after=after,
            last=last,
            before=before,
            default=s.default_page_size,
            maximum=s.max_page_size,
        )


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation(
        description=(
            "Subscribe to event notifications (API consumers, for themselves). The answer holds the signing "
            "secret, once. Errors: WEBHOOK_URL_NOT_ALLOWED, INVALID_INPUT."
        ),
        permission_classes=[CanManageOwnWebhooks],
    )
    async def create_webhook_subscription(
        self, info: strawberry.Info, input: CreateWebhookSubscriptionInput
    ) -> CreateWebhookSubscriptionPayload | None:
        operation = partial(subscriptions.create_webhook_subscription, info.context.actor)
        return await perform(
            CreateWebhookSubscriptionPayload,
            operation,
            input,
            subscription=lambda made: WebhookSubscription.from_model(made.subscription),
            secret=lambda made: made.secret,
        )

    @strawberry.mutation(
        description="Change one of your subscriptions. Errors: NOT_FOUND, WEBHOOK_URL_NOT_ALLOWED, INVALID_INPUT.",
        permission_classes=[CanManageOwnWebhooks],
    )
    async def update_webhook_subscription(
        self, info: strawberry.Info, input: UpdateWebhookSubscriptionInput
    ) -> UpdateWebhookSubscriptionPayload | None:
        operation = partial(subscriptions.update_webhook_subscription, info.context.actor)
        return await perform(
            UpdateWebhookSubscriptionPayload, operation, input, subscription=WebhookSubscription.from_model
        )

    @strawberry.mutation(
        description=(
            "Give one of your subscriptions a new signing secret; the previous one signs too for 24 hours. "
            "Errors: NOT_FOUND."
        ),
        permission_classes=[CanManageOwnWebhooks],
    )
    async def rotate_webhook_secret(
        self, info: strawberry.Info, input: RotateWebhookSecretInput
    ) -> RotateWebhookSecretPayload | None:
        operation = partial(subscriptions.rotate_webhook_secret, info.context.actor)
        return await perform(
            RotateWebhookSecretPayload,
            operation,
            input,
            subscription=lambda made: WebhookSubscription.from_model(made.subscription),
            secret=lambda made: made.secret,
        )

    @strawberry.mutation(
        description="Delete one of your subscriptions: nothing more is sent to it. Errors: NOT_FOUND.",
        permission_classes=[CanManageOwnWebhooks],
    )
    async def delete_webhook_subscription(
        self, info: strawberry.Info, input: DeleteWebhookSubscriptionInput
    ) -> DeleteWebhookSubscriptionPayload | None:
        operation = partial(subscriptions.delete_webhook_subscription, info.context.actor)
        return await perform(
            DeleteWebhookSubscriptionPayload, operation, input, subscription=WebhookSubscription.from_model
        )

    @strawberry.mutation(
        description=(
            "Queue a delivery again, due now, with the same message id: a consumer its own, the owner and the "
            "support account any. Errors: NOT_FOUND, INVALID_STATE (its subscription was deleted)."
        ),
        permission_classes=[CanViewWebhooks],
    )
    async def redeliver_webhook_event(
        self, info: strawberry.Info, input: RedeliverWebhookEventInput
    ) -> RedeliverWebhookEventPayload | None:
        actor = info.context.actor
        operation = partial(subscriptions.redeliver_webhook_event, actor)
        return await perform(RedeliverWebhookEventPayload, operation, input, delivery=partial(_delivery, actor))


async def _subscription_node(ctx, public_id: str) -> WebhookSubscription | None:
    row = await queries.subscription(ctx.actor, public_id)
    return WebhookSubscription.from_model(row) if row else None


async def _delivery_node(ctx, public_id: str) -> WebhookDelivery | None:
    row = await queries.delivery(ctx.actor, public_id)
    return WebhookDelivery.from_model(row) if row else None


register_node("WebhookSubscription", _subscription_node, CanViewWebhooks)
register_node("WebhookDelivery", _delivery_node, CanViewWebhooks)
