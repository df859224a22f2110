"""The patient access log: one row per patient read by a session or a consumer in a
request (who, when, which patient, request id, operation name), kept like audit events;
its public id is the tie-breaker of `patientAccessLog` cursors."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from chrgraph.db.models.enums import ActorKind
from chrgraph.db.public_ids import LENGTH, new_public_id


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0021_api_log_encryption")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PatientAccess",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("public_id", fields.CharField(max_length=LENGTH, unique=True, default=new_public_id)),
                (
                    "organization",
                    fields.ForeignKeyField(
                        "chrgraph.Organization",
                        source_field="organization_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="patient_accesses",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("patient_id", fields.BigIntField(db_index=True)),
                ("accessed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "actor_kind",
                    fields.CharEnumField(
                        description="CONSUMER: CONSUMER\nUSER: USER\nSUPPORT: SUPPORT\nSYSTEM: SYSTEM",
                        enum_type=ActorKind,
                        max_length=16,
                    ),
                ),
                ("actor_id", fields.CharField(null=True, max_length=64)),
                ("consumer_id", fields.BigIntField(null=True)),
                ("request_id", fields.CharField(max_length=64)),
                ("operation_name", fields.CharField(null=True, max_length=255)),
            ],
            options={
                "table": "patient_access",
                "app": "chrgraph",
                "pk_attr": "id",
                "table_description": "One read of patient data by a session or a consumer: who, when, through which "
                "operation and request. Kept for good like audit events, never purged with the API logs, and "
                "written with the API-log batch of its request.",
            },
            bases=["Model"],
        ),
    ]
