"""Look-alike login emails (issue 16): `owner<zero width space>@x`, `ｏwner@x` (fullwidth)
and `оwner@x` (Cyrillic о) were distinct users beside `owner@x`. Login emails are now
keyed by NFKC then case folding, and compared by their UTS #39 confusable skeleton
(chrgraph/email_identity.py), kept as a digest in `user.email_skeleton` under a unique
index.

Existing users are keyed here. Accounts that clash are never dropped nor changed: one of
each clashing group keeps the address (an account whose stored address is already in
its normal form first, then the oldest), the others keep their stored login email and
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

from chrgraph.email_identity import skeleton_digest, stored_address

INDEX = "uid_user_email_skeleton"
log = logging.getLogger("chrgraph")


def plan(rows: list[tuple[int, str]]) -> tuple[dict[int, tuple[str, str]], list[tuple[int, int | None, str]]]:
    """Given (id, stored login email) rows, what to write: {id: (login email, skeleton
    digest)} for the accounts that keep their address, and the flagged ones as
    (id, id of the account it clashes with or None, reason)."""
    addresses = {user_id: stored_address(email) for user_id, email in rows}
    stored = {user_id: email for user_id, email in rows}
    holders = {email: user_id for user_id, email in rows}
    # An address already in its normal form keeps it before an older look-alike does.
    order = sorted(rows, key=lambda row: (addresses[row[0]].key != row[1], row[0]))
    by_skeleton: dict[str, int] = {}
    writes: dict[int, tuple[str, str]] = {}
    flagged: list[tuple[int, int | None, str]] = []
    for user_id, _ in order:
        address = addresses[user_id]
        other = by_skeleton.get(address.skeleton)
        # A new key must not be another account's stored login email (unique column).
        holder = holders.get(address.key)
        if other is None and holder not in (None, user_id):
            other = holder
        if other is not None:
            flagged.append((user_id, other, "clash"))
            continue
        by_skeleton[address.skeleton] = user_id
        key = address.key if address.problem is None else stored[user_id]
        writes[user_id] = (key, skeleton_digest(address.skeleton))
        if address.problem is not None:
            flagged.append((user_id, None, f"invalid: {address.problem}"))
    return writes, flagged


async def key_login_emails(client) -> list[tuple[int, int | None, str]]:
    mark = "?" if client.capabilities.dialect == "sqlite" else "$1"
    mark2 = "?" if client.capabilities.dialect == "sqlite" else "$2"
    mark3 = "?" if client.capabilities.dialect == "sqlite" else "$3"
    _, rows = await client.execute_query('SELECT id, login_email FROM "user" WHERE login_email IS NOT NULL ORDER BY id')
    writes, flagged = plan([(row["id"], row["login_email"]) for row in rows])
    if writes:
        await client.execute_many(
            f'UPDATE "user" SET login_email = {mark}, email_skeleton = {mark2} WHERE id = {mark3}',
            [[key, digest, user_id] for user_id, (key, digest) in writes.items()],
        )
    for user_id, other, reason in flagged:
        with_other = f" with user id={other}" if other else ""
        log.warning("login email of user id=%s flagged: %s%s", user_id, reason, with_other)
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
