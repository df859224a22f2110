"""The API log's query text, variables and response bodies are encrypted at rest
(AES-GCM, a key ring in a file outside the database: chrgraph/db/log_keys.py), and each
row gets a random public id (the tie-breaker of `apiLogs` cursors, and what its
ciphertext is bound to). Existing rows are encrypted here, under the newest key of the
ring (made beside the SQLite database when missing; with PostgreSQL
CHRGRAPH_LOG_ENCRYPTION_KEY must name it, but only when there are rows to encrypt), then
the clear columns are dropped."""

from typing import Any

import orjson
from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from chrgraph.db.log_keys import key_ring_path, load_key_ring
from chrgraph.db.public_ids import LENGTH, new_public_id
from chrgraph.settings import get_settings

_BATCH = 500


def _json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return orjson.loads(value)
    return value


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    marks = ("?", "?", "?", "?") if dialect == "sqlite" else ("$1", "$2", "$3", "$4")
    ring = None
    while True:
        _, rows = await client.execute_query(
            f"SELECT id, query, variables, response_body FROM api_log WHERE public_id IS NULL LIMIT {_BATCH}"
        )
        if not rows:
            break
        if ring is None:  # the key of the database this process was started for
            ring = load_key_ring(key_ring_path(get_settings()), create=True)
        updates = []
        for row in rows:
            public_id = new_public_id()
            plaintext = orjson.dumps(
                {"query": row[1], "variables": _json(row[2]), "responseBody": row[3]},
            )
            key, content = ring.seal(public_id, plaintext)
            updates.append([public_id, content, key, row[0]])
        await client.execute_many(
            "UPDATE api_log SET public_id = {}, content = {}, content_key = {} WHERE id = {}".format(*marks),
            updates,
        )
    await client.execute_script('CREATE UNIQUE INDEX "uid_api_log_public_id" ON "api_log" (public_id)')
    if dialect != "sqlite":  # SQLite cannot make an added column NOT NULL
        await client.execute_script("ALTER TABLE api_log ALTER COLUMN public_id SET NOT NULL")


async def restore_indexes(apps, schema_editor) -> None:
    """SQLite drops a column by rebuilding the table, and the rebuilt table has lost the
    indexes migration 0011 made: put them back (a no-op on PostgreSQL, which kept them)."""
    for name, columns in (
        ("fkx_api_log_organization_id_created_at", '"organization_id", "created_at"'),
        ("fkx_api_log_consumer_id", '"consumer_id"'),
    ):
        await schema_editor.client.execute_script(f'CREATE INDEX IF NOT EXISTS "{name}" ON "api_log" ({columns})')


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0020_api_log_client_request_id")]

    operations = [
        ops.AddField(model_name="ApiLog", name="public_id", field=fields.CharField(max_length=LENGTH, null=True)),
        ops.AddField(model_name="ApiLog", name="content", field=fields.TextField(null=True)),
        ops.AddField(model_name="ApiLog", name="content_key", field=fields.CharField(max_length=16, null=True)),
        ops.RunPython(forward),
        ops.RemoveField(model_name="ApiLog", name="query"),
        ops.RemoveField(model_name="ApiLog", name="variables"),
        ops.RemoveField(model_name="ApiLog", name="response_body"),
        ops.RunPython(restore_indexes),
    ]
