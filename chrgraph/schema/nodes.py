"""`node`/`nodes`: any object of the caller's organization by its global id; an id of
another organization is exactly like one that does not exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry import relay

from chrgraph.context import Context
from chrgraph.resolvers.audit import queries as audit_queries
from chrgraph.resolvers.consumers import queries as consumer_queries
from chrgraph.resolvers.organizations import queries as organization_queries
from chrgraph.schema.audit.types import AuditEvent
from chrgraph.schema.consumers.types import ApiConsumer
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.permissions import CanManageApiConsumers, CanViewAuditLog, Rule
from chrgraph.schema.relay import parse_global_id

# A node resolver reads the row whose public id the global id carries (one statement).
Resolver = Callable[[Context, str], Awaitable[Any]]


async def _organization(ctx: Context, public_id: str) -> Organization | None:
    row = await organization_queries.organization(ctx.data)
    return Organization.from_model(row) if row and row.public_id == public_id else None


async def _consumer(ctx: Context, public_id: str) -> ApiConsumer | None:
    assert ctx.principal is not None  # the node field needs a signed-in caller
    row = await consumer_queries.consumer(ctx.data, public_id)
    if row is None or not (CanManageApiConsumers.allows(ctx.principal) or ctx.principal.consumer_id == row.id):
        return None  # support manages consumers; a consumer sees itself
    return ApiConsumer.from_model(row)


async def _audit_event(ctx: Context, public_id: str) -> AuditEvent | None:
    row = await audit_queries.audit_event(ctx.data, public_id)
    return AuditEvent.from_model(row) if row else None


NODE_RESOLVERS: dict[str, tuple[Resolver, type[Rule] | None]] = {
    "Organization": (_organization, None),
    "ApiConsumer": (_consumer, None),
    "AuditEvent": (_audit_event, CanViewAuditLog),
}


def register_node(type_name: str, resolver: Resolver, rule: type[Rule] | None = None) -> None:
    """`rule` is what the caller needs to see this type (node is within the caller's rights)."""
    NODE_RESOLVERS[type_name] = (resolver, rule)


async def resolve_node(ctx: Context, global_id: relay.GlobalID) -> Any:
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] not in NODE_RESOLVERS:
        return None
    resolver, rule = NODE_RESOLVERS[parsed[0]]
    if rule is not None and not rule.allows(ctx.principal):
        return None
    return await resolver(ctx, parsed[1])
