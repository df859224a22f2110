"""An appointment's kind, IN_PERSON or VIRTUAL (a VIRTUAL one needs a practitioner whose
license includes virtual care). Every existing appointment was booked in person: the
column is added NOT NULL with a database default of IN_PERSON, which fills the existing
rows on SQLite and PostgreSQL alike (the model's own default is the same value)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from chrgraph.db.models.enums import AppointmentKind


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0018_login_attempts")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Appointment",
            name="kind",
            field=fields.CharEnumField(
                default=AppointmentKind.IN_PERSON,
                db_default=AppointmentKind.IN_PERSON.value,
                description="IN_PERSON: IN_PERSON\nVIRTUAL: VIRTUAL",
                enum_type=AppointmentKind,
                max_length=12,
            ),
        ),
    ]
