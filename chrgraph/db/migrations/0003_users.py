from tortoise import migrations
from tortoise.migrations import operations as ops
from chrgraph.db.models.enums import Classification, License, Permission, UserStatus, UserType
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chrgraph', '0002_append_only_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(db_index=True, max_length=254)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_failure', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'Failed logins per folded email, for the 5-in-15-minutes throttle.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='outbox', on_delete=OnDelete.RESTRICT)),
                ('to_email', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'outbox_message', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'Mail waiting for delivery (SMTP when CHRGRAPH_SMTP_URL is set).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Role',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='roles', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=100)),
                ('description', fields.CharField(null=True, max_length=500)),
                ('builtin', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'role', 'app': 'chrgraph', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'A named set of permissions. Built-in roles are made for every organization.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RolePermission',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('role', fields.ForeignKeyField('chrgraph.Role', source_field='role_id', db_constraint=True, to_field='id', related_name='permissions', on_delete=OnDelete.CASCADE)),
                ('permission', fields.CharEnumField(description='VIEW_USERS: VIEW_USERS\nEDIT_OTHER_USERS: EDIT_OTHER_USERS\nEDIT_ROLES: EDIT_ROLES\nUPGRADE_TYPE_CLASSIFICATION: UPGRADE_TYPE_CLASSIFICATION\nMANAGE_PATIENTS: MANAGE_PATIENTS\nMANAGE_SCHEDULE: MANAGE_SCHEDULE\nVIEW_BILLING: VIEW_BILLING\nMANAGE_PORTAL: MANAGE_PORTAL\nVIEW_AUDIT_LOG: VIEW_AUDIT_LOG\nMANAGE_API_CONSUMERS: MANAGE_API_CONSUMERS', enum_type=Permission, max_length=32)),
            ],
            options={'table': 'role_permission', 'app': 'chrgraph', 'unique_together': (('role', 'permission'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('email', fields.CharField(max_length=254)),
                ('login_email', fields.CharField(null=True, unique=True, max_length=254)),
                ('type', fields.CharEnumField(description='STAFF: STAFF\nPRACTITIONER: PRACTITIONER\nSERVICE_ACCOUNT: SERVICE_ACCOUNT\nSUPPORT: SUPPORT', enum_type=UserType, max_length=16)),
                ('classification', fields.CharEnumField(null=True, description='STANDARD: STANDARD\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=Classification, max_length=16)),
                ('license', fields.CharEnumField(null=True, description='STAFF: STAFF\nCHR_LITE: CHR_LITE\nCHR_LITE_VV: CHR_LITE_VV\nCHR_PLUS: CHR_PLUS\nLOCUM: LOCUM\nCLINICAL_TRAINEE: CLINICAL_TRAINEE', enum_type=License, max_length=16)),
                ('status', fields.CharEnumField(description='INVITED: INVITED\nACTIVE: ACTIVE\nDEACTIVATED: DEACTIVATED', enum_type=UserStatus, max_length=12)),
                ('first_name', fields.CharField(max_length=100)),
                ('last_name', fields.CharField(max_length=100)),
                ('display_name', fields.CharField(null=True, max_length=200)),
                ('title', fields.CharField(null=True, max_length=100)),
                ('position', fields.CharField(null=True, max_length=100)),
                ('billing_number', fields.CharField(null=True, max_length=50)),
                ('expected_end_of_training', fields.DateField(null=True)),
                ('locum_for', fields.ForeignKeyField('chrgraph.User', source_field='locum_for_id', null=True, db_constraint=True, to_field='id', on_delete=OnDelete.RESTRICT)),
                ('locum_start', fields.DateField(null=True)),
                ('locum_end', fields.DateField(null=True)),
                ('search_key', fields.CharField(db_index=True, max_length=600)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('invited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deactivated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'user', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'A person (or service account) of one organization. Never deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.RESTRICT)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('voided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'A single-use invitation token (only its hash is stored).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.RESTRICT)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'session', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': "A user session (only the token's hash is stored)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserPermission',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='extra_permissions', on_delete=OnDelete.RESTRICT)),
                ('permission', fields.CharEnumField(description='VIEW_USERS: VIEW_USERS\nEDIT_OTHER_USERS: EDIT_OTHER_USERS\nEDIT_ROLES: EDIT_ROLES\nUPGRADE_TYPE_CLASSIFICATION: UPGRADE_TYPE_CLASSIFICATION\nMANAGE_PATIENTS: MANAGE_PATIENTS\nMANAGE_SCHEDULE: MANAGE_SCHEDULE\nVIEW_BILLING: VIEW_BILLING\nMANAGE_PORTAL: MANAGE_PORTAL\nVIEW_AUDIT_LOG: VIEW_AUDIT_LOG\nMANAGE_API_CONSUMERS: MANAGE_API_CONSUMERS', enum_type=Permission, max_length=32)),
            ],
            options={'table': 'user_permission', 'app': 'chrgraph', 'unique_together': (('user', 'permission'),), 'pk_attr': 'id', 'table_description': 'An extra individual permission (never MANAGE_API_CONSUMERS).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UserRole',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('chrgraph.User', source_field='user_id', db_constraint=True, to_field='id', related_name='role_links', on_delete=OnDelete.RESTRICT)),
                ('role', fields.ForeignKeyField('chrgraph.Role', source_field='role_id', db_constraint=True, to_field='id', related_name='user_links', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'user_role', 'app': 'chrgraph', 'unique_together': (('user', 'role'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='AuditChainHead',
            options={'table': 'audit_chain_head', 'app': 'chrgraph', 'pk_attr': 'organization_id', 'table_description': "The last link of an organization's chain, locked to serialize appends."},
        ),
        ops.AddField(
            model_name='Organization',
            name='owner_user_id',
            field=fields.BigIntField(null=True),
        ),
    ]
