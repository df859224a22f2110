"""The permissions an API consumer holds, as narrowed by support; null means the default
set (every permission but the support account's own)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0014_public_ids")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ApiConsumer",
            name="permissions",
            field=fields.JSONField(null=True),
        ),
    ]
