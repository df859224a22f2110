"""`updateOrganization` and `chrgraph org set`: the support account only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from chrgraph.audit import events
from chrgraph.auth import epoch
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Contract, Organization
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed
from chrgraph.resolvers.licensing.catalog import LICENSED_TYPES
from chrgraph.resolvers.licensing.management import under_license_management
from chrgraph.resolvers.portal.settings import stripe_disconnected
from chrgraph.resolvers.validation import PROVINCES, Errors, valid_time_zone

# input name -> model attribute
FIELDS = {
    "name": "name",
    "contract": "contract",
    "province": "province",
    "timeZone": "time_zone",
    "enterpriseApiEnabled": "enterprise_api_enabled",
    "stripeConnected": "stripe_connected",
    "licenseEnforcementDate": "license_enforcement_date",
}


def _snapshot(org: Organization) -> dict[str, Any]:
    return {name: getattr(org, attr) for name, attr in FIELDS.items()}


async def update_organization(actor: Actor, changes: dict[str, Any]) -> Organization:
    """Apply the given fields (None means "leave as is") to the actor's organization."""
    errors = Errors()
    changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes:
        changes["name"] = errors.text(changes["name"], "name", required=True)
    if "province" in changes and changes["province"] not in PROVINCES:
        errors.add(ErrorCode.INVALID_INPUT, "Not a Canadian province or territory code.", "province")
    if "timeZone" in changes and not valid_time_zone(changes["timeZone"]):
        errors.add(ErrorCode.INVALID_TIME_ZONE, "Not an IANA time zone name.", "timeZone")
    if "contract" in changes:
        changes["contract"] = Contract(changes["contract"])
    if "licenseEnforcementDate" in changes and not isinstance(changes["licenseEnforcementDate"], date):
        errors.add(ErrorCode.INVALID_INPUT, "Expected a date (YYYY-MM-DD).", "licenseEnforcementDate")
    unknown = set(changes) - set(FIELDS)
    for name in sorted(unknown):
        errors.add(ErrorCode.INVALID_INPUT, "Unknown organization field.", name)
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        before = _snapshot(org)
        for name, value in changes.items():
            setattr(org, FIELDS[name], value)
        after = _snapshot(org)
        delta = events.diff(before, after)
        if delta:
            await org.save(using_db=conn, update_fields=[FIELDS[n] for n in changes])
            if "enterpriseApiEnabled" in delta:
                await epoch.bump(conn)
            if "contract" in delta:
                # Its users come under license management now, or leave it (and come
                # under it afresh if the organization returns).
                users = actor.data.users.filter(type__in=LICENSED_TYPES).using_db(conn)
                if under_license_management(org):
                    await users.filter(license_managed_since__isnull=True).update(
                        license_managed_since=datetime.now(UTC)
                    )
                else:
                    await users.filter(license_managed_since__isnull=False).update(license_managed_since=None)
            await events.record(conn, actor, "ORGANIZATION_UPDATED", "Organization", org.public_id, delta)
            if delta.get("stripeConnected", {}).get("after") is False:
                await stripe_disconnected(conn, actor, org)
    if delta and "enterpriseApiEnabled" in delta:
        epoch.clear_local()
    return org
