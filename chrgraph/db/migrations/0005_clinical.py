from tortoise import migrations
from tortoise.migrations import operations as ops
from chrgraph.db.models.enums import AppointmentStatus, QuestionnaireKind, QuestionnaireStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chrgraph', '0004_users_never_deleted')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdentifierType',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='identifier_types', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=100)),
            ],
            options={'table': 'identifier_type', 'app': 'chrgraph', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'A kind of patient identifier an organization defines (e.g. chart number).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LabIntegration',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='lab_integrations', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('backed_by', fields.ForeignKeyField('chrgraph.User', source_field='backed_by_id', db_constraint=True, to_field='id', related_name='lab_integrations', on_delete=OnDelete.RESTRICT)),
                ('is_main', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lab_integration', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'A lab connection backed by a user (one main per organization).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MdBillingConnection',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='mdbilling_connections', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='mdbilling_connections', on_delete=OnDelete.RESTRICT)),
                ('account_number', fields.CharField(max_length=50)),
                ('connected', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('disconnected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mdbilling_connection', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': "A practitioner's MDBilling (Ontario) connection."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Patient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='patients', on_delete=OnDelete.RESTRICT)),
                ('first_name', fields.CharField(max_length=100)),
                ('last_name', fields.CharField(max_length=100)),
                ('date_of_birth', fields.DateField(db_index=True)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('phone', fields.CharField(null=True, max_length=20)),
                ('health_card_number', fields.CharField(null=True, max_length=30)),
                ('portal_access', fields.BooleanField(default=False)),
                ('search_key', fields.CharField(db_index=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'patient', 'app': 'chrgraph', 'unique_together': (('organization', 'health_card_number'),), 'pk_attr': 'id', 'table_description': 'A patient of one organization.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Appointment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.RESTRICT)),
                ('practitioner', fields.ForeignKeyField('chrgraph.User', source_field='practitioner_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.RESTRICT)),
                ('patient', fields.ForeignKeyField('chrgraph.Patient', source_field='patient_id', db_constraint=True, to_field='id', related_name='appointments', on_delete=OnDelete.RESTRICT)),
                ('start', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('end', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('duration_minutes', fields.IntField()),
                ('status', fields.CharEnumField(default=AppointmentStatus.BOOKED, description='BOOKED: BOOKED\nCONFIRMED: CONFIRMED\nARRIVED: ARRIVED\nCOMPLETED: COMPLETED\nCANCELLED: CANCELLED\nNO_SHOW: NO_SHOW', enum_type=AppointmentStatus, max_length=12)),
                ('cancel_reason', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'appointment', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': '`[start, end)` with a practitioner. BOOKED, CONFIRMED and ARRIVED block the time.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='inbox_messages', on_delete=OnDelete.RESTRICT)),
                ('owner', fields.ForeignKeyField('chrgraph.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='inbox', on_delete=OnDelete.RESTRICT)),
                ('sender', fields.ForeignKeyField('chrgraph.User', source_field='sender_id', null=True, db_constraint=True, to_field='id', on_delete=OnDelete.RESTRICT)),
                ('patient', fields.ForeignKeyField('chrgraph.Patient', source_field='patient_id', null=True, db_constraint=True, to_field='id', related_name='inbox_messages', on_delete=OnDelete.RESTRICT)),
                ('subject', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('snoozed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hidden', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'inbox_message', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': "A message in a user's inbox: snoozable, hideable, never deleted."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PatientIdentifier',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('patient', fields.ForeignKeyField('chrgraph.Patient', source_field='patient_id', db_constraint=True, to_field='id', related_name='identifiers', on_delete=OnDelete.RESTRICT)),
                ('identifier_type', fields.ForeignKeyField('chrgraph.IdentifierType', source_field='identifier_type_id', db_constraint=True, to_field='id', related_name='values', on_delete=OnDelete.RESTRICT)),
                ('value', fields.CharField(max_length=100)),
            ],
            options={'table': 'patient_identifier', 'app': 'chrgraph', 'unique_together': (('patient', 'identifier_type'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Questionnaire',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='questionnaires', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='RECURRING: RECURRING\nSENT: SENT', enum_type=QuestionnaireKind, max_length=12)),
                ('title', fields.CharField(max_length=200)),
                ('practitioner', fields.ForeignKeyField('chrgraph.User', source_field='practitioner_id', db_constraint=True, to_field='id', related_name='questionnaires', on_delete=OnDelete.RESTRICT)),
                ('patient', fields.ForeignKeyField('chrgraph.Patient', source_field='patient_id', db_constraint=True, to_field='id', related_name='questionnaires', on_delete=OnDelete.RESTRICT)),
                ('appointment', fields.ForeignKeyField('chrgraph.Appointment', source_field='appointment_id', null=True, db_constraint=True, to_field='id', related_name='questionnaires', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=QuestionnaireStatus.ACTIVE, description='ACTIVE: ACTIVE\nCOMPLETED: COMPLETED\nREMOVED: REMOVED', enum_type=QuestionnaireStatus, max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'questionnaire', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'A recurring scheduled or a sent questionnaire.'},
            bases=['Model'],
        ),
    ]
