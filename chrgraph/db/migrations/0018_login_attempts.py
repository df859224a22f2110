"""The login throttle counts per email and client address: each failed (or pending)
password check records the address it came from. Rows from before count for the email
only, under "unknown", and leave the 15-minute window soon enough."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0017_outbox_tokens")]

    initial = False

    operations = [
        ops.AddField(
            model_name="LoginFailure",
            name="address",
            field=fields.CharField(max_length=64, default="unknown"),
        ),
    ]
