from __future__ import annotations

import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from chrgraph.audit.actions import DESCRIPTIONS as ACTION_DESCRIPTIONS
from chrgraph.audit.actions import AuditAction as DomainAuditAction
from chrgraph.db.models import ActorKind as DomainActorKind
from chrgraph.db.models import AuditEvent as AuditEventModel
from chrgraph.db.models import PatientAccess as PatientAccessModel
from chrgraph.schema.enum_values import describe_values
from chrgraph.schema.reads import may_read_changes

# strawberry.enum registers the domain enum in place and returns it; the plain alias
# below each call is what type checkers read as a type.
strawberry.enum(DomainActorKind, description="Who made a change.")
ActorKind = DomainActorKind
describe_values(
    ActorKind,
    {
        ActorKind.CONSUMER: "An API consumer (`actorId` is its global id).",
        ActorKind.USER: "A user, with a session (`actorId` is its global id).",
        ActorKind.SUPPORT: "The support account, with a session or through the command line.",
        ActorKind.SYSTEM: "The server or an operator's command (enforcement, imports, break-glass commands).",
    },
)
strawberry.enum(DomainAuditAction, description="What an audit event records.")
AuditAction = DomainAuditAction
# The actions' meanings live beside the vocabulary (chrgraph/audit/actions.py).
for _value in DomainAuditAction.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = ACTION_DESCRIPTIONS.get(DomainAuditAction(_value.value), _value.description)

# What a caller who may not read an event's target sees in place of each value.
HIDDEN = "[HIDDEN]"


@strawberry.type(description="One changed field of an audited change (secrets redacted).")
class FieldChange:
    field: str = strawberry.field(description="The field's name, as the schema names it (camelCase).")
    before: JSON | None = strawberry.field(
        description="Its value before; `[HIDDEN]` when the caller may not read the event's target."
    )
    after: JSON | None = strawberry.field(
        description="Its value after; `[HIDDEN]` when the caller may not read the event's target."
    )

    def hidden(self) -> FieldChange:
        """The same change with its values withheld (the field's name stays)."""
        withheld: Any = HIDDEN  # a JSON value
        return FieldChange(
            field=self.field,
            before=None if self.before is None else withheld,
            after=None if self.after is None else withheld,
        )


@strawberry.type(description="One successful mutation, as the append-only audit log records it.")
class AuditEvent(relay.Node):
    id: strawberry.Private[int]  # the database key, never shown
    public_id: relay.NodeID[str]
    seq: int = strawberry.field(description="Position in the organization's hash chain.")
    occurred_at: datetime.datetime = strawberry.field(description="When (UTC).")
    actor_kind: ActorKind = strawberry.field(description="Consumer, user, support or system.")
    actor_id: str | None = strawberry.field(description="Global id of the consumer or user.")
    actor_key_fingerprint: str | None = strawberry.field(
        description="For a consumer's change: the SHA-256 fingerprint of the key that signed its request."
    )
    request_id: str | None = strawberry.field(description="The HTTP request that made it.")
    client_request_id: str | None = strawberry.field(
        description="The `X-Request-Id` the caller sent with that request, if any (printable ASCII, at most 128 "
        "characters); the server's own id is `requestId`."
    )
    action: AuditAction = strawberry.field(description="What was done.")
    target_type: str = strawberry.field(description="Type of the changed object.")
    target_id: str | None = strawberry.field(description="Global id of the changed object (follow it with `node`).")
    recorded_changes: strawberry.Private[list[FieldChange]]
    hash: str = strawberry.field(description="SHA-256 link to the previous event.")

    @classmethod
    def from_model(cls, row: AuditEventModel) -> AuditEvent:
        changes = []
        for name, value in sorted((row.changes or {}).items()):
            if isinstance(value, dict) and set(value) == {"before", "after"}:
                changes.append(FieldChange(field=name, before=value["before"], after=value["after"]))
            else:
                changes.append(FieldChange(field=name, before=None, after=value))
        return cls(
            id=row.id,
            public_id=row.public_id,
            seq=row.seq,
            occurred_at=row.occurred_at,
            actor_kind=row.actor_kind,
            actor_id=row.actor_id,
            actor_key_fingerprint=row.actor_key_fingerprint,
            request_id=row.request_id,
            client_request_id=row.client_request_id,
            action=DomainAuditAction(row.action),
            target_type=row.target_type,
            target_id=row.target_id,
            recorded_changes=changes,
            hash=row.hash,
        )

    @strawberry.field(
        description="Changed fields, before and after. The values follow the read rule of the "
        "target's type: a caller who may not read such objects sees each field's name with "
        "the value `[HIDDEN]`. An API consumer reads the values of webhook subscription and "
        "delivery events only for the changes it made itself."
    )
    def changes(self, info: strawberry.Info) -> list[FieldChange]:
        if may_read_changes(info.context, self.target_type, self.actor_id):
            return self.recorded_changes
        return [change.hidden() for change in self.recorded_changes]


@strawberry.type(description="One read of a patient's data: who, when, through which operation and request.")
class PatientAccess:
    accessed_at: datetime.datetime = strawberry.field(description="When (UTC).")
    actor_kind: ActorKind = strawberry.field(description="Consumer, user or support.")
    actor_id: str | None = strawberry.field(description="Global id of the consumer or user who read it.")
    request_id: str = strawberry.field(description="The HTTP request that read it.")
    operation_name: str | None = strawberry.field(description="The GraphQL operation's name, when it has one.")

    @classmethod
    def from_model(cls, row: PatientAccessModel) -> PatientAccess:
        return cls(
            accessed_at=row.accessed_at,
            actor_kind=row.actor_kind,
            actor_id=row.actor_id,
            request_id=row.request_id,
            operation_name=row.operation_name,
        )


@strawberry.input(description="Narrow `auditEvents`; every filter is optional.")
class AuditEventFilter:
    actor_kind: ActorKind | None = strawberry.field(default=None, description="Only this kind of actor.")
    actor_id: str | None = strawberry.field(default=None, description="Only this actor.")
    action: AuditAction | None = strawberry.field(default=None, description="Only this action.")
    target_type: str | None = strawberry.field(default=None, description="Only this target type.")
    target_id: str | None = strawberry.field(default=None, description="Only this target.")
    since: datetime.datetime | None = strawberry.field(default=None, description="At or after.")
    until: datetime.datetime | None = strawberry.field(default=None, description="Before.")
