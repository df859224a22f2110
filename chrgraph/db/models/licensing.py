from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import (
    ActorKind,
    License,
    LicenseChangeKind,
    UpgradeRequestStatus,
    UserStatus,
)
from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization
    from chrgraph.db.models.user import User


class LicenseChange(Model):
    """One dated license change: who, when, from, to, and when it counts. Billing
    uses `effective_on` (the first day of the following month); access uses
    `access_from` (at once for an upgrade, the effective date for a downgrade)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="license_changes", on_delete=fields.RESTRICT
    )
    organization_id: int
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="license_changes", on_delete=fields.RESTRICT
    )
    user_id: int
    kind = fields.CharEnumField(LicenseChangeKind, max_length=20)
    actor_kind = fields.CharEnumField(ActorKind, max_length=16)
    actor_id = fields.CharField(max_length=64, null=True)
    changed_at = fields.DatetimeField()
    from_license: fields.Field[License | None] = fields.CharEnumField(License, max_length=16, null=True)  # type: ignore[assignment]  # Tortoise: null=True untyped
    to_license = fields.CharEnumField(License, max_length=16)
    effective_on = fields.DateField()
    access_from = fields.DateField()
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "license_change"


class LicenseEvidence(Model):
    """Recent use per user (the importer's CSV columns): what license mapping reads."""

    user: fields.OneToOneRelation["User"] = fields.OneToOneField(
        "chrgraph.User", related_name="license_evidence", primary_key=True, on_delete=fields.RESTRICT
    )
    user_id: int
    labs_90d = fields.IntField(default=0)
    prescriptions_90d = fields.IntField(default=0)
    virtual_visits_90d = fields.IntField(default=0)
    provincial_claims_90d = fields.IntField(default=0)
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "license_evidence"


class LicenseUpgradeRequest(Model):
    """A user's request for a higher license, decided by EDIT_OTHER_USERS holders."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="license_requests", on_delete=fields.RESTRICT
    )
    organization_id: int
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="license_requests", on_delete=fields.RESTRICT
    )
    user_id: int
    requested_license = fields.CharEnumField(License, max_length=16)
    reason = fields.CharField(max_length=1000, null=True)
    status = fields.CharEnumField(UpgradeRequestStatus, max_length=12, default=UpgradeRequestStatus.PENDING)
    created_at = fields.DatetimeField()
    decided_by_id = fields.BigIntField(null=True)
    decided_at = fields.DatetimeField(null=True)
    decision_reason = fields.CharField(max_length=1000, null=True)

    class Meta:
        table = "license_upgrade_request"


class UserStatusChange(Model):
    """Each status a user entered and when: billing asks what it was on a given day."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="status_changes", on_delete=fields.RESTRICT
    )
    user_id: int
    status = fields.CharEnumField(UserStatus, max_length=12)
    at = fields.DatetimeField()

    class Meta:
        table = "user_status_change"
