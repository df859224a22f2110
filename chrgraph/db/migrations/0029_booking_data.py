"""What booking and registration vendors need: a patient's sex, postal address, health
card issuing province and version code; an appointment's reason; when each patient and
appointment last changed, and the audit sequence number of that change (the change
feeds read rows in that order, through the index made here).

Existing rows: sex UNKNOWN, no address, province or version, no reason (nothing was ever
recorded); `updated_at` is their `created_at` (the audit log keeps the true history of
earlier changes); `change_seq` 0, so a feed read from the beginning returns every
existing row first, in id order, then every later change in commit order."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from chrgraph.db.models.enums import Sex

TABLES = ("patient", "appointment")


def index_name(table: str) -> str:
    return f"chx_{table}_organization_id_change_seq"


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    for table in TABLES:
        await client.execute_script(f'UPDATE "{table}" SET "updated_at" = "created_at" WHERE "updated_at" IS NULL')
        if dialect != "sqlite":  # SQLite cannot make an added column NOT NULL
            await client.execute_script(f'ALTER TABLE "{table}" ALTER COLUMN "updated_at" SET NOT NULL')
        await client.execute_script(
            f'CREATE INDEX IF NOT EXISTS "{index_name(table)}" ON "{table}" ("organization_id", "change_seq", "id")'
        )


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0028_working_hours")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Patient",
            name="sex",
            field=fields.CharEnumField(
                default=Sex.UNKNOWN,
                db_default=Sex.UNKNOWN.value,
                description="FEMALE: FEMALE\nMALE: MALE\nOTHER: OTHER\nUNKNOWN: UNKNOWN",
                enum_type=Sex,
                max_length=8,
            ),
        ),
        ops.AddField(
            model_name="Patient", name="health_card_province", field=fields.CharField(max_length=2, null=True)
        ),
        ops.AddField(model_name="Patient", name="health_card_version", field=fields.CharField(max_length=2, null=True)),
        ops.AddField(model_name="Patient", name="address_lines", field=fields.CharField(max_length=310, null=True)),
        ops.AddField(model_name="Patient", name="address_city", field=fields.CharField(max_length=100, null=True)),
        ops.AddField(model_name="Patient", name="address_province", field=fields.CharField(max_length=2, null=True)),
        ops.AddField(model_name="Patient", name="address_postal_code", field=fields.CharField(max_length=7, null=True)),
        ops.AddField(model_name="Patient", name="updated_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="Patient", name="change_seq", field=fields.BigIntField(default=0, db_default=0)),
        ops.AddField(model_name="Appointment", name="reason", field=fields.CharField(max_length=500, null=True)),
        ops.AddField(model_name="Appointment", name="updated_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="Appointment", name="change_seq", field=fields.BigIntField(default=0, db_default=0)),
        ops.RunPython(forward),
    ]
