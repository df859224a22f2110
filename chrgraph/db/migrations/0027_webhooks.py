"""Event notifications (webhooks): subscriptions of API consumers, the outbox of events
written with their change, deliveries and their attempts."""

from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise.migrations import operations as ops

from chrgraph.db.public_ids import new_public_id


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0026_two_factor")]

    initial = False

    operations = [
        ops.CreateModel(
            name="WebhookEvent",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("public_id", fields.CharField(default=new_public_id, unique=True, max_length=26)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "chrgraph.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhook_events",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("type", fields.CharField(max_length=64)),
                ("payload", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("occurred_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhook_event",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "One event, written in the same transaction as the change it reports (an outbox).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookSubscription",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("public_id", fields.CharField(default=new_public_id, unique=True, max_length=26)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "chrgraph.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhook_subscriptions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "consumer",
                    fields.ForeignKeyField(
                        "chrgraph.ApiConsumer",
                        source_field="consumer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhook_subscriptions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("url", fields.CharField(max_length=2048)),
                ("events", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ("description", fields.CharField(null=True, max_length=500)),
                ("active", fields.BooleanField(default=True)),
                ("disabled_reason", fields.CharField(null=True, max_length=200)),
                ("secret_key", fields.CharField(max_length=32)),
                ("secret_sealed", fields.TextField(unique=False)),
                ("previous_secret_key", fields.CharField(null=True, max_length=32)),
                ("previous_secret_sealed", fields.TextField(null=True, unique=False)),
                ("previous_secret_until", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ("deleted_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhook_subscription",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "Where an API consumer wants to be told of which events.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("public_id", fields.CharField(default=new_public_id, unique=True, max_length=26)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "chrgraph.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="webhook_deliveries",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "subscription",
                    fields.ForeignKeyField(
                        "chrgraph.WebhookSubscription",
                        source_field="subscription_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "chrgraph.WebhookEvent",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="deliveries",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("event_type", fields.CharField(max_length=64)),
                ("status", fields.CharField(default="PENDING", max_length=16)),
                ("attempt_count", fields.IntField(default=0)),
                ("next_attempt_at", fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ("claim", fields.CharField(null=True, max_length=32)),
                ("last_http_status", fields.IntField(null=True)),
                ("created_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("delivered_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "webhook_delivery",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "One event to one subscription, its status and when it is next due.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="WebhookAttempt",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "delivery",
                    fields.ForeignKeyField(
                        "chrgraph.WebhookDelivery",
                        source_field="delivery_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="attempts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("http_status", fields.IntField(null=True)),
                ("duration_ms", fields.FloatField()),
                ("error_class", fields.CharField(null=True, max_length=100)),
                ("response_excerpt", fields.TextField(null=True, unique=False)),
            ],
            options={
                "table": "webhook_attempt",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "One HTTP attempt of a delivery and its outcome.",
            },
            bases=["Model"],
        ),
    ]
