"""The request context: one per GraphQL request (as Medplum does it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chrgraph.auth.principals import Actor, Principal
from chrgraph.db.tenant import OrganizationData
from chrgraph.settings import Settings

if TYPE_CHECKING:
    from chrgraph.schema.loaders import Loaders


@dataclass
class Context:
    request_id: str
    principal: Principal | None
    settings: Settings
    # The request's DataLoaders, created fresh for each request (`schema.loaders`).
    loaders: Loaders
    # Read rules already decided for this request's principal (schema/reads.py): once
    # per rule and request, never per row.
    reads: dict[Any, bool] = field(default_factory=dict)
    # What the login throttle counts by (http/client.py).
    client_address: str | None = None
    # The request's User-Agent header, as sent (a login records it, cleaned).
    user_agent: str | None = None
    # Patients read by this request (database key -> operation name), filled where a
    # `Patient` is completed and written to the patient access log with the request's
    # API-log batch (http/api_log.py).
    patients_read: dict[int, str | None] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        assert self.principal is not None
        return Actor(self.principal, self.request_id, self.client_address)

    @property
    def data(self) -> OrganizationData:
        """The caller's organization's data (reads of a tenant-owned model start here)."""
        assert self.principal is not None
        return OrganizationData(self.principal.organization_id)
