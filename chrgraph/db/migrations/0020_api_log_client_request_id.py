"""API-log rows carry the fingerprint of the consumer key that signed the request, and
the caller's own X-Request-Id beside the request id, which is now always the server's.
Older rows have neither."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0019_appointment_kind")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ApiLog",
            name="key_fingerprint",
            field=fields.CharField(max_length=64, null=True),
        ),
        ops.AddField(
            model_name="ApiLog",
            name="client_request_id",
            field=fields.CharField(max_length=128, null=True),
        ),
    ]
