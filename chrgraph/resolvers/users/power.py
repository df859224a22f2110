"""Nobody raises their own power. Every change of a user's roles, extra permissions,
license or profile, and every change of a role, passes these rules, whichever entry
point (GraphQL, the command line) calls the operation:

- a user cannot change its own roles, extra permissions, license (other than through
  upgradeOwnLicense), type, classification or end of training, cannot decide its own
  license upgrade request, and cannot change a role it holds (NOT_ALLOWED_FOR_SELF);
- nobody grants a permission it does not hold itself, directly, by assigning a role
  (inviting with roles included) or by creating or editing a role (PERMISSION_NOT_HELD);
- the owner's roles, permissions, license and profile are changed by the owner alone
  (OWNER_ONLY).

The owner and the support account are bound like everyone else. These are refusals of
an operation the caller may call: they come back as typed errors in the payload, with
the input field they are about."""

from __future__ import annotations

from collections.abc import Iterable

from chrgraph.auth.permissions import ALL_BUT_SUPPORT, NEVER_GRANTABLE
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import Organization, Permission, RolePermission, User, UserRole
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.validation import Errors

# User fields a user never changes on itself through updateUser: they decide what it may do
# (the end of training ends a trainee's access).
SELF_LOCKED_FIELDS = ("type", "classification", "license", "expected_end_of_training")


def held_permissions(actor: Actor) -> frozenset[Permission]:
    """What the caller holds, and so may grant."""
    principal = actor.principal
    if principal.kind is PrincipalKind.USER:
        if principal.is_owner:
            return ALL_BUT_SUPPORT
        return frozenset(p for p in Permission if p.value in principal.permissions)
    if principal.kind is PrincipalKind.CONSUMER:
        # By default the clinic's unrestricted integration (all but the support
        # account's own permission); what support narrowed it to otherwise.
        return frozenset(p for p in ALL_BUT_SUPPORT if p.value in principal.permissions)
    if principal.kind is PrincipalKind.SUPPORT and principal.session_id is not None:
        # The support account's session holds only its own permission.
        return NEVER_GRANTABLE
    # The command line (the server's operator) and the server's own jobs.
    return ALL_BUT_SUPPORT


def is_self(actor: Actor, user_id: int) -> bool:
    return actor.principal.user_id is not None and actor.principal.user_id == user_id


async def _owner_id(actor: Actor, conn) -> int | None:
    org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
    return org.owner_user_id


async def _target_rules(errors: Errors, actor: Actor, user: User, conn, what: str, field: str) -> None:
    """A change of `what` of `user`: never one's own, and the owner's only by the owner."""
    if is_self(actor, user.id):
        errors.add(ErrorCode.NOT_ALLOWED_FOR_SELF, f"You cannot change your own {what}.", field)
    elif user.id == await _owner_id(actor, conn):
        errors.add(ErrorCode.OWNER_ONLY, f"Only the owner changes the owner's {what}.", field)


def _not_held(errors: Errors, actor: Actor, permissions: Iterable[Permission], field: str) -> None:
    missing = sorted(set(permissions) - held_permissions(actor) - NEVER_GRANTABLE)
    if missing:
        errors.add(
            ErrorCode.PERMISSION_NOT_HELD,
            f"You cannot grant what you do not hold: {', '.join(p.value for p in missing)}.",
            field,
        )


def _raise(errors: Errors) -> None:
    if errors:
        raise OperationFailed(*errors.items)


async def _permissions_of_roles(role_ids: Iterable[int], conn) -> set[Permission]:
    ids = list(role_ids)
    if not ids:
        return set()
    query = RolePermission.filter(role_id__in=ids)
    rows = await (query.using_db(conn) if conn else query).values_list("permission", flat=True)
    return {Permission(p) for p in rows}


async def check_role_grant(actor: Actor, role_ids: Iterable[int], conn, field: str = "roleIds") -> None:
    """Assigning roles grants their permissions: the caller must hold every one of them."""
    errors = Errors()
    ids = list(role_ids)
    if ids and not held_permissions(actor) >= ALL_BUT_SUPPORT:
        _not_held(errors, actor, await _permissions_of_roles(ids, conn), field)
    _raise(errors)


async def check_roles_change(actor: Actor, user: User, added_role_ids: Iterable[int], conn) -> None:
    """assignRoles: not one's own roles, the owner's only by the owner, and every newly
    assigned role's permissions held by the caller."""
    errors = Errors()
    await _target_rules(errors, actor, user, conn, "roles", "userId")
    ids = list(added_role_ids)
    if ids and not held_permissions(actor) >= ALL_BUT_SUPPORT:
        _not_held(errors, actor, await _permissions_of_roles(ids, conn), "roleIds")
    _raise(errors)


async def check_permission_change(actor: Actor, user: User, permission: Permission, granted: bool, conn) -> None:
    """grantPermission/revokePermission: not one's own, the owner's only by the owner,
    and a grant only of a permission the caller holds."""
    errors = Errors()
    await _target_rules(errors, actor, user, conn, "permissions", "userId")
    if granted:
        _not_held(errors, actor, [permission], "permission")
    _raise(errors)


async def check_license_change(actor: Actor, user: User, conn, field: str = "userId") -> None:
    """setUserLicense, cancelPendingLicenseChange and a license in updateUser: never one's
    own (upgradeOwnLicense is the one way), the owner's only by the owner."""
    errors = Errors()
    await _target_rules(errors, actor, user, conn, "license", field)
    _raise(errors)


async def check_user_update(actor: Actor, user: User, changed: Iterable[str], conn) -> None:
    """updateUser with the fields whose value changes: the owner's only by the owner; on
    oneself, none of the fields that decide what one may do."""
    errors = Errors()
    fields = set(changed)
    if is_self(actor, user.id):
        for name in SELF_LOCKED_FIELDS:
            if name in fields:
                field = "expectedEndOfTraining" if name == "expected_end_of_training" else name
                errors.add(ErrorCode.NOT_ALLOWED_FOR_SELF, f"You cannot change your own {field}.", field)
    elif fields and user.id == await _owner_id(actor, conn):
        errors.add(ErrorCode.OWNER_ONLY, "Only the owner changes the owner's profile.", "userId")
    _raise(errors)


def check_role_permissions(actor: Actor, added: Iterable[Permission], field: str = "permissions") -> None:
    """createRole/updateRole: a role gives only permissions the caller holds."""
    errors = Errors()
    _not_held(errors, actor, added, field)
    _raise(errors)


async def check_role_not_held(actor: Actor, role_id: int, conn, field: str = "roleId") -> None:
    """updateRole: nobody changes a role it holds."""
    user_id = actor.principal.user_id
    if user_id is not None and await UserRole.filter(user_id=user_id, role_id=role_id).using_db(conn).exists():
        errors = Errors()
        errors.add(ErrorCode.NOT_ALLOWED_FOR_SELF, "You cannot change a role you hold.", field)
        _raise(errors)


async def check_upgrade_decision(actor: Actor, requester: User, approve: bool, conn) -> None:
    """approve/declineLicenseUpgradeRequest: never one's own request; approving the
    owner's changes the owner's license, which only the owner does."""
    errors = Errors()
    if is_self(actor, requester.id):
        errors.add(ErrorCode.NOT_ALLOWED_FOR_SELF, "You cannot decide your own request.", "requestId")
    elif approve and requester.id == await _owner_id(actor, conn):
        errors.add(ErrorCode.OWNER_ONLY, "Only the owner changes the owner's license.", "requestId")
    _raise(errors)
