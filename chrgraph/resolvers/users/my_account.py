"""What every session may do for itself: updateMyProfile and revokeMySession (its
sessions are read in `queries.my_sessions`)."""

from __future__ import annotations

from typing import Any

from chrgraph import clock
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.auth.sessions import session_public_id, session_ref
from chrgraph.db.models import Session, User
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.text import search_key
from chrgraph.resolvers.validation import Errors

# (argument, column, GraphQL name, longest, required)
_FIELDS = (
    ("first_name", "first_name", "firstName", 100, True),
    ("last_name", "last_name", "lastName", 100, True),
    ("title", "title", "title", 100, False),
    ("position", "position", "position", 100, False),
)


def _shown(user: User) -> dict[str, Any]:
    return {"firstName": user.first_name, "lastName": user.last_name, "title": user.title, "position": user.position}


async def update_my_profile(actor: Actor, **changes: Any) -> User:
    """The caller's own name, title and position (omitted fields stay; title and
    position may be cleared, names may not). Nothing else of a user is its own to change:
    its type, license, roles and the rest stay with those who manage users."""
    errors = Errors()
    cleaned: dict[str, str | None] = {}
    for argument, column, name, longest, required in _FIELDS:
        if argument in changes:
            cleaned[column] = errors.text(changes[argument], name, max_length=longest, required=required)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        user = await actor.data.users.filter(id=actor.principal.user_id).using_db(conn).get()
        before = {
            "firstName": user.first_name,
            "lastName": user.last_name,
            "title": user.title,
            "position": user.position,
        }
        for column, value in cleaned.items():
            setattr(user, column, value)
        after = {
            "firstName": user.first_name,
            "lastName": user.last_name,
            "title": user.title,
            "position": user.position,
        }
        delta = events.diff(before, after)
        if delta:
            user.search_key = search_key(user.first_name, user.last_name, user.email, user.display_name)
            await user.save(using_db=conn, update_fields=[*cleaned, "search_key"])
            await events.record(conn, actor, AuditAction.PROFILE_UPDATED, "User", user.public_id, delta)
    return user


async def revoke_my_session(actor: Actor, session_id: str | None) -> str:
    """End one of the caller's own open sessions (this one included): its next request
    is refused. Another user's session, or one already ended, is NOT_FOUND."""
    now = clock.now()
    async with atomic(revokes_credentials=True) as conn:
        # A user's open sessions are few: matched by their shown id, derived from the hash.
        open_sessions = (
            await Session.filter(user_id=actor.principal.user_id, revoked_at__isnull=True, expires_at__gt=now)
            .using_db(conn)
            .only("id", "token_hash")
        )
        session = next((s for s in open_sessions if session_public_id(s.token_hash) == session_id), None)
        if session is None:
            raise fail(ErrorCode.NOT_FOUND, "No such open session of yours.", "sessionId")
        await Session.filter(id=session.id).using_db(conn).update(revoked_at=now)
        details = {"session": session_ref(session.token_hash), "reason": "REVOKED_BY_USER"}
        await events.record(conn, actor, AuditAction.SESSION_REVOKED, "User", actor.principal.user_public_id, details)
    return session_public_id(session.token_hash)
