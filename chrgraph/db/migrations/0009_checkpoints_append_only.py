"""Signed checkpoints are append-only too: deleting them would let a rewritten chain
pass `chrgraph audit verify` (the signed heads also stand in the application log)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
]
POSTGRES = [
    """CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
       FOR EACH ROW EXECUTE FUNCTION chrgraph_refuse_change()""",
]


async def forward(apps, schema_editor) -> None:
    statements = SQLITE if schema_editor.client.capabilities.dialect == "sqlite" else POSTGRES
    for sql in statements:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0008_licensing")]

    operations = [ops.RunPython(forward)]
