"""Reads of API consumers for the GraphQL queries and `node`."""

from __future__ import annotations

from chrgraph.db.models import ApiConsumer
from chrgraph.db.tenant import OrganizationData


async def consumer(data: OrganizationData, consumer_id: int) -> ApiConsumer | None:
    return await data.get(ApiConsumer, consumer_id)
