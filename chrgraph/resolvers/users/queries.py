"""Reads of users and roles for the GraphQL queries and types."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chrgraph.db.models import Role, RolePermission, User, UserPermission, UserRole, UserType
from chrgraph.db.raw import ByIds
from chrgraph.db.tenant import OrganizationData


async def visible_user(data: OrganizationData, public_id: str) -> User | None:
    """A user of the organization; its support account reads like one that does not exist."""
    row = await data.find(User, public_id)
    return row if row is not None and row.type is not UserType.SUPPORT else None


async def role(data: OrganizationData, public_id: str) -> Role | None:
    return await data.find(Role, public_id)


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
