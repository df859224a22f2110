"""`chrgraph org create` (§1, §10)."""

from __future__ import annotations

from chrgraph.audit import events
from chrgraph.auth.principals import system_actor
from chrgraph.db.models import Contract, Organization
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.validation import DOMAIN_RE, PROVINCES, Errors, valid_time_zone


async def create_organization(
    *,
    domain: str,
    name: str,
    contract: Contract = Contract.STANDARD,
    province: str = "ON",
    time_zone: str = "America/Toronto",
    enterprise_api_enabled: bool = True,
) -> Organization:
    errors = Errors()
    name = errors.text(name, "name", required=True)
    if not DOMAIN_RE.match(domain or ""):
        errors.add(ErrorCode.INVALID_INPUT, "A domain is a lowercase slug (a-z, 0-9, -).", "domain")
    if province not in PROVINCES:
        errors.add(ErrorCode.INVALID_INPUT, "Not a Canadian province or territory code.", "province")
    if not valid_time_zone(time_zone):
        errors.add(ErrorCode.INVALID_TIME_ZONE, "Not an IANA time zone name.", "timeZone")
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        if await Organization.filter(domain=domain).using_db(conn).exists():
            raise fail(ErrorCode.DOMAIN_TAKEN, "That domain is taken.", "domain")
        org = await Organization.create(
            domain=domain,
            name=name,
            contract=contract,
            province=province,
            time_zone=time_zone,
            enterprise_api_enabled=enterprise_api_enabled,
            using_db=conn,
        )
        await events.create_chain(conn, org.id)
        await events.record(
            conn,
            system_actor(org.id),
            "ORGANIZATION_CREATED",
            "Organization",
            org.id,
            {"domain": domain, "name": name, "contract": contract, "province": province,
             "timeZone": time_zone, "enterpriseApiEnabled": enterprise_api_enabled},
        )
    return org

