from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import AppointmentStatus, NotificationLogin

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization


class PortalSettings(Model):
    """The patient portal's settings of one organization, with their documented defaults."""

    organization: fields.OneToOneRelation["Organization"] = fields.OneToOneField(
        "chrgraph.Organization", related_name="portal_settings", primary_key=True, on_delete=fields.RESTRICT
    )
    organization_id: int
    portal_accessible = fields.BooleanField(default=False)
    accessible_for_new_patients = fields.BooleanField(default=False)
    self_registration = fields.BooleanField(default=False)
    conversation_responses = fields.BooleanField(default=True)
    portal_billing = fields.BooleanField(default=False)
    extra_searchable_identifications = fields.BooleanField(default=False)
    otp_timeout_minutes = fields.IntField(default=15)
    notification_login = fields.CharEnumField(
        NotificationLogin, max_length=32, default=NotificationLogin.OTP_AND_DATE_OF_BIRTH
    )

    class Meta:
        table = "portal_settings"


class PortalHiddenStatus(Model):
    """One appointment status the portal hides (a typed row per status)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="portal_hidden_statuses", on_delete=fields.RESTRICT
    )
    organization_id: int
    status = fields.CharEnumField(AppointmentStatus, max_length=12)

    class Meta:
        table = "portal_hidden_status"
        unique_together = (("organization", "status"),)


class PortalImage(Model):
    """An uploaded portal background, served without credentials at an unguessable URL."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="portal_images", on_delete=fields.RESTRICT
    )
    organization_id: int
    token = fields.CharField(max_length=64, unique=True)
    content_type = fields.CharField(max_length=32)
    width = fields.IntField()
    height = fields.IntField()
    size = fields.IntField()
    sha256 = fields.CharField(max_length=64)
    data = fields.BinaryField()
    current = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "portal_image"
