"""Invitation messages kept their token in clear in the outbox body, delivered or not:
anyone reading the database could accept any pending invitation. From now on the body
holds a mark where the accept link goes, and the token waits in its own column only
until delivery. Existing rows: a delivered message's token is scrubbed from its body; a
queued one moves its token to the new column and is linked to its invitation (so
delivery can check it is still due), or is skipped when no invitation has that token;
a queued message given up after too many failures is skipped and scrubbed too."""

import hashlib
import re
from datetime import UTC, datetime

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# As the code writes them (resolvers/users/invitations.py), frozen here.
_TOKEN = re.compile(r"inv_[A-Za-z0-9_-]+")
_MARK = "[accept link]"
_MAX_ATTEMPTS = 10


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"

    def marks(count: int) -> list[str]:
        return ["?"] * count if sqlite else [f"${n}" for n in range(1, count + 1)]

    now: object = datetime.now(UTC)
    if sqlite:
        now = datetime.now(UTC).isoformat(" ")
    _, rows = await client.execute_query(
        "SELECT id, body, sent_at, attempts FROM outbox_message WHERE subject LIKE 'You are invited to %'"
    )
    for message_id, body, sent_at, attempts in rows:
        tokens = _TOKEN.findall(body)
        if not tokens:
            continue
        scrubbed = _TOKEN.sub(_MARK, body)
        if sent_at is not None:
            a, b = marks(2)
            await client.execute_query(f"UPDATE outbox_message SET body = {a} WHERE id = {b}", [scrubbed, message_id])
            continue
        a = marks(1)[0]
        _, found = await client.execute_query(
            f"SELECT id FROM invitation WHERE token_hash = {a}", [hashlib.sha256(tokens[-1].encode()).hexdigest()]
        )
        if found and attempts < _MAX_ATTEMPTS:
            a, b, c, d = marks(4)
            await client.execute_query(
                f"UPDATE outbox_message SET body = {a}, token = {b}, invitation_id = {c} WHERE id = {d}",
                [scrubbed, tokens[-1], found[0][0], message_id],
            )
        else:
            reason = "undeliverable" if found else "invitation unknown"
            a, b, c, d = marks(4)
            await client.execute_query(
                f"UPDATE outbox_message SET body = {a}, skipped_at = {b}, skip_reason = {c} WHERE id = {d}",
                [scrubbed, now, reason, message_id],
            )


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0016_email_skeletons")]

    initial = False

    operations = [
        ops.AddField(model_name="OutboxMessage", name="invitation_id", field=fields.BigIntField(null=True)),
        ops.AddField(model_name="OutboxMessage", name="token", field=fields.CharField(max_length=200, null=True)),
        ops.AddField(model_name="OutboxMessage", name="skipped_at", field=fields.DatetimeField(null=True)),
        ops.AddField(model_name="OutboxMessage", name="skip_reason", field=fields.CharField(max_length=100, null=True)),
        ops.RunPython(forward),
    ]
