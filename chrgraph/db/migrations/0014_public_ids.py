"""A random public identifier on every record a global id names (issue 15): global ids
carried the sequential database key, which told a clinic how many records the server's
other clinics create. Existing rows get a fresh random id each; new rows get one from the
model's default. Audit events are append-only: their refusing triggers are lifted for
the fill and put back in the same migration (the id is not part of an event's hash)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from chrgraph.db.public_ids import LENGTH, new_public_id

# Model name -> table.
TABLES = {
    "Organization": "organization",
    "User": "user",
    "Role": "role",
    "IdentifierType": "identifier_type",
    "Patient": "patient",
    "Appointment": "appointment",
    "Questionnaire": "questionnaire",
    "InboxMessage": "inbox_message",
    "LabIntegration": "lab_integration",
    "MdBillingConnection": "mdbilling_connection",
    "ApiConsumer": "api_consumer",
    "AuditEvent": "audit_event",
    "LicenseUpgradeRequest": "license_upgrade_request",
}
_BATCH = 1000

_AUDIT_OFF = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_event_no_update"],
    "postgres": ["ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"],
}
_AUDIT_ON = {
    "sqlite": [
        """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
           BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"""
    ],
    "postgres": ["ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"],
}


def index_name(table: str) -> str:
    return f"uid_{table}_public_id"


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    mark = "?" if dialect == "sqlite" else "$1"
    mark2 = "?" if dialect == "sqlite" else "$2"
    for sql in _AUDIT_OFF[dialect]:
        await client.execute_script(sql)
    for table in TABLES.values():
        while True:
            _, rows = await client.execute_query(f'SELECT id FROM "{table}" WHERE public_id IS NULL LIMIT {_BATCH}')
            if not rows:
                break
            await client.execute_many(
                f'UPDATE "{table}" SET public_id = {mark} WHERE id = {mark2}',
                [[new_public_id(), row[0]] for row in rows],
            )
        await client.execute_script(f'CREATE UNIQUE INDEX "{index_name(table)}" ON "{table}" (public_id)')
        if dialect != "sqlite":  # SQLite cannot make an added column NOT NULL
            await client.execute_script(f'ALTER TABLE "{table}" ALTER COLUMN public_id SET NOT NULL')
    for sql in _AUDIT_ON[dialect]:
        await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0013_consumer_cost_budget")]

    operations = [
        *(
            ops.AddField(model_name=model, name="public_id", field=fields.CharField(max_length=LENGTH, null=True))
            for model in TABLES
        ),
        ops.RunPython(forward),
    ]
