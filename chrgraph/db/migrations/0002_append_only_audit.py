"""Make audit events append-only at the database: UPDATE and DELETE raise."""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION chrgraph_refuse_change() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION chrgraph_refuse_change()""",
]


async def forward(apps, schema_editor) -> None:
    statements = SQLITE if schema_editor.client.capabilities.dialect == "sqlite" else POSTGRES
    for sql in statements:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0001_initial")]

    operations = [ops.RunPython(forward)]
