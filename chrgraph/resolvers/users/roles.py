"""Roles and individual permissions: createRole, updateRole, assignRoles,
grantPermission, revokePermission. Changes bump the auth epoch: cached session
principals carry their permissions."""

from __future__ import annotations

from chrgraph.audit import events
from chrgraph.auth import epoch
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Permission, Role, RolePermission, UserPermission, UserRole, UserStatus
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users.lookup import get_user, require_password
from chrgraph.resolvers.users.permissions import NEVER_GRANTABLE
from chrgraph.resolvers.validation import Errors


def _check_grantable(errors: Errors, permissions: list[Permission], field: str) -> None:
    if set(permissions) & NEVER_GRANTABLE:
        errors.add(ErrorCode.PERMISSION_NOT_GRANTABLE, "MANAGE_API_CONSUMERS belongs to the support account.", field)


async def role_permissions(role_ids: list[int], conn=None) -> dict[int, list[Permission]]:
    query = RolePermission.filter(role_id__in=role_ids)
    rows = await (query.using_db(conn) if conn else query)
    result: dict[int, list[Permission]] = {i: [] for i in role_ids}
    for row in rows:
        result[row.role_id].append(row.permission)
    return result


async def create_role(actor: Actor, name: str, description: str | None, permissions: list[Permission]) -> Role:
    errors = Errors()
    name = errors.text(name, "name", max_length=100, required=True)
    description = errors.text(description, "description", max_length=500)
    _check_grantable(errors, permissions, "permissions")
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        if await actor.data.roles.filter(name=name).using_db(conn).exists():
            raise fail(ErrorCode.ROLE_NAME_TAKEN, "A role with that name exists.", "name")
        role = await actor.data.create(Role, name=name, description=description, using_db=conn)
        await RolePermission.bulk_create(
            [RolePermission(role_id=role.id, permission=p) for p in sorted(set(permissions))], using_db=conn
        )
        await events.record(
            conn,
            actor,
            "ROLE_CREATED",
            "Role",
            role.public_id,
            {"name": name, "description": description, "permissions": sorted(set(permissions))},
        )
    return role


async def update_role(
    actor: Actor,
    role_id: int,
    name: str | None,
    description: str | None,
    permissions: list[Permission] | None,
) -> Role:
    errors = Errors()
    name = errors.text(name, "name", max_length=100)
    description = errors.text(description, "description", max_length=500)
    if permissions is not None:
        _check_grantable(errors, permissions, "permissions")
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        role = await actor.data.roles.filter(id=role_id).using_db(conn).first()
        if role is None:
            raise fail(ErrorCode.NOT_FOUND, "No such role.", "roleId")
        if role.builtin:
            raise fail(ErrorCode.BUILTIN_ROLE_READ_ONLY, "Built-in roles keep their defaults.", "roleId")
        before = {
            "name": role.name,
            "description": role.description,
            "permissions": sorted((await role_permissions([role.id], conn))[role.id]),
        }
        if name and name != role.name:
            if await actor.data.roles.filter(name=name).using_db(conn).exists():
                raise fail(ErrorCode.ROLE_NAME_TAKEN, "A role with that name exists.", "name")
            role.name = name
        if description is not None:
            role.description = description
        await role.save(using_db=conn)
        if permissions is not None:
            await RolePermission.filter(role_id=role.id).using_db(conn).delete()
            await RolePermission.bulk_create(
                [RolePermission(role_id=role.id, permission=p) for p in sorted(set(permissions))],
                using_db=conn,
            )
        after = {
            "name": role.name,
            "description": role.description,
            "permissions": sorted(set(permissions)) if permissions is not None else before["permissions"],
        }
        delta = events.diff(before, after)
        if delta:
            await epoch.bump(conn)
            await events.record(conn, actor, "ROLE_UPDATED", "Role", role.public_id, delta)
    epoch.clear_local()
    return role


async def assign_roles(actor: Actor, user_id: int, role_ids: list[int], password: str | None):
    await require_password(actor, password)
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        roles = await actor.data.roles.filter(id__in=role_ids).using_db(conn)
        if len(roles) != len(set(role_ids)):
            raise fail(ErrorCode.NOT_FOUND, "No such role.", "roleIds")
        if user.status is UserStatus.DEACTIVATED:
            raise fail(ErrorCode.INVALID_STATE, "Reactivate the user first.", "userId")
        current = set(await UserRole.filter(user_id=user.id).using_db(conn).values_list("role_id", flat=True))
        wanted = {r.id for r in roles}
        if current != wanted:
            await UserRole.filter(user_id=user.id, role_id__in=list(current - wanted)).using_db(conn).delete()
            for role_id in sorted(wanted - current):
                await UserRole.create(user_id=user.id, role_id=role_id, using_db=conn)
            names = {r.id: r.name for r in await actor.data.roles.filter(id__in=list(current | wanted)).using_db(conn)}
            await epoch.bump(conn)
            await events.record(
                conn,
                actor,
                "ROLES_ASSIGNED",
                "User",
                user.public_id,
                {
                    "roles": {
                        "before": sorted(names[i] for i in current),
                        "after": sorted(names[i] for i in wanted),
                    }
                },
            )
    epoch.clear_local()
    return user


async def set_permission(actor: Actor, user_id: int, permission: Permission, granted: bool, password: str | None):
    errors = Errors()
    _check_grantable(errors, [permission], "permission")
    if errors:
        raise OperationFailed(*errors.items)
    await require_password(actor, password)
    async with atomic() as conn:
        user = await get_user(actor, user_id, conn)
        existing = await UserPermission.filter(user_id=user.id, permission=permission).using_db(conn).first()
        if granted and existing is None:
            await UserPermission.create(user_id=user.id, permission=permission, using_db=conn)
        elif not granted and existing is not None:
            await UserPermission.filter(id=existing.id).using_db(conn).delete()
        if granted == (existing is None):
            await epoch.bump(conn)
            await events.record(
                conn,
                actor,
                "PERMISSION_GRANTED" if granted else "PERMISSION_REVOKED",
                "User",
                user.public_id,
                {"permission": permission},
            )
    epoch.clear_local()
    return user
