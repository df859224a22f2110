"""What a user or an API consumer may do: the built-in roles' permissions, a user's
effective permissions (the owner's, its roles' and its individual grants) and a
consumer's. Sessions and consumer tokens read these when they load a principal;
operations read them when they check a grant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from chrgraph.db.models import Permission, RolePermission, User, UserPermission, UserRole

ALL_BUT_SUPPORT = frozenset(p for p in Permission if p is not Permission.MANAGE_API_CONSUMERS)
BUILTIN_ROLES: dict[str, frozenset[Permission]] = {
    "Administrator": ALL_BUT_SUPPORT,
    "Practitioner": frozenset({Permission.VIEW_USERS, Permission.MANAGE_PATIENTS, Permission.MANAGE_SCHEDULE}),
    "Front desk": frozenset({Permission.VIEW_USERS, Permission.MANAGE_PATIENTS, Permission.MANAGE_SCHEDULE}),
    "Billing": frozenset({Permission.VIEW_USERS, Permission.VIEW_BILLING}),
}
# No role or grant can give this one; only the support account holds it.
NEVER_GRANTABLE = frozenset({Permission.MANAGE_API_CONSUMERS})


async def effective_permissions(user: User, is_owner: bool) -> frozenset[str]:
    if is_owner:
        return frozenset(p.value for p in ALL_BUT_SUPPORT)
    role_ids = await UserRole.filter(user_id=user.id).values_list("role_id", flat=True)
    # Tortoise types a flat values_list as a list of tuples: the casts name the element type.
    from_roles = cast(
        list[Permission], await RolePermission.filter(role_id__in=list(role_ids)).values_list("permission", flat=True)
    )
    extras = cast(list[Permission], await UserPermission.filter(user_id=user.id).values_list("permission", flat=True))
    return frozenset(getattr(p, "value", p) for p in [*from_roles, *extras]) - {Permission.MANAGE_API_CONSUMERS.value}


def consumer_permissions(stored: Iterable[str] | None) -> frozenset[str]:
    """What an API consumer holds: by default (nothing stored) every permission but the
    support account's own, the clinic's unrestricted integration; once support narrowed
    it, just what was stored (never the support account's own)."""
    if stored is None:
        return frozenset(p.value for p in ALL_BUT_SUPPORT)
    known = {p.value for p in ALL_BUT_SUPPORT}
    return frozenset(p for p in stored if p in known)
