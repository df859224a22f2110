"""A user's TOTP second factor, its recovery codes and the login challenges it answers.

None of these rows hold a secret in clear: the TOTP secret is sealed with the API log's
key ring (chrgraph/db/log_keys.py, bound to the user's public id), recovery codes and
challenge tokens are kept as SHA-256 digests."""

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from chrgraph.db.models.user import User


class TwoFactor(Model):
    """One user's authenticator: started by `startTwoFactorEnrollment` (`enabled_at`
    NULL), on once confirmed with a code. Deleted when disabled or reset."""

    user: fields.OneToOneRelation["User"] = fields.OneToOneField(
        "chrgraph.User", related_name="two_factor", on_delete=fields.RESTRICT, primary_key=True
    )
    user_id: int
    # The key (of the log key ring) that sealed the secret, and the sealed secret.
    secret_key = fields.CharField(max_length=16)
    secret = fields.CharField(max_length=200)
    started_at = fields.DatetimeField()
    enabled_at = fields.DatetimeField(null=True)
    # The last 30-second time step whose code was accepted: a code is accepted once.
    last_used_step = fields.BigIntField(null=True)

    class Meta:
        table = "two_factor"


class RecoveryCode(Model):
    """A single-use recovery code (its SHA-256 only), ten per enrolment."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="recovery_codes", on_delete=fields.RESTRICT, db_index=True
    )
    user_id: int
    code_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "recovery_code"


class SecondFactorChallenge(Model):
    """What `login` hands an enrolled user instead of a session: its token (SHA-256
    only), valid 5 minutes, single use, void after 5 wrong codes."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="second_factor_challenges", on_delete=fields.RESTRICT, db_index=True
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)
    failures = fields.IntField(default=0)

    class Meta:
        table = "second_factor_challenge"
