from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from chrgraph.db.models.enums import Classification, License, Permission, UserStatus, UserType
from chrgraph.db.public_ids import public_id_field
from chrgraph.email_identity import skeleton, skeleton_digest

if TYPE_CHECKING:
    from chrgraph.db.models.organization import Organization


class User(Model):
    """A person (or service account) of one organization. Never deleted."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="users", on_delete=fields.RESTRICT
    )
    organization_id: int
    email = fields.CharField(max_length=254)
    # Folded email for login accounts, NULL for service accounts (which may reuse any
    # address): the unique constraint is the database's guarantee that
    # one email is one login account.
    login_email = fields.CharField(max_length=254, null=True, unique=True)
    # SHA-256 of the login email's confusable skeleton (chrgraph/email_identity.py), set
    # when a login account is created: unique, so `оwner@x` (Cyrillic) cannot join
    # `owner@x`. NULL for service accounts, and for the accounts migration 0016 found
    # clashing with an older one (`chrgraph users email-clashes` lists them).
    email_skeleton = fields.CharField(max_length=64, null=True, unique=True)
    type = fields.CharEnumField(UserType, max_length=16)
    classification: fields.Field[Classification | None] = fields.CharEnumField(Classification, max_length=16, null=True)  # type: ignore[assignment]  # Tortoise: null=True untyped
    license: fields.Field[License | None] = fields.CharEnumField(License, max_length=16, null=True)  # type: ignore[assignment]  # Tortoise: null=True untyped
    status = fields.CharEnumField(UserStatus, max_length=12)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    display_name = fields.CharField(max_length=200, null=True)
    title = fields.CharField(max_length=100, null=True)
    position = fields.CharField(max_length=100, null=True)
    billing_number = fields.CharField(max_length=50, null=True)
    expected_end_of_training = fields.DateField(null=True)
    locum_for: fields.ForeignKeyNullableRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name=None, null=True, on_delete=fields.RESTRICT
    )
    locum_for_id: int | None
    locum_start = fields.DateField(null=True)
    locum_end = fields.DateField(null=True)
    # Case- and accent-folded "first last email" for search on every database.
    search_key = fields.CharField(max_length=600, db_index=True)
    password_hash = fields.CharField(max_length=200, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    invited_at = fields.DatetimeField(null=True)
    accepted_at = fields.DatetimeField(null=True)
    deactivated_at = fields.DatetimeField(null=True)
    # What billing will use next (from the first day of the following month), and whether
    # an admin reviewed an automatic license.
    pending_license: fields.Field[License | None] = fields.CharEnumField(License, max_length=16, null=True)  # type: ignore[assignment]  # Tortoise: null=True untyped
    pending_license_effective_on = fields.DateField(null=True)
    license_reviewed = fields.BooleanField(default=True)
    # When the user came under license management (created, imported, contract switch).
    license_managed_since = fields.DatetimeField(null=True)
    # What reactivation restores: ACTIVE, or INVITED with a fresh invitation.
    status_before_deactivation: fields.Field[UserStatus | None] = fields.CharEnumField(
        UserStatus, max_length=12, null=True
    )  # type: ignore[assignment]  # Tortoise: null=True untyped

    class Meta:
        table = "user"

    async def save(self, *args: Any, **kwargs: Any) -> None:
        # One place keys every new login account, whichever operation creates it.
        if not self._saved_in_db and self.login_email is not None:
            self.email_skeleton = skeleton_digest(skeleton(self.login_email))
        await super().save(*args, **kwargs)


class Role(Model):
    """A named set of permissions. Built-in roles are made for every organization."""

    id = fields.BigIntField(primary_key=True)
    public_id = public_id_field()
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="roles", on_delete=fields.RESTRICT
    )
    organization_id: int
    name = fields.CharField(max_length=100)
    description = fields.CharField(max_length=500, null=True)
    builtin = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role"
        unique_together = (("organization", "name"),)


class RolePermission(Model):
    id = fields.BigIntField(primary_key=True)
    role: fields.ForeignKeyRelation["Role"] = fields.ForeignKeyField(
        "chrgraph.Role", related_name="permissions", on_delete=fields.CASCADE
    )
    role_id: int
    permission = fields.CharEnumField(Permission, max_length=32)

    class Meta:
        table = "role_permission"
        unique_together = (("role", "permission"),)


class UserRole(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="role_links", on_delete=fields.RESTRICT
    )
    user_id: int
    role: fields.ForeignKeyRelation["Role"] = fields.ForeignKeyField(
        "chrgraph.Role", related_name="user_links", on_delete=fields.RESTRICT
    )
    role_id: int

    class Meta:
        table = "user_role"
        unique_together = (("user", "role"),)


class UserPermission(Model):
    """An extra individual permission (never MANAGE_API_CONSUMERS)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="extra_permissions", on_delete=fields.RESTRICT
    )
    user_id: int
    permission = fields.CharEnumField(Permission, max_length=32)

    class Meta:
        table = "user_permission"
        unique_together = (("user", "permission"),)


class Invitation(Model):
    """A single-use invitation token (only its hash is stored)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="invitations", on_delete=fields.RESTRICT
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invitation"


class PasswordReset(Model):
    """A single-use password-reset token sent by mail (only its hash is stored), valid
    one hour; used or voided (another reset or a password change came first) once."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="password_resets", on_delete=fields.RESTRICT
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "password_reset"


class OutboxMessage(Model):
    """Mail waiting for delivery (SMTP when CHRGRAPH_SMTP_URL is set).

    An invitation's body never holds its token: it holds `ACCEPT_LINK_MARK` where the
    accept link goes, rendered at delivery from `token`, which is kept in clear only
    while the message is still to be sent and blanked once it is sent or skipped."""

    id = fields.BigIntField(primary_key=True)
    organization: fields.ForeignKeyRelation["Organization"] = fields.ForeignKeyField(
        "chrgraph.Organization", related_name="outbox", on_delete=fields.RESTRICT
    )
    organization_id: int
    to_email = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=200)
    body = fields.TextField()
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    # The invitation the message carries (its token in `token` until delivery).
    invitation_id = fields.BigIntField(null=True)
    # Or the password reset it carries (its token in `token` until delivery, likewise).
    password_reset_id = fields.BigIntField(null=True)
    token = fields.CharField(max_length=200, null=True)
    # Never sent: no longer due when its turn came (voided, used, expired invitation,
    # user no longer invited) or given up after too many failures; the reason says which.
    skipped_at = fields.DatetimeField(null=True)
    skip_reason = fields.CharField(max_length=100, null=True)
    # The sender's claim: one server process sends the message while it holds it (see
    # resolvers/users/outbox.py); a claim whose sender died lapses at `claimed_until`.
    claim = fields.CharField(max_length=16, null=True)
    claimed_until = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"


class Session(Model):
    """A user session (only the token's hash is stored)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation["User"] = fields.ForeignKeyField(
        "chrgraph.User", related_name="sessions", on_delete=fields.RESTRICT
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    # Shown to the user in mySessions; last_used_at also drives the idle timeout.
    last_used_at = fields.DatetimeField(null=True)
    user_agent = fields.CharField(max_length=512, null=True)

    class Meta:
        table = "session"


class LoginFailure(Model):
    """A failed password check, or one under way, per folded email and client address:
    the login throttle's counter (auth/throttle.py). A row is written before the
    password is checked and deleted again when the password was right."""

    id = fields.BigIntField(primary_key=True)
    email = fields.CharField(max_length=254, db_index=True)
    address = fields.CharField(max_length=64, default="unknown")
    at = fields.DatetimeField()

    class Meta:
        table = "login_failure"
