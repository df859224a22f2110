from tortoise import migrations
from tortoise.migrations import operations as ops
import datetime
from chrgraph.db.models.enums import ActorKind, Contract
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuthEpoch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('value', fields.BigIntField(default=0)),
            ],
            options={'table': 'auth_epoch', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'One row whose counter is bumped, in the same transaction, by every change that'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('domain', fields.CharField(unique=True, max_length=63)),
                ('contract', fields.CharEnumField(default=Contract.STANDARD, description='STANDARD: STANDARD\nCUSTOM: CUSTOM', enum_type=Contract, max_length=16)),
                ('province', fields.CharField(default='ON', max_length=2)),
                ('time_zone', fields.CharField(default='America/Toronto', max_length=64)),
                ('enterprise_api_enabled', fields.BooleanField(default=True)),
                ('stripe_connected', fields.BooleanField(default=False)),
                ('portal_enabled', fields.BooleanField(default=False)),
                ('license_enforcement_date', fields.DateField(default=datetime.date.fromisoformat('2026-02-01'))),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organization', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'One CHR domain.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiConsumer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='api_consumers', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('issuer', fields.CharField(unique=True, max_length=255)),
                ('active', fields.BooleanField(default=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('deactivated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_consumer', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'A vendor integration that signs its own RS512 JWTs.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiConsumerKey',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('consumer', fields.ForeignKeyField('chrgraph.ApiConsumer', source_field='consumer_id', db_constraint=True, to_field='id', related_name='keys', on_delete=OnDelete.RESTRICT)),
                ('kid', fields.CharField(null=True, max_length=255)),
                ('public_key_pem', fields.TextField(unique=False)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('bits', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_consumer_key', 'app': 'chrgraph', 'unique_together': (('consumer', 'kid'),), 'pk_attr': 'id', 'table_description': 'One RSA public key of a consumer (revoked keys are kept for the record).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='api_logs', on_delete=OnDelete.RESTRICT)),
                ('consumer', fields.ForeignKeyField('chrgraph.ApiConsumer', source_field='consumer_id', db_constraint=True, to_field='id', related_name='api_logs', on_delete=OnDelete.RESTRICT)),
                ('key_id', fields.CharField(null=True, max_length=255)),
                ('request_id', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('method', fields.CharField(max_length=8)),
                ('operation_name', fields.CharField(null=True, max_length=255)),
                ('query', fields.TextField(null=True, unique=False)),
                ('variables', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.IntField()),
                ('response_body', fields.TextField(unique=False)),
                ('duration_ms', fields.FloatField()),
            ],
            options={'table': 'api_log', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'One HTTP request of an authenticated API consumer, kept 90 days.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditChainHead',
            fields=[
                ('organization', fields.OneToOneField('chrgraph.Organization', source_field='organization_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='audit_head', on_delete=OnDelete.RESTRICT)),
                ('seq', fields.BigIntField(default=0)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_chain_head', 'app': 'chrgraph', 'pk_attr': 'organization_id', 'table_description': "The last link of an organization's chain, locked to serialize appends."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='audit_checkpoints', on_delete=OnDelete.RESTRICT)),
                ('seq', fields.BigIntField()),
                ('hash', fields.CharField(max_length=64)),
                ('signed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('public_key', fields.CharField(max_length=64)),
                ('signature', fields.CharField(max_length=128)),
            ],
            options={'table': 'audit_checkpoint', 'app': 'chrgraph', 'pk_attr': 'id', 'table_description': 'An Ed25519 signature over a chain head, made with a key outside the database.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('chrgraph.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.RESTRICT)),
                ('seq', fields.BigIntField()),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor_kind', fields.CharEnumField(description='CONSUMER: CONSUMER\nUSER: USER\nSUPPORT: SUPPORT\nSYSTEM: SYSTEM', enum_type=ActorKind, max_length=16)),
                ('actor_id', fields.CharField(null=True, max_length=64)),
                ('consumer_id', fields.BigIntField(null=True)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('action', fields.CharField(max_length=64)),
                ('target_type', fields.CharField(max_length=64)),
                ('target_id', fields.CharField(null=True, max_length=64)),
                ('changes', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'chrgraph', 'unique_together': (('organization', 'seq'),), 'pk_attr': 'id', 'table_description': 'One successful mutation. Append-only, triggers refuse UPDATE and DELETE.'},
            bases=['Model'],
        ),
    ]
