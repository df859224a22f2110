"""Reading API logs: `apiLogs` and `chrgraph logs show`."""

from __future__ import annotations

from datetime import datetime

from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.resolvers.errors import ErrorCode, fail

# Newest first; the public id breaks ties between rows of the same instant (and is what a
# cursor carries).
ORDER = ("-created_at", "-public_id")


async def api_logs_query(
    actor: Actor,
    *,
    issuer: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: int | None = None,
    operation_name: str | None = None,
    request_id: str | None = None,
):
    """Rows of the organization, newest first; `since` inclusive, `until` exclusive
    (aware instants: the GraphQL scalar and the command line give them in UTC). Every
    filter reads a clear column: nothing is decrypted to filter."""
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
    if status is not None:
        query = query.filter(status=status)
    if operation_name is not None:
        query = query.filter(operation_name=operation_name)
    if request_id is not None:
        query = query.filter(request_id=request_id)
    return query.order_by(*ORDER).select_related("consumer")


def may_read_content(actor: Actor) -> bool:
    """Whether the caller sees rows' content (query text, variables, answers): the
    clinic's owner does; the support account sees each row's metadata only (the
    operator's command line, holding the key file, shows all)."""
    principal = actor.principal
    return principal.kind is PrincipalKind.USER and principal.is_owner
