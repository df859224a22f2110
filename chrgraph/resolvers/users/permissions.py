"""The built-in roles every organization starts with (their permissions are in
`chrgraph.auth.permissions`)."""

from __future__ import annotations

from chrgraph.auth.permissions import BUILTIN_ROLES
from chrgraph.db.models import Role, RolePermission
from chrgraph.db.tenant import OrganizationData


async def create_builtin_roles(conn, organization_id: int) -> None:
    for name, permissions in BUILTIN_ROLES.items():
        role = await OrganizationData(organization_id).create(
            Role,
            name=name,
            builtin=True,
            description=f"Built-in {name} role",
            using_db=conn,
        )
        await RolePermission.bulk_create(
            [RolePermission(role_id=role.id, permission=p) for p in sorted(permissions)], using_db=conn
        )
