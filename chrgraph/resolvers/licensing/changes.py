"""Dated license changes. Billing takes a change from the first day of the
following month; access follows an upgrade at once and a downgrade on its effective
date; a pending change can be cancelled before then. `User.license` is what access
uses now (a due pending change counts, even before the job that settles it ran)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    License,
    LicenseChange,
    LicenseChangeKind,
    Organization,
    User,
    UserStatus,
    UserStatusChange,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.licensing.catalog import CATALOG
from chrgraph.resolvers.licensing.dates import first_of_next_month, local_date


def access_license(user: User, today: date) -> License | None:
    """What access uses on `today` (the org-local date)."""
    if (
        user.pending_license is not None
        and user.pending_license_effective_on is not None
        and user.pending_license_effective_on <= today
    ):
        return user.pending_license
    return user.license


def _rank(license: License | None) -> int:
    return 0 if license is None else CATALOG[license].rank


async def record_status(conn, user: User, status: UserStatus, at: datetime | None = None) -> None:
    await UserStatusChange.create(user_id=user.id, status=status, at=at or datetime.now(UTC), using_db=conn)


async def change_license(
    conn,
    actor: Actor,
    user: User,
    org: Organization,
    new: License | None,  # None only when it is the current license too: cancels a pending change
    kind: LicenseChangeKind,
    *,
    now: datetime | None = None,
    immediate_access: bool = False,
    reviewed: bool = True,
) -> LicenseChange | None:
    """Record a change and apply what access sees. Returns None when nothing changes."""
    now = now or datetime.now(UTC)
    today = local_date(now, org.time_zone)
    await settle(conn, user, today)
    effective = first_of_next_month(today)
    current = user.license
    if new == current and user.pending_license is None:
        if reviewed and not user.license_reviewed:
            user.license_reviewed = True
            await user.save(using_db=conn, update_fields=["license_reviewed"])
        return None
    await cancel_pending(conn, user, now, audit=None)
    if new == current:  # setting back the current license cancels the pending change only
        user.license_reviewed = user.license_reviewed or reviewed
        await user.save(using_db=conn, update_fields=["license_reviewed"])
        return None
    upgrade = immediate_access or _rank(new) >= _rank(current) or current is None
    change = await OrganizationData(org.id).create(
        LicenseChange,
        user_id=user.id,
        kind=kind,
        actor_kind=actor.principal.kind.value,
        actor_id=actor.principal.actor_id,
        changed_at=now,
        from_license=current,
        to_license=new,
        effective_on=effective,
        access_from=today if upgrade else effective,
        using_db=conn,
    )
    if upgrade:
        user.license = new
    else:
        user.pending_license, user.pending_license_effective_on = new, effective
    user.license_reviewed = reviewed
    await user.save(
        using_db=conn,
        update_fields=["license", "pending_license", "pending_license_effective_on", "license_reviewed"],
    )
    await events.record(
        conn,
        actor,
        AuditAction.LICENSE_CHANGED,
        "User",
        user.public_id,
        {
            "license": {"before": current, "after": new},
            "kind": kind,
            "effectiveOn": effective,
            "accessFrom": change.access_from,
            "automatic": kind in (LicenseChangeKind.AUTOMATIC, LicenseChangeKind.ENFORCEMENT),
        },
    )
    return change


async def cancel_pending(conn, user: User, now: datetime, audit: Actor | None) -> bool:
    """Cancel a pending (not yet effective) downgrade."""
    if user.pending_license is None:
        return False
    await (
        OrganizationData(user.organization_id)
        .license_changes.filter(
            user_id=user.id,
            cancelled_at__isnull=True,
            to_license=user.pending_license,
            effective_on=user.pending_license_effective_on,
        )
        .using_db(conn)
        .update(cancelled_at=now)
    )
    before = user.pending_license
    user.pending_license, user.pending_license_effective_on = None, None
    await user.save(using_db=conn, update_fields=["pending_license", "pending_license_effective_on"])
    if audit is not None:
        await events.record(
            conn,
            audit,
            AuditAction.LICENSE_CHANGE_CANCELLED,
            "User",
            user.public_id,
            {"pendingLicense": {"before": before, "after": None}},
        )
    return True


async def settle(conn, user: User, today: date) -> None:
    """Make a due pending change the current license."""
    if (
        user.pending_license is not None
        and user.pending_license_effective_on is not None
        and user.pending_license_effective_on <= today
    ):
        user.license, user.pending_license, user.pending_license_effective_on = (
            user.pending_license,
            None,
            None,
        )
        await user.save(using_db=conn, update_fields=["license", "pending_license", "pending_license_effective_on"])


async def settle_due_changes(now: datetime | None = None) -> int:
    """The scheduled job: settle every due pending change (each org's local date)."""
    now = now or datetime.now(UTC)
    settled = 0
    for org in await Organization.all():
        today = local_date(now, org.time_zone)
        due = await OrganizationData(org.id).users.filter(
            pending_license__isnull=False, pending_license_effective_on__lte=today
        )
        for user in due:
            async with atomic() as conn:
                await settle(conn, user, today)
            settled += 1
    return settled


async def initial_license(conn, actor: Actor, user: User, org: Organization, now: datetime) -> None:
    """A user created with a license: its first dated row (billed from next month)."""
    if user.license is None:
        return
    today = local_date(now, org.time_zone)
    await OrganizationData(org.id).create(
        LicenseChange,
        user_id=user.id,
        kind=LicenseChangeKind.INITIAL,
        actor_kind=actor.principal.kind.value,
        actor_id=actor.principal.actor_id,
        changed_at=now,
        from_license=None,
        to_license=user.license,
        effective_on=first_of_next_month(today),
        access_from=today,
        using_db=conn,
    )
