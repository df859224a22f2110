from tortoise import migrations
from tortoise.migrations import operations as ops
from chrgraph.db.models.enums import UserStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('chrgraph', '0005_clinical')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='status_before_deactivation',
            field=fields.CharEnumField(null=True, description='INVITED: INVITED\nACTIVE: ACTIVE\nDEACTIVATED: DEACTIVATED', enum_type=UserStatus, max_length=12),
        ),
    ]
