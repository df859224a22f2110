"""Event notifications to API consumers (webhooks): subscriptions, the outbox of events
written in the transaction of their change, and the deliveries of each event to each
subscription with their attempts."""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.consumer import ApiConsumer
    from chrgraph.db.models.organization import Organization

URL_MAX_LENGTH = 2048


class WebhookSubscription(Model):
    """Where an API consumer wants to be told of which events. The signing secret is kept
    encrypted under the API log's key ring (`secret_key` names the key); after a rotation
    the previous secret signs too until `previous_secret_until`. A deleted subscription
    keeps its row (`deleted_at`) so its delivery history stays readable."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="webhook_subscriptions", on_delete=fields.RESTRICT
    )
    organization_id: int
    consumer: fields.ForeignKeyRelation["ApiConsumer"] = fields.ForeignKeyField(
        "chrgraph.ApiConsumer", related_name="webhook_subscriptions", on_delete=fields.RESTRICT
    )
    consumer_id: int
    url = fields.CharField(max_length=URL_MAX_LENGTH)
    events: fields.JSONField[list[Any]] = fields.JSONField()
    description = fields.CharField(max_length=500, null=True)
    active = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=200, null=True)
    secret_key = fields.CharField(max_length=32)
    secret_sealed = fields.TextField()
    previous_secret_key = fields.CharField(max_length=32, null=True)
    previous_secret_sealed = fields.TextField(null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    deleted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_subscription"


class WebhookEvent(Model):
    """One event, written in the same transaction as the change it reports (an outbox);
    `payload` is exactly what receivers get (ids and changed field names, never a value
    of a record)."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="webhook_events", on_delete=fields.RESTRICT
    )
    organization_id: int
    type = fields.CharField(max_length=64)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    occurred_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "webhook_event"


class WebhookDelivery(Model):
    """One event to one subscription. `next_attempt_at` is when it is due (PENDING), or,
    while a worker holds it, when its claim lapses and another may take it (so a process
    killed between sending and recording leads to a redelivery, never a loss)."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="webhook_deliveries", on_delete=fields.RESTRICT
    )
    organization_id: int
    subscription: fields.ForeignKeyRelation[WebhookSubscription] = fields.ForeignKeyField(
        "chrgraph.WebhookSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    subscription_id: int
    event: fields.ForeignKeyRelation[WebhookEvent] = fields.ForeignKeyField(
        "chrgraph.WebhookEvent", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id: int
    event_type = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, default="PENDING")
    attempt_count = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True, db_index=True)
    claim = fields.CharField(max_length=32, null=True)
    last_http_status = fields.IntField(null=True)
    created_at = fields.DatetimeField(db_index=True)
    delivered_at = fields.DatetimeField(null=True)
    attempts: fields.ReverseRelation["WebhookAttempt"]

    class Meta:
        table = "webhook_delivery"


class WebhookAttempt(Model):
    """One HTTP attempt of a delivery: when, the answer's status, how long it took, the
    class of error when there was no answer, and at most 1 KiB of the answer's body."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "chrgraph.WebhookDelivery", related_name="attempts", on_delete=fields.CASCADE
    )
    delivery_id: int
    at = fields.DatetimeField()
    http_status = fields.IntField(null=True)
    duration_ms = fields.FloatField()
    error_class = fields.CharField(max_length=100, null=True)
    response_excerpt = fields.TextField(null=True)

    class Meta:
        table = "webhook_attempt"
