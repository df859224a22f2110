"""Reads of the caller's organization for the GraphQL queries and `node`."""

from __future__ import annotations

from chrgraph.db.models import Organization
from chrgraph.db.tenant import OrganizationData


async def organization(data: OrganizationData) -> Organization | None:
    return await data.organization.get_or_none()
