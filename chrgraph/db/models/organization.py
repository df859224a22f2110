from datetime import date

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import Contract
from chrgraph.db.public_ids import public_id_field


class Organization(Model):
    """One CHR domain."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    name = fields.CharField(max_length=200)
    domain = fields.CharField(max_length=63, unique=True)
    contract = fields.CharEnumField(Contract, max_length=16, default=Contract.STANDARD)
    province = fields.CharField(max_length=2, default="ON")
    time_zone = fields.CharField(max_length=64, default="America/Toronto")
    enterprise_api_enabled = fields.BooleanField(default=True)
    stripe_connected = fields.BooleanField(default=False)
    portal_enabled = fields.BooleanField(default=False)
    license_enforcement_date = fields.DateField(default=date(2026, 2, 1))
    # The owner (a user of this organization); a plain id to avoid a circular FK.
    owner_user_id = fields.BigIntField(null=True)
    # The security policy: users without a second factor may only enrol one; sessions
    # unused for this many minutes end (None: only the session lifetime ends them).
    require_two_factor = fields.BooleanField(default=False)
    session_idle_timeout_minutes = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organization"


class AuthEpoch(Model):
    """One row whose counter is bumped, in the same transaction, by every change that
    must revoke cached credentials (consumer off, key revoked, API off, session
    revoked). Each process re-reads it at most every `auth_epoch_poll_seconds`."""

    id = fields.IntField(primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "auth_epoch"
