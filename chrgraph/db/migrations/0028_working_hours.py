"""Working hours: each schedule owner's weekly hours (one row per owner, with the length
of its slots) and its dated exceptions (one row per owner and local date), both in the
organization's local wall-clock time. New tables only: existing owners have no working
hours and stay bookable at any time."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.migrations import operations as ops


def _foreign_key(model: str, related_name: str, column: str) -> ForeignKeyFieldInstance:
    return fields.ForeignKeyField(
        model,
        source_field=column,
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=OnDelete.RESTRICT,
    )


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0027_webhooks")]

    initial = False

    operations = [
        ops.CreateModel(
            name="WorkingHours",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("organization", _foreign_key("chrgraph.Organization", "working_hours", "organization_id")),
                ("owner", _foreign_key("chrgraph.User", "working_hours", "owner_id")),
                ("slot_minutes", fields.IntField()),
                ("weekly", fields.JSONField()),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "working_hours",
                "app": "chrgraph",
                "pk_attr": "id",
                "unique_together": (("organization", "owner"),),
                "table_description": "A schedule owner's weekly working hours, in local wall-clock time.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ScheduleException",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("organization", _foreign_key("chrgraph.Organization", "schedule_exceptions", "organization_id")),
                ("owner", _foreign_key("chrgraph.User", "schedule_exceptions", "owner_id")),
                ("date", fields.DateField()),
                ("closed", fields.BooleanField()),
                ("intervals", fields.JSONField()),
            ],
            options={
                "table": "schedule_exception",
                "app": "chrgraph",
                "pk_attr": "id",
                "unique_together": (("owner", "date"),),
                "table_description": "One local date of an owner's schedule that differs from its weekly hours.",
            },
            bases=["Model"],
        ),
    ]
