"""Look-alike login emails (issue 16): `owner<zero width space>@x`, `ｏwner@x` (fullwidth)
and `оwner@x` (Cyrillic о) were distinct users beside `owner@x`. Login emails are now
keyed by NFKC then case folding, and compared by their UTS #39 confusable skeleton
(chrgraph/email_identity.py), kept as a digest in `user.email_skeleton` under a unique
index.

Existing users are keyed here. Accounts that clash are never dropped nor changed: one of
each clashing group keeps the address (a valid address first, then one already in its
normal form, then the oldest), the others keep their stored login email and
no skeleton (NULL, which the unique index allows), so the index is created whatever the
data holds. Each clash (and each stored address the rules now refuse) is logged here,
and `chrgraph users email-clashes` lists them at any time from the live data.

The same migration writes API-consumer key fingerprints in their shown form: SHA-256 of
the key's DER SubjectPublicKeyInfo in base64url (they were stored as hex)."""

from __future__ import annotations

import base64
import logging

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from chrgraph.email_identity import Flag, assign_addresses

INDEX = "uid_user_email_skeleton"
log = logging.getLogger("chrgraph")


async def key_login_emails(client) -> list[Flag]:
    mark = "?" if client.capabilities.dialect == "sqlite" else "$1"
    mark2 = "?" if client.capabilities.dialect == "sqlite" else "$2"
    mark3 = "?" if client.capabilities.dialect == "sqlite" else "$3"
    _, rows = await client.execute_query('SELECT id, login_email FROM "user" WHERE login_email IS NOT NULL ORDER BY id')
    writes, flagged = assign_addresses([(row["id"], row["login_email"]) for row in rows])
    if writes:
        await client.execute_many(
            f'UPDATE "user" SET login_email = {mark}, email_skeleton = {mark2} WHERE id = {mark3}',
            [[key, digest, user_id] for user_id, (key, digest) in writes.items()],
        )
    for flag in flagged:
        with_other = f" with user id={flag.clashes_with}" if flag.clashes_with else ""
        log.warning("login email of user id=%s flagged: %s%s", flag.user_id, flag.reason, with_other)
    return flagged


async def base64url_fingerprints(client) -> None:
    mark = "?" if client.capabilities.dialect == "sqlite" else "$1"
    mark2 = "?" if client.capabilities.dialect == "sqlite" else "$2"
    _, rows = await client.execute_query("SELECT id, fingerprint FROM api_consumer_key")
    updates = [
        [base64.urlsafe_b64encode(bytes.fromhex(row["fingerprint"])).rstrip(b"=").decode("ascii"), row["id"]]
        for row in rows
        if len(row["fingerprint"]) == 64  # hex; base64url of 32 bytes has 43 characters
    ]
    if updates:
        await client.execute_many(f"UPDATE api_consumer_key SET fingerprint = {mark} WHERE id = {mark2}", updates)


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    await key_login_emails(client)
    await client.execute_script(f'CREATE UNIQUE INDEX IF NOT EXISTS "{INDEX}" ON "user" (email_skeleton)')
    await base64url_fingerprints(client)


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0015_consumer_permissions")]

    operations = [
        ops.AddField(model_name="User", name="email_skeleton", field=fields.CharField(max_length=64, null=True)),
        ops.RunPython(forward),
    ]
