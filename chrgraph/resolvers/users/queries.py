"""Reads of users and roles for the GraphQL queries and types."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chrgraph import clock
from chrgraph.auth.principals import Actor
from chrgraph.auth.sessions import session_public_id
from chrgraph.db.models import Role, RolePermission, Session, User, UserPermission, UserRole, UserType
from chrgraph.db.raw import ByIds
from chrgraph.db.tenant import OrganizationData


async def visible_user(data: OrganizationData, public_id: str) -> User | None:
    """A user of the organization; its support account reads like one that does not exist."""
    row = await data.find(User, public_id)
    return row if row is not None and row.type is not UserType.SUPPORT else None


async def role(data: OrganizationData, public_id: str) -> Role | None:
    return await data.find(Role, public_id)


@dataclass(frozen=True)
class OwnSession:
    """One of the caller's open sessions, as `mySessions` shows it."""

    public_id: str
    created_at: datetime
    last_used_at: datetime | None
    user_agent: str | None
    expires_at: datetime
    current: bool


async def my_sessions(actor: Actor) -> list[OwnSession]:
    """The caller's sessions not ended (logged out, revoked or expired), newest first:
    one statement."""
    rows = await Session.filter(
        user_id=actor.principal.user_id, revoked_at__isnull=True, expires_at__gt=clock.now()
    ).order_by("-created_at", "-id")
    return [
        OwnSession(
            session_public_id(row.token_hash),
            row.created_at,
            row.last_used_at,
            row.user_agent,
            row.expires_at,
            row.id == actor.principal.session_id,
        )
        for row in rows
    ]


@dataclass
class AccessRows:
    """Roles, their permissions and extra permissions of a page of users."""

    links: list[tuple[int, int]] = field(default_factory=list)  # (user id, role id), by role id
    roles: list[Role] = field(default_factory=list)
    permissions_of_roles: dict[int, list[Any]] = field(default_factory=dict)
    extras: list[tuple[int, Any]] = field(default_factory=list)  # (user id, permission)


# The page's link queries, with SQL built once per page length (chrgraph/db/raw.py).
_roles_of_users = ByIds(UserRole, "user_id")
_permissions_of_roles = ByIds(RolePermission, "role_id")
_roles = ByIds(Role)
_extra_permissions_of_users = ByIds(UserPermission, "user_id")


async def access_of_users(user_ids: list[int]) -> AccessRows:
    """One query each (link rows as tuples: no model instance per row); the users were
    read within the organization, and the roles are the ones their links name."""
    if not user_ids:
        return AccessRows()
    links = await _roles_of_users.tuples(user_ids, "user_id", "role_id", order_by=("role_id",))
    role_ids = sorted({role_id for _, role_id in links})
    permissions: dict[int, list[Any]] = defaultdict(list)
    for role_id, permission in await _permissions_of_roles.tuples(role_ids, "role_id", "permission"):
        permissions[role_id].append(permission)
    roles = await _roles.fetch(role_ids)
    extras = await _extra_permissions_of_users.tuples(user_ids, "user_id", "permission")
    return AccessRows(links=links, roles=roles, permissions_of_roles=permissions, extras=extras)
