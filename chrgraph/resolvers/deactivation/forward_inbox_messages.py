"""forwardInboxMessages: give a user's visible inbox messages (snoozed included) to
another active user ahead of a deactivation, as deactivation itself does."""

from __future__ import annotations

from dataclasses import dataclass

from chrgraph.auth.principals import Actor
from chrgraph.db.models import User
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.deactivation.handover import active_member, forward_messages
from chrgraph.resolvers.errors import OperationFailed, UserError
from chrgraph.resolvers.users.lookup import get_user


@dataclass
class Forwarded:
    from_user: User
    to_user: User
    message_ids: list[str]


async def forward_inbox_messages(actor: Actor, from_user_id: int | None, to_user_id: int | None) -> Forwarded:
    """Every visible message of `from_user_id` now belongs to `to_user_id` (an active user
    other than the sender of the handover), one audit event per message."""
    async with atomic() as conn:
        source = await get_user(actor, from_user_id, conn, "fromUserId")
        receiver = await active_member(conn, actor, to_user_id, source.id, ("toUserId",), practitioner=False)
        if isinstance(receiver, UserError):
            raise OperationFailed(receiver)
        messages = (
            await actor.data.inbox_messages.filter(owner_id=source.id, hidden=False).using_db(conn).order_by("id")
        )
        forwarded = await forward_messages(conn, actor, messages, source, receiver)
    return Forwarded(source, receiver, forwarded)
