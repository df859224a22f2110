"""Mail outbox messages are claimed before they are sent, as webhook deliveries are, so
that two server processes never send one message twice: the claim's token and the
instant until which it holds. Existing rows start unclaimed."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0030_idempotency_keys")]

    initial = False

    operations = [
        ops.AddField(
            model_name="OutboxMessage",
            name="claim",
            field=fields.CharField(max_length=16, null=True),
        ),
        ops.AddField(
            model_name="OutboxMessage",
            name="claimed_until",
            field=fields.DatetimeField(null=True),
        ),
    ]
