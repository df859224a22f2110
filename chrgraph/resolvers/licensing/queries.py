"""Reads of license upgrade requests for the GraphQL queries and `node`."""

from __future__ import annotations

from chrgraph.db.models import LicenseUpgradeRequest, UpgradeRequestStatus
from chrgraph.db.tenant import OrganizationData


async def license_upgrade_requests(
    data: OrganizationData, status: UpgradeRequestStatus | None = None
) -> list[LicenseUpgradeRequest]:
    """Newest first, at most 500."""
    query = data.license_upgrade_requests
    if status is not None:
        query = query.filter(status=status)
    return await query.order_by("-id").limit(500)


async def license_upgrade_request(data: OrganizationData, public_id: str) -> LicenseUpgradeRequest | None:
    return await data.find(LicenseUpgradeRequest, public_id)
