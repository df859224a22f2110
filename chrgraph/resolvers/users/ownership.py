"""transferOwnership and the support account's password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.passwords import hash_password, password_problem
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Organization, Session, User, UserStatus, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.lookup import get_user, require_password
from chrgraph.resolvers.users.text import normalize_email
from chrgraph.resolvers.validation import Errors


async def transfer_ownership(
    actor: Actor, user_id: int | None, password: str | None, *, reason: str | None = None
) -> Organization:
    """The owner hands the organization to another active Staff member or Practitioner
    (re-entering its password); the support account does it through the CLI with a
    reason (`transfer_ownership_by_email`), recorded in the audit event."""
    await require_password(actor, password)
    async with atomic(revokes_credentials=True) as conn:
        user = await get_user(actor, user_id, conn)
        if user.type not in (UserType.STAFF, UserType.PRACTITIONER) or user.status is not UserStatus.ACTIVE:
            raise fail(ErrorCode.INVALID_STATE, "The new owner is an active Staff member or Practitioner.", "userId")
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        before = org.owner_user_id
        if before != user.id:
            org.owner_user_id = user.id
            await org.save(using_db=conn, update_fields=["owner_user_id"])
            await events.record(
                conn,
                actor,
                AuditAction.OWNERSHIP_TRANSFERRED,
                "Organization",
                org.public_id,
                {
                    "owner": {
                        "before": await _owner_ref(conn, actor, before),
                        "after": events.ref("User", user.public_id),
                    },
                    **({"reason": reason} if reason is not None else {}),
                },
            )
    return org


async def transfer_ownership_by_email(actor: Actor, email: str | None, reason: str | None) -> Organization:
    """Break-glass for a clinic whose owner is gone or locked out (`chrgraph org
    transfer-ownership`): the support account names the new owner by login email and
    must give a reason; then the same rules as transferOwnership."""
    errors = Errors()
    reason = errors.text(reason, "reason", max_length=500, required=True)
    email = errors.text(email, "to", max_length=254, required=True)
    if errors:
        raise OperationFailed(*errors.items)
    query = actor.data.users.filter(login_email=normalize_email(email)).exclude(type=UserType.SUPPORT)
    user_id = await query.first().values_list("id", flat=True)
    if user_id is None:
        raise fail(ErrorCode.NOT_FOUND, "No user of this organization has that login email.", "to")
    return await transfer_ownership(actor, cast(int, user_id), None, reason=reason)


async def _owner_ref(conn, actor: Actor, owner_id: int | None) -> str | None:
    """The global id of the previous owner: the caller itself (only the owner transfers),
    read only for an organization that had none or another."""
    if owner_id is None:
        return None
    if owner_id == actor.principal.user_id:
        return events.ref("User", actor.principal.user_public_id)
    query = actor.data.users.filter(id=owner_id).using_db(conn)
    return events.ref("User", cast(str | None, await query.first().values_list("public_id", flat=True)))


async def set_support_password(actor: Actor, password: str) -> User:
    """The operator sets the support account's password (`chrgraph org support-password`),
    under the rule of every new password. Like any password change, it ends the support
    account's open sessions (with the timing of a deactivation)."""
    problem = password_problem(password)
    if problem:
        raise fail(ErrorCode.PASSWORD_TOO_WEAK, problem, "password")
    password_hash = await hash_password(password)
    support_query = actor.data.users.filter(type=UserType.SUPPORT)
    support_id = await support_query.first().values_list("id", flat=True)
    now = datetime.now(UTC)
    open_sessions = Session.filter(user_id=support_id, revoked_at__isnull=True)
    async with atomic(revokes_credentials=await open_sessions.exists()) as conn:
        support = await support_query.using_db(conn).get()
        support.password_hash = password_hash
        await support.save(using_db=conn, update_fields=["password_hash"])
        ended = await open_sessions.using_db(conn).update(revoked_at=now)
        await events.record(
            conn,
            actor,
            AuditAction.SUPPORT_PASSWORD_SET,
            "User",
            support.public_id,
            {"password": "set", **({"sessionsEnded": ended} if ended else {})},
        )
    return support
