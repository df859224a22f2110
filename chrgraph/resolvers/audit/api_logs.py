"""Reading API logs: `apiLogs` and `chrgraph logs show`."""

from __future__ import annotations

from datetime import datetime

from chrgraph.auth.principals import Actor
from chrgraph.resolvers.errors import ErrorCode, fail


async def api_logs_query(
    actor: Actor, *, issuer: str | None = None, since: datetime | None = None, until: datetime | None = None
):
    """Rows of the organization, newest first; `since` inclusive, `until` exclusive
    (aware instants: the GraphQL scalar and the command line give them in UTC)."""
    query = actor.data.api_logs
    if issuer is not None:
        consumer = await actor.data.api_consumers.get_or_none(issuer=issuer)
        if consumer is None:
            raise fail(ErrorCode.NOT_FOUND, "No such API consumer.", "consumer")
        query = query.filter(consumer_id=consumer.id)
    if since is not None:
        query = query.filter(created_at__gte=since)
    if until is not None:
        query = query.filter(created_at__lt=until)
    return query.order_by("-created_at", "-id").select_related("consumer")
