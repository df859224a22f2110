"""The fingerprint of the key that signed a consumer's request, on each audit event the
consumer made. Nullable: events of sessions, support and the system have none, and the
events written before this column keep their rows (and their hashes: the hash covers
the column only when it holds a value)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0022_patient_access_log")]

    initial = False

    operations = [
        ops.AddField(
            model_name="AuditEvent",
            name="actor_key_fingerprint",
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
