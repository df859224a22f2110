from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import AppointmentKind, AppointmentStatus, QuestionnaireKind, QuestionnaireStatus, Sex
from chrgraph.db.public_ids import public_id_field

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization
    from chrgraph.db.models.user import User


class IdentifierType(Model):
    """A kind of patient identifier an organization defines (e.g. chart number)."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="identifier_types", on_delete=fields.RESTRICT
    )
    organization_id: int
    name = fields.CharField(max_length=100)

    class Meta:
        table = "identifier_type"
        unique_together = (("organization", "name"),)


class Patient(Model):
    """A patient of one organization."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="patients", on_delete=fields.RESTRICT
    )
    organization_id: int
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    date_of_birth = fields.DateField(db_index=True)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=20, null=True)
    health_card_number = fields.CharField(max_length=30, null=True)
    health_card_province = fields.CharField(max_length=2, null=True)
    health_card_version = fields.CharField(max_length=2, null=True)
    sex = fields.CharEnumField(Sex, max_length=8, default=Sex.UNKNOWN)
    # The postal address: its lines joined by a line feed (no line holds one), or null.
    address_lines = fields.CharField(max_length=310, null=True)
    address_city = fields.CharField(max_length=100, null=True)
    address_province = fields.CharField(max_length=2, null=True)
    address_postal_code = fields.CharField(max_length=7, null=True)
    portal_access = fields.BooleanField(default=False)
    search_key = fields.CharField(max_length=300, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # When, and by which audit event (its sequence number), the row last changed: both
    # are set by the event's recording alone (chrgraph/audit/feeds.py).
    updated_at = fields.DatetimeField(auto_now_add=True)
    change_seq = fields.BigIntField(default=0)

    class Meta:
        table = "patient"
        unique_together = (("organization", "health_card_number"),)


class PatientIdentifier(Model):
    id = fields.BigIntField(primary_key=True)
    patient: fields.ForeignKeyRelation["Patient"] = fields.ForeignKeyField(
        "chrgraph.Patient", related_name="identifiers", on_delete=fields.RESTRICT
    )
    patient_id: int
    identifier_type: fields.ForeignKeyRelation["IdentifierType"] = fields.ForeignKeyField(
        "chrgraph.IdentifierType", related_name="values", on_delete=fields.RESTRICT
    )
    identifier_type_id: int
    value = fields.CharField(max_length=100)

    class Meta:
        table = "patient_identifier"
        unique_together = (("patient", "identifier_type"),)


class Appointment(Model):
    """`[start, end)` with a practitioner. BOOKED, CONFIRMED and ARRIVED block the time.
    `end` is stored (start + duration) so overlap checks are one indexed query."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="appointments", on_delete=fields.RESTRICT
    )
    organization_id: int
    practitioner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="appointments", on_delete=fields.RESTRICT
    )
    practitioner_id: int
    patient: fields.ForeignKeyRelation["Patient"] = fields.ForeignKeyField(
        "chrgraph.Patient", related_name="appointments", on_delete=fields.RESTRICT
    )
    patient_id: int
    start = fields.DatetimeField(db_index=True)
    end = fields.DatetimeField()
    duration_minutes = fields.IntField()
    status = fields.CharEnumField(AppointmentStatus, max_length=12, default=AppointmentStatus.BOOKED)
    kind = fields.CharEnumField(AppointmentKind, max_length=12, default=AppointmentKind.IN_PERSON)
    cancel_reason = fields.CharField(max_length=500, null=True)
    reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # When, and by which audit event (its sequence number), the row last changed: both
    # are set by the event's recording alone (chrgraph/audit/feeds.py).
    updated_at = fields.DatetimeField(auto_now_add=True)
    change_seq = fields.BigIntField(default=0)

    class Meta:
        table = "appointment"


class Questionnaire(Model):
    """A recurring scheduled or a sent questionnaire."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="questionnaires", on_delete=fields.RESTRICT
    )
    organization_id: int
    kind = fields.CharEnumField(QuestionnaireKind, max_length=12)
    title = fields.CharField(max_length=200)
    practitioner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="questionnaires", on_delete=fields.RESTRICT
    )
    practitioner_id: int
    patient: fields.ForeignKeyRelation["Patient"] = fields.ForeignKeyField(
        "chrgraph.Patient", related_name="questionnaires", on_delete=fields.RESTRICT
    )
    patient_id: int
    appointment: fields.ForeignKeyNullableRelation["Appointment"] = fields.ForeignKeyField(
        "chrgraph.Appointment", related_name="questionnaires", null=True, on_delete=fields.RESTRICT
    )
    appointment_id: int | None
    status = fields.CharEnumField(QuestionnaireStatus, max_length=12, default=QuestionnaireStatus.ACTIVE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "questionnaire"


class InboxMessage(Model):
    """A message in a user's inbox: snoozable, hideable, never deleted."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="inbox_messages", on_delete=fields.RESTRICT
    )
    organization_id: int
    owner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="inbox", on_delete=fields.RESTRICT
    )
    owner_id: int
    sender: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name=None, null=True, on_delete=fields.RESTRICT
    )
    sender_id: int | None
    patient: fields.ForeignKeyNullableRelation["Patient"] = fields.ForeignKeyField(
        "chrgraph.Patient", related_name="inbox_messages", null=True, on_delete=fields.RESTRICT
    )
    patient_id: int | None
    subject = fields.CharField(max_length=200)
    body = fields.TextField()
    snoozed_until = fields.DatetimeField(null=True)
    hidden = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_message"


class LabIntegration(Model):
    """A lab connection backed by a user (one main per organization)."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="lab_integrations", on_delete=fields.RESTRICT
    )
    organization_id: int
    name = fields.CharField(max_length=200)
    backed_by: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="lab_integrations", on_delete=fields.RESTRICT
    )
    backed_by_id: int
    is_main = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "lab_integration"


class MdBillingConnection(Model):
    """A practitioner's MDBilling (Ontario) connection."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="mdbilling_connections", on_delete=fields.RESTRICT
    )
    organization_id: int
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="mdbilling_connections", on_delete=fields.RESTRICT
    )
    user_id: int
    account_number = fields.CharField(max_length=50)
    connected = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    disconnected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mdbilling_connection"
