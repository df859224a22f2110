from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization
    from chrgraph.db.models.user import User


class WorkingHours(Model):
    """A schedule owner's weekly working hours (a practitioner, or a service account used
    as a shared schedule), in the organization's local wall-clock time: one row per owner."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="working_hours", on_delete=fields.RESTRICT
    )
    organization_id: int
    owner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="working_hours", on_delete=fields.RESTRICT
    )
    owner_id: int
    # The grid free slots are aligned to, in minutes.
    slot_minutes = fields.IntField()
    # [{"weekday": 1..7 (ISO, Monday 1), "start": "HH:MM", "end": "HH:MM"}], sorted.
    weekly: fields.JSONField[list[dict[str, str]]] = fields.JSONField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "working_hours"
        unique_together = (("organization", "owner"),)


class ScheduleException(Model):
    """One local date of an owner's schedule that differs from its weekly hours: closed,
    or open only in the intervals given (which replace the weekday's)."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="schedule_exceptions", on_delete=fields.RESTRICT
    )
    organization_id: int
    owner: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="schedule_exceptions", on_delete=fields.RESTRICT
    )
    owner_id: int
    date = fields.DateField()
    closed = fields.BooleanField()
    # [{"start": "HH:MM", "end": "HH:MM"}], sorted; empty when closed.
    intervals: fields.JSONField[list[dict[str, str]]] = fields.JSONField()

    class Meta:
        table = "schedule_exception"
        unique_together = (("owner", "date"),)
