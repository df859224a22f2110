"""Mail about license upgrade requests, queued in the outbox with the invitations: a new
request goes to everyone who may decide it (active users holding EDIT_OTHER_USERS, the
owner included, never the requester), a decision to the requester."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import Subquery

from chrgraph.auth.access import has_access
from chrgraph.db.models import (
    LicenseUpgradeRequest,
    Organization,
    OutboxMessage,
    Permission,
    User,
    UserPermission,
    UserRole,
    UserStatus,
    UserType,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.resolvers.licensing.catalog import CATALOG

DECIDING_PERMISSION = Permission.EDIT_OTHER_USERS


async def deciders(conn, org: Organization, requester_id: int) -> list[User]:
    """Who may decide a request of `requester_id`: active Staff and Practitioners with
    access who hold EDIT_OTHER_USERS (through a role or as an extra permission), and the
    owner; never the requester."""
    data = OrganizationData(org.id)
    role_ids = (
        await data.roles.filter(permissions__permission=DECIDING_PERMISSION).using_db(conn).values_list("id", flat=True)
    )
    through_roles = await UserRole.filter(role_id__in=list(role_ids)).using_db(conn).values_list("user_id", flat=True)
    members = Subquery(data.users.values("id"))
    extras = await (
        UserPermission.filter(permission=DECIDING_PERMISSION, user_id__in=members)
        .using_db(conn)
        .values_list("user_id", flat=True)
    )
    ids = {*through_roles, *extras}
    if org.owner_user_id is not None:
        ids.add(org.owner_user_id)
    ids.discard(requester_id)
    if not ids:
        return []
    users = await (
        data.users.filter(
            id__in=sorted(ids), status=UserStatus.ACTIVE, type__in=(UserType.STAFF, UserType.PRACTITIONER)
        )
        .using_db(conn)
        .order_by("id")
    )
    return [u for u in users if has_access(u, org)]


def _name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.email


async def _queue(conn, org: Organization, to: User, subject: str, body: str) -> None:
    await OrganizationData(org.id).create(
        OutboxMessage,
        using_db=conn,
        to_email=to.email,
        subject=subject,
        body=body,
        created_at=datetime.now(UTC),
    )


async def queue_request_messages(conn, org: Organization, requester: User, request: LicenseUpgradeRequest) -> None:
    license_name = CATALOG[request.requested_license].display_name
    reason = f"\nTheir reason: {request.reason}\n" if request.reason else ""
    for decider in await deciders(conn, org, requester.id):
        await _queue(
            conn,
            org,
            decider,
            f"{_name(requester)} asks for {license_name}",
            (
                f"Hello {decider.first_name},\n\n{_name(requester)} ({requester.email}) asks for the "
                f"{license_name} license at {org.name}.\n{reason}\n"
                "Approve or decline the request among the license upgrade requests.\n"
            ),
        )


async def queue_decision_message(
    conn, org: Organization, requester: User, request: LicenseUpgradeRequest, approved: bool
) -> None:
    license_name = CATALOG[request.requested_license].display_name
    outcome = "approved" if approved else "declined"
    reason = f"\nThe reason given: {request.decision_reason}\n" if request.decision_reason else ""
    await _queue(
        conn,
        org,
        requester,
        f"Your request for {license_name} was {outcome}",
        (
            f"Hello {requester.first_name},\n\nYour request for the {license_name} license at {org.name} "
            f"was {outcome}.\n{reason}"
        ),
    )
