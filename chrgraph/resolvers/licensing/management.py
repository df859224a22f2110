"""Who is under license management: the one rule behind mapping, the unmapped-users
banner, enforcement, billing statements, invitations, imports, booking and feature
access.

Only STANDARD-contract organizations are managed; within them, only Staff and
Practitioners (service and support accounts hold no license). A CUSTOM-contract
organization has no unmapped users, no enforcement and no billing lines."""

from __future__ import annotations

from tortoise.queryset import QuerySet

from chrgraph.db.models import Contract, Organization, User, UserStatus, UserType
from chrgraph.db.tenant import OrganizationData
from chrgraph.resolvers.licensing.catalog import LICENSED_TYPES, licensed_type

MANAGED_CONTRACT = Contract.STANDARD


def under_license_management(org: Organization) -> bool:
    """Whether the organization's contract puts it under license management."""
    return org.contract is MANAGED_CONTRACT


def managed_user(org: Organization, user_type: UserType) -> bool:
    """Whether a user of this type in this organization needs a license."""
    return under_license_management(org) and licensed_type(user_type)


def managed_organizations() -> QuerySet[Organization]:
    """The organizations under license management (what the enforcement job walks)."""
    return Organization.filter(contract=MANAGED_CONTRACT)


def managed_users(org: Organization) -> QuerySet[User] | None:
    """The organization's users license management applies to (deactivated included),
    or None when the organization is not under license management."""
    if not under_license_management(org):
        return None
    return OrganizationData(org.id).users.filter(type__in=LICENSED_TYPES)


def unlicensed_users(org: Organization) -> QuerySet[User] | None:
    """Managed users still without a license (not deactivated), or None when the
    organization is not under license management."""
    users = managed_users(org)
    if users is None:
        return None
    return users.filter(license__isnull=True).exclude(status=UserStatus.DEACTIVATED)
