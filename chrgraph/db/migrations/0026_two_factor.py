"""The TOTP second factor: one authenticator per user (its secret sealed with the API
log's key ring), its single-use recovery codes and the login challenges (tokens and
codes kept as SHA-256 digests only). Existing users have no second factor."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


def _user(related_name: str, **extra):
    return fields.ForeignKeyField(
        "chrgraph.User",
        source_field="user_id",
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=OnDelete.RESTRICT,
        **extra,
    )


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0025_password_resets")]

    initial = False

    operations = [
        ops.CreateModel(
            name="TwoFactor",
            fields=[
                (
                    "user",
                    fields.OneToOneField(
                        "chrgraph.User",
                        source_field="user_id",
                        primary_key=True,
                        db_index=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="two_factor",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("secret_key", fields.CharField(max_length=16)),
                ("secret", fields.CharField(max_length=200)),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("enabled_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("last_used_step", fields.BigIntField(null=True)),
            ],
            options={"table": "two_factor", "app": "chrgraph", "pk_attr": "user_id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RecoveryCode",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", _user("recovery_codes", db_index=True)),
                ("code_hash", fields.CharField(max_length=64, unique=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "recovery_code", "app": "chrgraph", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SecondFactorChallenge",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", _user("second_factor_challenges", db_index=True)),
                ("token_hash", fields.CharField(max_length=64, unique=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("voided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("failures", fields.IntField(default=0)),
            ],
            options={"table": "second_factor_challenge", "app": "chrgraph", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
