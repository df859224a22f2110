"""Recording audit events inside the transaction of their change."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from chrgraph.audit import feeds
from chrgraph.audit.actions import AuditAction
from chrgraph.audit.chain import event_hash, genesis_hash, hashed_fields
from chrgraph.audit.redact import redact
from chrgraph.audit.webhooks import emit_for_audit
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.idempotency import note_written
from chrgraph.db.models import ActorKind, AuditChainHead, AuditEvent
from chrgraph.db.public_ids import global_id, is_public_id
from chrgraph.db.raw import insert

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


def camel(name: str) -> str:
    """A changed field as the schema names it (`date_of_birth` -> `dateOfBirth`); a name
    already in camelCase stays as it is."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def schema_names(changes: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys of `changes` (the changed fields) in the schema's camelCase;
    values, and the keys inside them (global ids, `before`/`after`), are left alone."""
    named = {camel(str(k)): v for k, v in changes.items()}
    if len(named) != len(changes):  # `foo_bar` beside `fooBar`: one would silently vanish
        raise ValueError(f"audit changes name one field twice: {sorted(changes)}")
    return named


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"before": …, "after": …}}` for the fields that changed."""
    keys = sorted(set(before) | set(after))
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys if before.get(k) != after.get(k)}


async def create_chain(conn, organization_id: int) -> None:
    await AuditChainHead.create(
        organization_id=organization_id, seq=0, hash=genesis_hash(organization_id), using_db=conn
    )


# The last head this process wrote, per organization: a guess that saves reading the
# head row. The conditional UPDATE below checks it against the row (seq and hash), so a
# stale guess (another process appended, a transaction rolled back) only costs the read.
# The caller's own X-Request-Id for the request being served, set by the HTTP layer
# where request ids are made. Anonymous operations (login, invitations, resets) record
# events too without a session's Actor, so the id travels with the request, not the actor.
_client_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "chrgraph_client_request_id", default=None
)


def serve_client_request_id(value: str | None) -> contextvars.Token[str | None]:
    """Events recorded from here on in this request keep `value` as `clientRequestId`."""
    return _client_request_id.set(value)


def end_client_request_id(token: contextvars.Token[str | None]) -> None:
    _client_request_id.reset(token)


_heads: dict[int, tuple[int, str]] = {}
_MAX_HEADS = 10_000
_ADVANCE = {
    "sqlite": 'UPDATE "audit_chain_head" SET "seq"=?,"hash"=? WHERE "organization_id"=? AND "seq"=? AND "hash"=?',
    "postgres": 'UPDATE "audit_chain_head" SET "seq"=$1,"hash"=$2 '
    'WHERE "organization_id"=$3 AND "seq"=$4 AND "hash"=$5',
}


@dataclass(slots=True)
class RecordedEvent:
    """An appended event: `AuditEvent`'s columns, without a model instance (the row is
    never read back in its transaction; chrgraph/db/raw.py)."""

    organization_id: int
    occurred_at: datetime
    actor_kind: ActorKind
    actor_id: str | None
    consumer_id: int | None
    actor_key_fingerprint: str | None
    request_id: str | None
    client_request_id: str | None
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any]
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    id: int | None = None

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "id"}


async def _advance(conn, org_id: int, head: tuple[int, str], new: tuple[int, str]) -> bool:
    """Move the head from `head` to `new` if it is still `head` (a compare-and-swap that
    also takes the row's lock on PostgreSQL)."""
    changed, _ = await conn.execute_query(_ADVANCE[conn.capabilities.dialect], [*new, org_id, *head])
    return changed > 0


async def record(
    conn,
    actor: Actor,
    action: AuditAction,
    target_type: str,
    target_id: str | None,
    changes: dict[str, Any] | None = None,
    organization_id: int | None = None,
    row: Any = None,
) -> RecordedEvent:
    """Append one event to the organization's chain, in the caller's transaction.

    `target_id` is the target's public id (never its database key); the event keeps the
    target's global id (`target_type` and public id), the one `node` follows. Settings of
    the organization's portal (PortalSettings, PortalImage) name the organization's.
    The changed fields are stored as the schema names them (`schema_names`), whatever
    names the caller used; a consumer's event keeps the fingerprint of the key that
    signed its request.

    A patient or appointment target is stamped with the event's sequence number and time
    (`feeds.stamp`: the change feeds' order); `row`, the caller's instance of the target,
    gets them too.

    Appends serialize on the chain head row: the head moves with a compare-and-swap
    UPDATE from the head this process last wrote (no read), and otherwise from the head
    read with `SELECT … FOR UPDATE` (on SQLite the write transaction is already
    `BEGIN IMMEDIATE`). Either way the event links to the row's head at the time of the
    locked UPDATE, and the event is inserted after it, in the same transaction, with the
    webhook event of the change when vendors are told of it (audit/webhooks.py)."""
    org_id = organization_id if organization_id is not None else actor.organization_id
    principal = actor.principal
    event = RecordedEvent(
        organization_id=org_id,
        occurred_at=datetime.now(UTC),
        actor_kind=ActorKind.SYSTEM if actor.operator else _ACTOR_KINDS[principal.kind],
        actor_id=principal.actor_id,
        consumer_id=principal.consumer_id,
        actor_key_fingerprint=principal.key_fingerprint,
        request_id=actor.request_id,
        client_request_id=_client_request_id.get() if actor.request_id is not None else None,
        action=str(action),  # the plain word: what the column stores and the hash covers
        target_type=target_type,
        target_id=None if target_id is None else _target(target_type, target_id),
        changes=_plain(redact(schema_names(changes or {}))),
    )
    guess = _heads.get(org_id)
    if guess is None or not await _advance(conn, org_id, guess, _link(event, guess)):
        row = await AuditChainHead.filter(organization_id=org_id).using_db(conn).select_for_update().get()
        head = (row.seq, row.hash)
        if not await _advance(conn, org_id, head, _link(event, head)):  # the row is locked: never
            raise RuntimeError(f"audit chain head of organization {org_id} moved while locked")
    event.id = await insert(conn, AuditEvent, **event.columns())
    if target_id is not None:
        await feeds.stamp(conn, org_id, target_type, target_id, event.seq, event.occurred_at, row)
    await emit_for_audit(conn, event)  # the webhook event of the change, if vendors are told of it
    if len(_heads) >= _MAX_HEADS:
        _heads.clear()
    _heads[org_id] = (event.seq, event.hash)
    note_written(event.target_id)  # what a request under an Idempotency-Key wrote
    return event


def ref(type_name: str, public_id: str | None) -> str | None:
    """How `changes` name another record: its global id (the one `node` follows), never
    its database key, which is sequential across organizations."""
    return None if public_id is None else _target(type_name, public_id)


def refs(type_name: str, public_ids: list[str]) -> list[str]:
    return [_target(type_name, public_id) for public_id in public_ids]


def _target(target_type: str, public_id: str) -> str:
    if not is_public_id(public_id):  # a database key must never reach an event
        raise TypeError(f"audit target of {target_type} must be a public id, not {public_id!r}")
    return global_id(target_type, public_id)


def _link(event: RecordedEvent, head: tuple[int, str]) -> tuple[int, str]:
    """Make `event` follow `head`; returns the new head."""
    event.seq, event.prev_hash = head[0] + 1, head[1]
    event.hash = event_hash(event.prev_hash, hashed_fields(event))
    return event.seq, event.hash
