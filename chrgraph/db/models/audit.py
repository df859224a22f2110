from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import ActorKind
from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.consumer import ApiConsumer
    from chrgraph.db.models.organization import Organization


class AuditEvent(Model):
    """One successful mutation. Append-only, triggers refuse UPDATE and DELETE."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="audit_events", on_delete=fields.RESTRICT
    )
    organization_id: int
    seq = fields.BigIntField()
    occurred_at = fields.DatetimeField()
    actor_kind = fields.CharEnumField(ActorKind, max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    consumer_id = fields.BigIntField(null=True)
    # The SHA-256 fingerprint of the key that signed a consumer's request (null otherwise).
    actor_key_fingerprint = fields.CharField(max_length=64, null=True)
    request_id = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=64)
    target_id = fields.CharField(max_length=64, null=True)
    changes: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_event"
        unique_together = (("organization", "seq"),)


class AuditChainHead(Model):
    """The last link of an organization's chain, locked to serialize appends."""

    organization: fields.OneToOneRelation["Organization"] = fields.OneToOneField(
        "chrgraph.Organization",
        related_name="audit_head",
        primary_key=True,
        on_delete=fields.RESTRICT,
    )
    organization_id: int
    seq = fields.BigIntField(default=0)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_chain_head"


class AuditCheckpoint(Model):
    """An Ed25519 signature over a chain head, made with a key outside the database."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="audit_checkpoints", on_delete=fields.RESTRICT
    )
    organization_id: int
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)
    signed_at = fields.DatetimeField()
    public_key = fields.CharField(max_length=64)
    signature = fields.CharField(max_length=128)

    class Meta:
        table = "audit_checkpoint"


class ApiLog(Model):
    """One HTTP request of an authenticated API consumer, kept 90 days."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="api_logs", on_delete=fields.RESTRICT
    )
    organization_id: int
    consumer: fields.ForeignKeyRelation["ApiConsumer"] = fields.ForeignKeyField(
        "chrgraph.ApiConsumer", related_name="api_logs", on_delete=fields.RESTRICT
    )
    consumer_id: int
    key_id = fields.CharField(max_length=255, null=True)
    request_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(db_index=True)
    method = fields.CharField(max_length=8)
    operation_name = fields.CharField(max_length=255, null=True)
    query = fields.TextField(null=True)
    variables: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    status = fields.IntField()
    response_body = fields.TextField()
    duration_ms = fields.FloatField()

    class Meta:
        table = "api_log"
