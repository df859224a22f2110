from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization

IDENTIFIER_MAX_LENGTH = 255  # an issuer or a key id, as stored


class ApiConsumer(Model):
    """A vendor integration that signs its own RS512 JWTs."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="api_consumers", on_delete=fields.RESTRICT
    )
    organization_id: int
    name = fields.CharField(max_length=200)
    issuer = fields.CharField(max_length=IDENTIFIER_MAX_LENGTH, unique=True)
    active = fields.BooleanField(default=True)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    deactivated_at = fields.DatetimeField(null=True)
    # Objects its queries may ask for per minute; null: the server's default.
    cost_budget_per_minute = fields.IntField(null=True)
    # The permission names it holds, as set by support; null: the default set (every
    # permission but the support account's own).
    permissions: fields.JSONField[list[Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "api_consumer"


class ApiConsumerKey(Model):
    """One RSA public key of a consumer (revoked keys are kept for the record)."""

    id = fields.BigIntField(primary_key=True)
    consumer: fields.ForeignKeyRelation["ApiConsumer"] = fields.ForeignKeyField(
        "chrgraph.ApiConsumer", related_name="keys", on_delete=fields.RESTRICT
    )
    consumer_id: int
    kid = fields.CharField(max_length=IDENTIFIER_MAX_LENGTH, null=True)
    public_key_pem = fields.TextField()
    fingerprint = fields.CharField(max_length=64)
    bits = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_consumer_key"
        unique_together = (("consumer", "kid"),)
