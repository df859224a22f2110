"""`chrgraph org list`: every organization, for the operator."""

from __future__ import annotations

from chrgraph.db.models import Organization


async def list_organizations() -> list[Organization]:
    """All organizations, ordered by domain."""
    return await Organization.all().order_by("domain")
