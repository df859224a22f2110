"""PostgreSQL refused user deletes with the append-only message of the audit tables;
say what the rule is: users are never deleted. SQLite's trigger already says so."""

from tortoise import migrations
from tortoise.migrations import operations as ops

POSTGRES = [
    """CREATE OR REPLACE FUNCTION chrgraph_refuse_delete() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql""",
    """DROP TRIGGER IF EXISTS user_never_deleted ON "user\"""",
    """CREATE TRIGGER user_never_deleted BEFORE DELETE ON "user"
       FOR EACH ROW EXECUTE FUNCTION chrgraph_refuse_delete()""",
]


async def forward(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect != "sqlite":
        for sql in POSTGRES:
            await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0009_checkpoints_append_only")]

    operations = [ops.RunPython(forward)]
