"""Password resets: a single-use token per request (only its hash stored, valid one
hour), and the outbox message that carries one (its clear token waits in the message's
`token` column until delivery, as an invitation's does). A user's resets are found by
their user: indexed like the other foreign keys we look rows up by."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


async def index_user(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(
        'CREATE INDEX IF NOT EXISTS "fkx_password_reset_user_id" ON "password_reset" ("user_id")'
    )


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0024_security_policy")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PasswordReset",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "chrgraph.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="password_resets",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("voided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "password_reset",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "A single-use password-reset token sent by mail (only its hash is stored), valid",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="OutboxMessage",
            name="password_reset_id",
            field=fields.BigIntField(null=True),
        ),
        ops.RunPython(index_user),
    ]
