"""Reads of the portal settings for the GraphQL queries."""

from __future__ import annotations

from dataclasses import dataclass

from chrgraph.db.models import AppointmentStatus, Organization, PortalImage, PortalSettings
from chrgraph.db.tenant import OrganizationData
from chrgraph.resolvers.portal.images import current_background
from chrgraph.resolvers.portal.settings import portal_settings


@dataclass
class PortalView:
    organization: Organization
    settings: PortalSettings
    hidden_statuses: list[AppointmentStatus]
    background: PortalImage | None


async def portal_view(organization_id: int) -> PortalView:
    """The organization's portal switch, settings (defaults when never changed), hidden
    appointment statuses and current background."""
    data = OrganizationData(organization_id)
    org = await data.organization.get()
    row, hidden = await portal_settings(data)
    image = await current_background(data)
    return PortalView(org, row, hidden, image)
