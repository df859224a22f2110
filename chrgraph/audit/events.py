"""Recording audit events inside the transaction of their change (§8)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from chrgraph.audit.chain import event_hash, genesis_hash, hashed_fields
from chrgraph.audit.redact import redact
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import ActorKind, AuditChainHead, AuditEvent

_ACTOR_KINDS = {
    PrincipalKind.CONSUMER: ActorKind.CONSUMER,
    PrincipalKind.USER: ActorKind.USER,
    PrincipalKind.SUPPORT: ActorKind.SUPPORT,
    PrincipalKind.SYSTEM: ActorKind.SYSTEM,
}


def _plain(value: Any) -> Any:
    """JSON-native values only, so the hash survives a round trip through the database."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return value
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"before": …, "after": …}}` for the fields that changed."""
    keys = sorted(set(before) | set(after))
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys if before.get(k) != after.get(k)}


async def create_chain(conn, organization_id: int) -> None:
    await AuditChainHead.create(
        organization_id=organization_id, seq=0, hash=genesis_hash(organization_id), using_db=conn
    )


async def record(
    conn,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: Any,
    changes: dict[str, Any] | None = None,
    organization_id: int | None = None,
) -> AuditEvent:
    """Append one event to the organization's chain, in the caller's transaction.

    The chain head row is locked (PostgreSQL `FOR UPDATE`; on SQLite the write
    transaction is already `BEGIN IMMEDIATE`), so concurrent appends serialize."""
    org_id = organization_id if organization_id is not None else actor.organization_id
    head = await AuditChainHead.filter(organization_id=org_id).using_db(conn).select_for_update().get()
    principal = actor.principal
    event = AuditEvent(
        organization_id=org_id,
        seq=head.seq + 1,
        occurred_at=datetime.now(UTC),
        actor_kind=_ACTOR_KINDS[principal.kind],
        actor_id=principal.actor_id,
        consumer_id=principal.consumer_id,
        request_id=actor.request_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        changes=_plain(redact(changes or {})),
        prev_hash=head.hash,
    )
    event.hash = event_hash(head.hash, hashed_fields(event))
    await event.save(using_db=conn)
    await AuditChainHead.filter(organization_id=org_id).using_db(conn).update(seq=event.seq, hash=event.hash)
    return event
