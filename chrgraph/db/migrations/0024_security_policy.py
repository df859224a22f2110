"""An organization's security policy (second factor required, idle timeout of sessions)
and what a user sees of its own sessions (last use, user agent). Existing organizations
keep today's behaviour: no second factor required, no idle timeout."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("chrgraph", "0023_audit_key_fingerprint")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Organization",
            name="require_two_factor",
            # A database default fills the existing rows (SQLite refuses a NOT NULL column
            # without one on a table that has rows).
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name="Organization",
            name="session_idle_timeout_minutes",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Session",
            name="last_used_at",
            field=fields.DatetimeField(null=True),
        ),
        ops.AddField(
            model_name="Session",
            name="user_agent",
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
