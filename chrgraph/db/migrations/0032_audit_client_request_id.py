"""Audit events keep the caller's own X-Request-Id beside the server's request id, as
API-log rows already do. Older events have none; the chain's hash covers the column only
where it holds a value, so their hashes stand."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0031_outbox_claims")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="client_request_id",
            field=fields.CharField(max_length=128, null=True),
        ),
    ]
