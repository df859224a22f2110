from tortoise import migrations
from tortoise.migrations import operations as ops
from chrgraph.db.models.enums import ActorKind, License, LicenseChangeKind, UpgradeRequestStatus, UserStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chrgraph', '0007_portal')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LicenseChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='license_changes', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='license_changes', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='INITIAL: INITIAL\nMANUAL: MANUAL\nAUTOMATIC: AUTOMATIC\nENFORCEMENT: ENFORCEMENT\nSELF_UPGRADE: SELF_UPGRADE\nREQUEST_APPROVED: REQUEST_APPROVED', enum_type=LicenseChangeKind, max_length=20)),
                ('actor_kind', fields.CharEnumField(description='CONSUMER: CONSUMER\nUSER: USER\nSUPPORT: SUPPORT\nSYSTEM: SYSTEM', enum_type=ActorKind, max_length=16)),
                ('actor_id', fields.CharField(null=True, max_length=64)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('from_license', fields.CharEnumField(null=True, description='STAFF: STAFF\nCHR_LITE: CHR_LITE\nCHR_LITE_VV: CHR_LITE_VV\nCHR_PLUS: CHR_PLUS\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=License, max_length=16)),
                ('to_license', fields.CharEnumField(description='STAFF: STAFF\nCHR_LITE: CHR_LITE\nCHR_LITE_VV: CHR_LITE_VV\nCHR_PLUS: CHR_PLUS\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=License, max_length=16)),
                ('effective_on', fields.DateField()),
                ('access_from', fields.DateField()),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'license_change', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'One dated license change: who, when, from, to, and when it counts. Billing'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LicenseEvidence',
            fields=[
                ('user', fields.OneToOneField('chrgraph.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='license_evidence', on_delete=OnDelete.RESTRICT)),
                ('labs_90d', fields.IntField(default=0)),
                ('prescriptions_90d', fields.IntField(default=0)),
                ('virtual_visits_90d', fields.IntField(default=0)),
                ('provincial_claims_90d', fields.IntField(default=0)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'license_evidence', 'app': 'chrgraph', 'pk_attr': 'user_id', 'table_description': "Recent use per user (the importer's CSV columns): what license mapping reads."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LicenseUpgradeRequest',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='license_requests', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='license_requests', on_delete=OnDelete.RESTRICT)),
                ('requested_license', fields.CharEnumField(description='STAFF: STAFF\nCHR_LITE: CHR_LITE\nCHR_LITE_VV: CHR_LITE_VV\nCHR_PLUS: CHR_PLUS\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=License, max_length=16)),
                ('reason', fields.CharField(null=True, max_length=1000)),
                ('status', fields.CharEnumField(default=UpgradeRequestStatus.PENDING, description='PENDING: PENDING\nAPPROVED: APPROVED\nDECLINED: DECLINED', enum_type=UpgradeRequestStatus, max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_by_id', fields.BigIntField(null=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_reason', fields.CharField(null=True, max_length=1000)),
            ],
            options={'table': 'license_upgrade_request', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': "A user's request for a higher license, decided by EDIT_OTHER_USERS holders."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserStatusChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='status_changes', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(description='INVITED: INVITED\nACTIVE: ACTIVE\nDEACTIVATED: DEACTIVATED', enum_type=UserStatus, max_length=12)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'user_status_change', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'Each status a user entered and when: billing asks what it was on a given day.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='PortalSettings',
            options={'table': 'portal_settings', 'app': 'chrgraph', 'pk_attr': 'organization_id', 'table_description': "The patient portal's settings of one organization, with their documented defaults."},
        ),
        ops.AddField(
            model_name='User',
            name='license_managed_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='license_reviewed',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='User',
            name='pending_license',
            field=fields.CharEnumField(null=True, description='STAFF: STAFF\nCHR_LITE: CHR_LITE\nCHR_LITE_VV: CHR_LITE_VV\nCHR_PLUS: CHR_PLUS\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=License, max_length=16),
        ),
        ops.AddField(
            model_name='User',
            name='pending_license_effective_on',
            field=fields.DateField(null=True),
        ),
    ]
