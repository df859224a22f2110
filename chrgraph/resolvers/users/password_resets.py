"""Password-reset tokens: single-use, hashed, valid one hour, delivered by mail.

As with invitations, the database keeps a token's hash for lookup; the clear token waits
in its outbox row's `token` column only until the message is delivered (or skipped), and
the stored body holds `RESET_LINK_MARK` where the reset link goes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from chrgraph.db.models import OutboxMessage, PasswordReset, User
from chrgraph.db.raw import insert
from chrgraph.resolvers.users.invitations import token_hash

RESET_TTL = timedelta(hours=1)
# Where a reset message's body takes its link, filled in at delivery.
RESET_LINK_MARK = "[reset link]"
TOKEN_PREFIX = "rst_"


def reset_link(public_url: str, token: str) -> str:
    """The admin client's reset page with the token in the fragment: a browser never
    sends a fragment, so the token reaches no access log and no proxy."""
    return f"{public_url.rstrip('/')}/admin/reset#token={token}"


async def issue_password_reset(conn, user: User, now: datetime) -> str:
    """Make a reset token for `user` and queue its message; returns the token."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    reset_id = await insert(
        conn,
        PasswordReset,
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + RESET_TTL,
    )
    await insert(
        conn,
        OutboxMessage,
        organization_id=user.organization_id,
        to_email=user.email,
        subject="Reset your chrgraph password",
        body=(
            f"Hello {user.first_name or ''},\n\n"
            "Someone (we hope you) asked to reset the password of your chrgraph account.\n"
            "Choose a new password here (the link works once, for one hour):\n\n"
            f"{RESET_LINK_MARK}\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.\n"
        ),
        created_at=now,
        password_reset_id=reset_id,
        token=token,
    )
    return token


async def void_open_resets(conn, user_id: int, now: datetime) -> None:
    """A password set another way (a change, a completed reset) voids the links still out."""
    await (
        PasswordReset.filter(user_id=user_id, used_at__isnull=True, voided_at__isnull=True)
        .using_db(conn)
        .update(voided_at=now)
    )
