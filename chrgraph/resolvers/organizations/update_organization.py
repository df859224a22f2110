"""`updateOrganization` and `chrgraph org set`: the support account only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Contract, Organization
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.catalog import LICENSED_TYPES
from chrgraph.resolvers.licensing.management import under_license_management
from chrgraph.resolvers.portal.settings import stripe_disconnected
from chrgraph.resolvers.validation import DOMAIN_RE, PROVINCES, Errors, valid_time_zone

# model attribute -> its public name (error paths and the audit event's delta)
FIELDS = {
    "name": "name",
    "domain": "domain",
    "contract": "contract",
    "province": "province",
    "time_zone": "timeZone",
    "enterprise_api_enabled": "enterpriseApiEnabled",
    "stripe_connected": "stripeConnected",
    "license_enforcement_date": "licenseEnforcementDate",
}
# Fields that cached credentials depend on.
REVOKING = frozenset({"enterprise_api_enabled", "time_zone"})


def _snapshot(org: Organization) -> dict[str, Any]:
    return {public: getattr(org, attr) for attr, public in FIELDS.items()}


async def update_organization(
    actor: Actor,
    *,
    name: str | None = None,
    domain: str | None = None,
    contract: Contract | str | None = None,
    province: str | None = None,
    time_zone: str | None = None,
    enterprise_api_enabled: bool | None = None,
    stripe_connected: bool | None = None,
    license_enforcement_date: date | None = None,
) -> Organization:
    """Apply the given fields to the actor's organization; None (the default) means "leave as is"."""
    errors = Errors()
    given = {
        "name": name,
        "domain": domain,
        "contract": contract,
        "province": province,
        "time_zone": time_zone,
        "enterprise_api_enabled": enterprise_api_enabled,
        "stripe_connected": stripe_connected,
        "license_enforcement_date": license_enforcement_date,
    }
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if "name" in changes:
        changes["name"] = errors.text(changes["name"], "name", required=True)
    if "domain" in changes and not DOMAIN_RE.fullmatch(changes["domain"]):
        errors.add(ErrorCode.INVALID_INPUT, "A domain is a lowercase slug (a-z, 0-9, -).", "domain")
    if "province" in changes and changes["province"] not in PROVINCES:
        errors.add(ErrorCode.INVALID_INPUT, "Not a Canadian province or territory code.", "province")
    if "time_zone" in changes and not valid_time_zone(changes["time_zone"]):
        errors.add(ErrorCode.INVALID_TIME_ZONE, "Not an IANA time zone name.", "timeZone")
    if "contract" in changes:
        changes["contract"] = Contract(changes["contract"])
    if "license_enforcement_date" in changes and not isinstance(changes["license_enforcement_date"], date):
        errors.add(ErrorCode.INVALID_INPUT, "Expected a date (YYYY-MM-DD).", "licenseEnforcementDate")
    if errors:
        raise OperationFailed(*errors.items)
    try:
        return await _apply(actor, changes)
    except IntegrityError as exc:  # a concurrent write took the domain after our check
        raise fail(ErrorCode.DOMAIN_TAKEN, "That domain is taken.", "domain") from exc


async def _apply(actor: Actor, changes: dict[str, Any]) -> Organization:
    # API consumers carry whether their organization's API is on; a trainee's session,
    # the day in the organization's time zone that ends its access.
    async with atomic(revokes_credentials=bool(REVOKING & changes.keys())) as conn:
        org = await Organization.filter(id=actor.organization_id).using_db(conn).get()
        if changes.get("domain", org.domain) != org.domain:
            taken = Organization.filter(domain=changes["domain"]).exclude(id=org.id).using_db(conn)
            if await taken.exists():
                raise fail(ErrorCode.DOMAIN_TAKEN, "That domain is taken.", "domain")
        before = _snapshot(org)
        for attr, value in changes.items():
            setattr(org, attr, value)
        after = _snapshot(org)
        delta = events.diff(before, after)
        if delta:
            await org.save(using_db=conn, update_fields=list(changes))
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
            await events.record(conn, actor, AuditAction.ORGANIZATION_UPDATED, "Organization", org.public_id, delta)
            if delta.get("stripeConnected", {}).get("after") is False:
                await stripe_disconnected(conn, actor, org)
    return org
