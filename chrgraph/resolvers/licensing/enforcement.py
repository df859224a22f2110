"""License enforcement: on and after the organization's enforcement date, a user
still without a license gets the highest tier that fits it, automatic and not
reviewed, billed from the later of the enforcement date and the first day of the
month after the user came under license management. Only organizations under license
management are enforced. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import system_actor
from chrgraph.db.models import (
    Classification,
    License,
    LicenseChange,
    LicenseChangeKind,
    UserType,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.licensing.catalog import CATALOG, fits
from chrgraph.resolvers.licensing.dates import first_of_next_month, local_date
from chrgraph.resolvers.licensing.management import managed_organizations, unlicensed_users


def highest_tier(user_type: UserType, classification: Classification | None) -> License:
    fitting = [info for info in CATALOG.values() if fits(info.license, user_type, classification)]
    return max(fitting, key=lambda info: info.rank).license


def billed_from(enforcement: date, managed_since: datetime | None, time_zone: str, now: datetime) -> date:
    since = local_date(managed_since or now, time_zone)
    return max(enforcement, first_of_next_month(since))


async def enforce_licenses(
    organization_id: int | None = None,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Returns how many users got a license. `progress(done, total)` drives a CLI bar."""
    now = now or datetime.now(UTC)
    orgs = managed_organizations()
    if organization_id is not None:
        orgs = orgs.filter(id=organization_id)
    assigned = 0
    for org in await orgs:
        today = local_date(now, org.time_zone)
        if today < org.license_enforcement_date:
            continue
        query = unlicensed_users(org)
        if query is None:
            continue
        users = await query.order_by("id")
        actor = system_actor(org.id)
        for index, user in enumerate(users, start=1):
            license = highest_tier(user.type, user.classification)
            effective = billed_from(org.license_enforcement_date, user.license_managed_since, org.time_zone, now)
            async with atomic() as conn:
                fresh = await actor.data.users.filter(id=user.id, license__isnull=True).using_db(conn).first()
                if fresh is None:
                    continue  # licensed meanwhile: idempotent
                await actor.data.create(
                    LicenseChange,
                    user_id=user.id,
                    kind=LicenseChangeKind.ENFORCEMENT,
                    actor_kind=actor.principal.kind.value,
                    actor_id=None,
                    changed_at=now,
                    from_license=None,
                    to_license=license,
                    effective_on=effective,
                    access_from=today,
                    using_db=conn,
                )
                fresh.license, fresh.license_reviewed = license, False
                await fresh.save(using_db=conn, update_fields=["license", "license_reviewed"])
                await events.record(
                    conn,
                    actor,
                    AuditAction.LICENSE_ENFORCED,
                    "User",
                    user.public_id,
                    {
                        "license": {"before": None, "after": license},
                        "effectiveOn": effective,
                        "automatic": True,
                        "reviewed": False,
                    },
                )
            assigned += 1
            if progress:
                progress(index, len(users))
    return assigned
