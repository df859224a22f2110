"""Idempotency keys: what a caller's `Idempotency-Key` header claimed, and the answer to
replay (chrgraph/db/idempotency.py keeps them; chrgraph/http/idempotency.py decides)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization


class IdempotencyKey(Model):
    """One key of one API consumer or one user, kept 24 hours.

    Its life: claimed (a request is running under it), committed (the mutation's own
    transaction recorded it, with the global ids it wrote), answered (the answer is
    stored, encrypted, for replay). A claim that is neither answered nor committed
    lapses 60 seconds after `claimed_at`."""

    id = fields.BigIntField(primary_key=True)
    # What the stored answer's ciphertext is bound to.
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="idempotency_keys", on_delete=fields.RESTRICT
    )
    organization_id: int
    # `consumer:<key>` or `user:<key>` (database keys): a key belongs to a consumer or a
    # user, never to one session.
    owner = fields.CharField(max_length=40)
    key = fields.CharField(max_length=255)
    # SHA-256 (hex) of the canonical JSON of the request's query, operation name and variables.
    request_hash = fields.CharField(max_length=64)
    # Which request holds the claim (random; a lapsed claim taken over gets a new one).
    token = fields.CharField(max_length=32)
    created_at = fields.DatetimeField(db_index=True)
    claimed_at = fields.DatetimeField()
    committed_at = fields.DatetimeField(null=True)
    # The global ids the mutation wrote (its audit events' targets), set when it committed.
    written_ids: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    # The stored answer: HTTP status, and the body encrypted like API-log content.
    status = fields.IntField(null=True)
    content = fields.TextField(null=True)
    content_key = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "idempotency_key"
        unique_together = (("owner", "key"),)
