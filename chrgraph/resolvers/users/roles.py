"""Roles and individual permissions: createRole, updateRole, deleteRole, assignRoles,
grantPermission, revokePermission. Changes revoke credentials (their transactions
say so): cached session principals carry their permissions. Who may change what is
`power`'s rule."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.permissions import NEVER_GRANTABLE
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Permission, Role, RolePermission, UserPermission, UserRole, UserStatus
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.users import power
from chrgraph.resolvers.users.lookup import get_user, require_password
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
    power.check_role_permissions(actor, permissions)
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
            AuditAction.ROLE_CREATED,
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
    password: str | None = None,
) -> Role:
    """A role's permissions change by session only with the password re-entered; nobody
    changes a role it holds, or adds to a role a permission it does not hold."""
    errors = Errors()
    name = errors.text(name, "name", max_length=100)
    description = errors.text(description, "description", max_length=500)
    if permissions is not None:
        _check_grantable(errors, permissions, "permissions")
    if errors:
        raise OperationFailed(*errors.items)
    if permissions is not None:
        await require_password(actor, password)
    async with atomic(revokes_credentials=True) as conn:
        role = await actor.data.roles.filter(id=role_id).using_db(conn).first()
        if role is None:
            raise fail(ErrorCode.NOT_FOUND, "No such role.", "roleId")
        if role.builtin:
            raise fail(ErrorCode.BUILTIN_ROLE_READ_ONLY, "Built-in roles keep their defaults.", "roleId")
        await power.check_role_not_held(actor, role.id, conn)
        held_by_role = sorted((await role_permissions([role.id], conn))[role.id])
        if permissions is not None:
            power.check_role_permissions(actor, set(permissions) - set(held_by_role))
        before = {"name": role.name, "description": role.description, "permissions": held_by_role}
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
            await events.record(conn, actor, AuditAction.ROLE_UPDATED, "Role", role.public_id, delta)
    return role


async def delete_role(actor: Actor, role_id: int) -> str:
    """Remove a custom role that no user holds (deactivated and invited users count);
    built-in roles stay. Returns the deleted role's public id."""
    async with atomic() as conn:
        role = await actor.data.roles.filter(id=role_id).using_db(conn).first()
        if role is None:
            raise fail(ErrorCode.NOT_FOUND, "No such role.", "roleId")
        if role.builtin:
            raise fail(ErrorCode.BUILTIN_ROLE_READ_ONLY, "Built-in roles are never deleted.", "roleId")
        if await UserRole.filter(role_id=role.id).using_db(conn).exists():
            raise fail(ErrorCode.ROLE_IN_USE, "Users hold this role: assign them other roles first.", "roleId")
        permissions = sorted((await role_permissions([role.id], conn))[role.id])
        await RolePermission.filter(role_id=role.id).using_db(conn).delete()
        try:
            await actor.data.roles.filter(id=role.id).using_db(conn).delete()
        except IntegrityError as exc:
            # A concurrent assignRoles gave the role to someone after our check.
            raise fail(ErrorCode.ROLE_IN_USE, "Users hold this role: assign them other roles first.", "roleId") from exc
        await events.record(
            conn,
            actor,
            AuditAction.ROLE_DELETED,
            "Role",
            role.public_id,
            {"name": role.name, "description": role.description, "permissions": permissions},
        )
    return role.public_id


async def assign_roles(actor: Actor, user_id: int, role_ids: list[int], password: str | None):
    await require_password(actor, password)
    async with atomic(revokes_credentials=True) as conn:
        user = await get_user(actor, user_id, conn)
        roles = await actor.data.roles.filter(id__in=role_ids).using_db(conn)
        if len(roles) != len(set(role_ids)):
            raise fail(ErrorCode.NOT_FOUND, "No such role.", "roleIds")
        if user.status is UserStatus.DEACTIVATED:
            raise fail(ErrorCode.INVALID_STATE, "Reactivate the user first.", "userId")
        current = set(await UserRole.filter(user_id=user.id).using_db(conn).values_list("role_id", flat=True))
        wanted = {r.id for r in roles}
        await power.check_roles_change(actor, user, wanted - current, conn)
        if current != wanted:
            await UserRole.filter(user_id=user.id, role_id__in=list(current - wanted)).using_db(conn).delete()
            for role_id in sorted(wanted - current):
                await UserRole.create(user_id=user.id, role_id=role_id, using_db=conn)
            names = {r.id: r.name for r in await actor.data.roles.filter(id__in=list(current | wanted)).using_db(conn)}
            await events.record(
                conn,
                actor,
                AuditAction.ROLES_ASSIGNED,
                "User",
                user.public_id,
                {
                    "roles": {
                        "before": sorted(names[i] for i in current),
                        "after": sorted(names[i] for i in wanted),
                    }
                },
            )
    return user


async def set_permission(actor: Actor, user_id: int, permission: Permission, granted: bool, password: str | None):
    errors = Errors()
    _check_grantable(errors, [permission], "permission")
    if errors:
        raise OperationFailed(*errors.items)
    await require_password(actor, password)
    async with atomic(revokes_credentials=True) as conn:
        user = await get_user(actor, user_id, conn)
        await power.check_permission_change(actor, user, permission, granted, conn)
        existing = await UserPermission.filter(user_id=user.id, permission=permission).using_db(conn).first()
        if granted and existing is None:
            await UserPermission.create(user_id=user.id, permission=permission, using_db=conn)
        elif not granted and existing is not None:
            await UserPermission.filter(id=existing.id).using_db(conn).delete()
        if granted == (existing is None):
            await events.record(
                conn,
                actor,
                AuditAction.PERMISSION_GRANTED if granted else AuditAction.PERMISSION_REVOKED,
                "User",
                user.public_id,
                {"permission": permission},
            )
    return user
