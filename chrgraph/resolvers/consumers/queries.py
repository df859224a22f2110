"""Reads of API consumers for the GraphQL queries and `node`."""

from __future__ import annotations

from chrgraph.db.models import ApiConsumer
from chrgraph.db.tenant import OrganizationData


async def consumer(data: OrganizationData, public_id: str) -> ApiConsumer | None:
    return await data.find(ApiConsumer, public_id)
