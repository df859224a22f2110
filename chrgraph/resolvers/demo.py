"""`chrgraph demo` (§10): the demo organization (domain `demo`); idempotent."""

from __future__ import annotations

from chrgraph.db.models import Organization
from chrgraph.resolvers.organizations.create_organization import create_organization

DEMO_DOMAIN = "demo"


async def load_demo() -> str:
    org = await Organization.get_or_none(domain=DEMO_DOMAIN)
    if org is None:
        org = await create_organization(domain=DEMO_DOMAIN, name="Demo Clinic")
        return f"created demo organization {org.domain} (id {org.id})"
    return f"demo organization {org.domain} already loaded (id {org.id})"
