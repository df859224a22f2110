"""Instants a client gave with an offset were stored on SQLite as that text
(`2027-01-11 12:00:00-05:00`), and SQLite compares them as text: slots overlapped and
lists came out of order. Rewrite them in UTC, the form every instant is now stored in;
the moment each names is unchanged. PostgreSQL stores `timestamptz` and needs nothing."""

from datetime import UTC, datetime

from tortoise import migrations
from tortoise.migrations import operations as ops

# Only these columns ever held an instant written by a client.
COLUMNS = {"appointment": ("start", "end"), "inbox_message": ("snoozed_until",)}


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            _, rows = await client.execute_query(
                f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL AND "{column}" NOT LIKE ?',
                ["%+00:00"],
            )
            for row in rows:
                value = datetime.fromisoformat(row[1])
                if value.utcoffset() is None:
                    continue  # naive text was never written with time zone support on
                utc = value.astimezone(UTC).isoformat(" ")
                await client.execute_query(f'UPDATE "{table}" SET "{column}" = ? WHERE id = ?', [utc, row[0]])


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0011_foreign_key_indexes")]

    operations = [ops.RunPython(forward)]
