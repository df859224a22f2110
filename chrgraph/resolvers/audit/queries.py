"""Reads of audit events for `node` (the filtered list is `audit_events_query`)."""

from __future__ import annotations

from chrgraph.db.models import AuditEvent
from chrgraph.db.tenant import OrganizationData


async def audit_event(data: OrganizationData, public_id: str) -> AuditEvent | None:
    return await data.find(AuditEvent, public_id)
