"""A consumer's own cost budget per minute, set by support; null means the server's default."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0012_instants_in_utc")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ApiConsumer",
            name="cost_budget_per_minute",
            field=fields.IntField(null=True),
        ),
    ]
