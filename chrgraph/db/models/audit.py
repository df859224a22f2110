from typing import TYPE_CHECKING, Any

import orjson
from tortoise import fields
from tortoise.models import Model

from chrgraph.db import log_keys
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
    # The caller's own X-Request-Id, when it sent one (kept beside ours, never in its place).
    client_request_id = fields.CharField(max_length=128, null=True)
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


class PatientAccess(Model):
    """One read of patient data by a session or a consumer: who, when, through which
    operation and request. Kept for good like audit events, never purged with the API
    logs, and written with the API-log batch of its request."""

    id = fields.BigIntField(primary_key=True)
    # The tie-breaker of `patientAccessLog` cursors.
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="patient_accesses", on_delete=fields.RESTRICT
    )
    organization_id: int
    # The patient's database key, without a foreign key: the record of a read outlives
    # whatever happens to the patient's row.
    patient_id = fields.BigIntField(db_index=True)
    accessed_at = fields.DatetimeField()
    actor_kind = fields.CharEnumField(ActorKind, max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    consumer_id = fields.BigIntField(null=True)
    request_id = fields.CharField(max_length=64)
    operation_name = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "patient_access"


class ApiLog(Model):
    """One HTTP request of an authenticated API consumer, kept 90 days."""

    id = fields.BigIntField(primary_key=True)
    # The tie-breaker of `apiLogs` cursors, and what each row's ciphertext is bound to.
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="api_logs", on_delete=fields.RESTRICT
    )
    organization_id: int
    consumer: fields.ForeignKeyRelation["ApiConsumer"] = fields.ForeignKeyField(
        "chrgraph.ApiConsumer", related_name="api_logs", on_delete=fields.RESTRICT
    )
    consumer_id: int
    key_id = fields.CharField(max_length=255, null=True)
    # SHA-256 of the key's SubjectPublicKeyInfo, base64url (`ApiConsumerKey.fingerprint`).
    key_fingerprint = fields.CharField(max_length=64, null=True)
    request_id = fields.CharField(max_length=64)
    # The caller's own X-Request-Id, if it sent one (the request id is always ours).
    client_request_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(db_index=True)
    method = fields.CharField(max_length=8)
    operation_name = fields.CharField(max_length=255, null=True)
    status = fields.IntField()
    # The query text, variables and response body (redacted), as one JSON object
    # encrypted with AES-GCM under the key `content_key` names (chrgraph/db/log_keys.py).
    content = fields.TextField(null=True)
    content_key = fields.CharField(max_length=16, null=True)

    def opened(self) -> dict[str, Any]:
        """The query text, variables and response body, decrypted (once per instance):
        read only where they are shown to whoever may see them (the owner, the operator's
        command line), never to filter or to purge."""
        opened = self.__dict__.get("_opened")
        if opened is None:
            if self.content is None or self.content_key is None:
                opened = {"query": None, "variables": None, "responseBody": None}
            else:
                opened = orjson.loads(log_keys.open_content(self.public_id, self.content_key, self.content))
            self.__dict__["_opened"] = opened
        return opened

    @property
    def query(self) -> str | None:
        return self.opened()["query"]

    @property
    def variables(self) -> Any:
        return self.opened()["variables"]

    @property
    def response_body(self) -> str | None:
        return self.opened()["responseBody"]

    duration_ms = fields.FloatField()

    class Meta:
        table = "api_log"
