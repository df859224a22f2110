"""transferOwnership and the support account's password."""

from __future__ import annotations

from typing import cast

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.passwords import hash_password, password_problem
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Organization, User, UserStatus, UserType
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, fail
from chrgraph.resolvers.users.lookup import get_user, require_password


async def transfer_ownership(actor: Actor, user_id: int, password: str | None) -> Organization:
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
                    }
                },
            )
    return org


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
    problem = password_problem(password)
    if problem:
        raise fail(ErrorCode.PASSWORD_TOO_WEAK, problem, "password")
    password_hash = await hash_password(password)
    async with atomic() as conn:
        support = await actor.data.users.filter(type=UserType.SUPPORT).using_db(conn).get()
        support.password_hash = password_hash
        await support.save(using_db=conn, update_fields=["password_hash"])
        await events.record(
            conn, actor, AuditAction.SUPPORT_PASSWORD_SET, "User", support.public_id, {"password": "set"}
        )
    return support
