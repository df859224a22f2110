"""Users are never deleted: the database refuses DELETE on the user table."""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = [
    """CREATE TRIGGER user_no_delete BEFORE DELETE ON "user"
       BEGIN SELECT RAISE(ABORT, 'users are never deleted'); END""",
]
POSTGRES = [
    """CREATE TRIGGER user_never_deleted BEFORE DELETE ON "user"
       FOR EACH ROW EXECUTE FUNCTION chrgraph_refuse_change()""",
]


async def forward(apps, schema_editor) -> None:
    statements = SQLITE if schema_editor.client.capabilities.dialect == "sqlite" else POSTGRES
    for sql in statements:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0003_users")]

    operations = [ops.RunPython(forward)]
