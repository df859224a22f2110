"""Indexes on the foreign keys we look rows up by (issue 5). Neither SQLite nor
PostgreSQL indexes a foreign key by itself, and only unique constraints made indexes
so far: listing an organization's users, a user's sessions or invitations, a
practitioner's appointments or a role's members scanned whole tables, a cost that grows
with every clinic on the server (voiding a user's old invitations scanned `invitation`
on every resend). The names are ours; Tortoise's autodetector does not track them."""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES: dict[str, list[tuple[str, ...]]] = {
    "api_consumer": [("organization_id",)],
    "api_log": [("organization_id", "created_at"), ("consumer_id",)],
    "appointment": [("organization_id", "start"), ("practitioner_id", "start"), ("patient_id",)],
    "audit_checkpoint": [("organization_id",)],
    "inbox_message": [("organization_id",), ("owner_id",), ("sender_id",), ("patient_id",)],
    "invitation": [("user_id",)],
    "lab_integration": [("organization_id",), ("backed_by_id",)],
    "license_change": [("user_id",), ("organization_id",)],
    "license_upgrade_request": [("organization_id",), ("user_id",)],
    "mdbilling_connection": [("organization_id",), ("user_id",)],
    "outbox_message": [("organization_id",)],
    "patient_identifier": [("identifier_type_id",)],
    "portal_image": [("organization_id",)],
    "questionnaire": [("organization_id",), ("appointment_id",), ("patient_id",), ("practitioner_id",)],
    "session": [("user_id",)],
    "user": [("organization_id",), ("locum_for_id",)],
    "user_role": [("role_id",)],
    "user_status_change": [("user_id",)],
}


def index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"fkx_{table}_{'_'.join(columns)}"


def statements() -> list[str]:
    return [
        f'CREATE INDEX IF NOT EXISTS "{index_name(table, columns)}" ON "{table}" ('
        + ", ".join(f'"{column}"' for column in columns)
        + ")"
        for table, indexes in INDEXES.items()
        for columns in indexes
    ]


async def forward(apps, schema_editor) -> None:
    for sql in statements():
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0010_user_delete_message")]

    operations = [ops.RunPython(forward)]
