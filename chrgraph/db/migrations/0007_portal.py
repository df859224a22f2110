from tortoise import migrations
from tortoise.migrations import operations as ops
from chrgraph.db.models.enums import AppointmentStatus, NotificationLogin
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chrgraph', '0006_deactivation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PortalHiddenStatus',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='portal_hidden_statuses', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(description='BOOKED: BOOKED\nCONFIRMED: CONFIRMED\nARRIVED: ARRIVED\nCOMPLETED: COMPLETED\nCANCELLED: CANCELLED\nNO_SHOW: NO_SHOW', enum_type=AppointmentStatus, max_length=12)),
            ],
            options={'table': 'portal_hidden_status', 'app': 'chrgraph', 'unique_together': (('organization', 'status'),), 'pk_attr': 'id', 'table_description': 'One appointment status the portal hides (a typed row per status).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PortalImage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='portal_images', on_delete=OnDelete.RESTRICT)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('content_type', fields.CharField(max_length=32)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('size', fields.IntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('data', fields.BinaryField()),
                ('current', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'portal_image', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'An uploaded portal background, served without credentials at an unguessable URL.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PortalSettings',
            fields=[
                ('organization', fields.OneToOneField('chrgraph.Organization', source_field='organization_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='portal_settings', on_delete=OnDelete.RESTRICT)),
                ('portal_accessible', fields.BooleanField(default=False)),
                ('accessible_for_new_patients', fields.BooleanField(default=False)),
                ('self_registration', fields.BooleanField(default=False)),
                ('conversation_responses', fields.BooleanField(default=True)),
                ('portal_billing', fields.BooleanField(default=False)),
                ('extra_searchable_identifications', fields.BooleanField(default=False)),
                ('otp_timeout_minutes', fields.IntField(default=15)),
                ('notification_login', fields.CharEnumField(default=NotificationLogin.OTP_AND_DATE_OF_BIRTH, description='OTP_AND_DATE_OF_BIRTH: OTP_AND_DATE_OF_BIRTH\nID_AND_DATE_OF_BIRTH: ID_AND_DATE_OF_BIRTH', enum_type=NotificationLogin, max_length=32)),
            ],
            options={'table': 'portal_settings', 'app': 'chrgraph', 'pk_attr': 'organization_id', 'table_description': "The patient portal's settings of one organization, with their documented defaults."},
            bases=['Model'],
        ),
    ]
