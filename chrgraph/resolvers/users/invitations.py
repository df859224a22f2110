"""Invitation tokens and the outbox: single-use, hashed, expiring tokens.

The database keeps a token's hash for lookup; the clear token waits in its outbox row's
`token` column only until the message is delivered (or skipped), and the stored body
holds `ACCEPT_LINK_MARK` where the accept link goes, never the token itself."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from chrgraph.db.models import Invitation, OutboxMessage, User
from chrgraph.db.raw import insert
from chrgraph.settings import get_settings

# Where an invitation's body takes its accept link, filled in at delivery.
ACCEPT_LINK_MARK = "[accept link]"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def accept_link(public_url: str, token: str) -> str:
    """The admin client's accept page with the token in the fragment: a browser never
    sends a fragment, so the token reaches no access log and no proxy."""
    return f"{public_url.rstrip('/')}/admin/accept#token={token}"


async def issue_invitation(conn, user: User, organization_name: str, *, new_user: bool = False) -> str:
    """Void open invitations, make a new token, queue its email; returns the token.
    `new_user`: the user was created in this transaction and has none to void."""
    now = datetime.now(UTC)
    if not new_user:
        await (
            Invitation.filter(user_id=user.id, used_at__isnull=True, voided_at__isnull=True)
            .using_db(conn)
            .update(voided_at=now)
        )
    token = "inv_" + secrets.token_urlsafe(32)
    # Rows never read back here: inserted without model instances (chrgraph/db/raw.py).
    invitation_id = await insert(
        conn,
        Invitation,
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=get_settings().invitation_ttl_days),
    )
    await insert(
        conn,
        OutboxMessage,
        organization_id=user.organization_id,
        to_email=user.email,
        subject=f"You are invited to {organization_name}",
        body=(
            f"Hello {user.first_name},\n\nYou have been invited to {organization_name} on chrgraph.\n"
            f"Accept it here (the link is valid {get_settings().invitation_ttl_days:g} days):\n\n"
            f"{ACCEPT_LINK_MARK}\n"
        ),
        created_at=now,
        invitation_id=invitation_id,
        token=token,
    )
    return token
