"""Idempotency keys: a consumer's or a user's `Idempotency-Key` claims, recorded in the
mutation's own transaction with the ids it wrote, and the answer to replay (encrypted
like API-log content), kept 24 hours."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from chrgraph.db.public_ids import LENGTH, new_public_id


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0029_booking_data")]

    initial = False

    operations = [
        ops.CreateModel(
            name="IdempotencyKey",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("public_id", fields.CharField(max_length=LENGTH, unique=True, default=new_public_id)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "chrgraph.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="idempotency_keys",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("owner", fields.CharField(max_length=40)),
                ("key", fields.CharField(max_length=255)),
                ("request_hash", fields.CharField(max_length=64)),
                ("token", fields.CharField(max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
                ("claimed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("committed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("written_ids", fields.JSONField(null=True)),
                ("status", fields.IntField(null=True)),
                ("content", fields.TextField(null=True)),
                ("content_key", fields.CharField(null=True, max_length=16)),
            ],
            options={
                "table": "idempotency_key",
                "app": "chrgraph",
                "unique_together": (("owner", "key"),),
                "pk_attr": "id",
                "table_description": "One Idempotency-Key of an API consumer or a user: the request it claimed "
                "(by digest), whether its mutation committed and what it wrote, and the answer to replay "
                "(encrypted). Purged 24 hours after it was first claimed.",
            },
            bases=["Model"],
        ),
    ]
