"""inviteUser and createServiceAccount."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import Organization, Role, User, UserRole, UserStatus, UserType
from chrgraph.db.raw import ByIds
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.changes import initial_license, record_status
from chrgraph.resolvers.licensing.management import under_license_management
from chrgraph.resolvers.users.invitations import issue_invitation
from chrgraph.resolvers.users.power import check_role_grant
from chrgraph.resolvers.users.profile import (
    Profile,
    apply_profile,
    check_email,
    check_locum_target,
    check_profile,
    snapshot,
)
from chrgraph.resolvers.validation import Errors

_organizations = ByIds(Organization)


async def _organization(organization_id: int) -> Organization:
    """The actor's organization, read with SQL built once (no pypika per invitation)."""
    (org,) = await _organizations.fetch([organization_id])
    return org


def email_taken() -> OperationFailed:
    return fail(ErrorCode.EMAIL_TAKEN, "A user with that email exists.", "email")


async def _roles(errors: Errors, data: OrganizationData, role_ids: list[int]) -> list[Role]:
    roles = await data.roles.filter(id__in=role_ids) if role_ids else []
    if len({r.id for r in roles}) != len(set(role_ids)):
        errors.add(ErrorCode.NOT_FOUND, "No such role.", "roleIds")
    return roles


async def invite_user(
    actor: Actor, email: str, profile: Profile, role_ids: list[int] | None = None, *, owner: bool = False
) -> tuple[User, str]:
    """Create an INVITED Staff or Practitioner and queue its invitation; returns the
    user and the token (which only the CLI prints: GraphQL sends it by mail)."""
    errors = Errors()
    org = await _organization(actor.organization_id)
    email = check_email(errors, email, "email") or ""  # "" only with an error recorded
    if profile.type not in (UserType.STAFF, UserType.PRACTITIONER):
        errors.add(ErrorCode.INVALID_INPUT, "Invite Staff or Practitioners only.", "type")
    profile = check_profile(errors, org, profile)
    covered = await check_locum_target(errors, actor.data, profile.locum)
    roles = await _roles(errors, actor.data, role_ids or [])
    if errors:
        raise OperationFailed(*errors.items)
    # Inviting with roles grants their permissions.
    await check_role_grant(actor, [r.id for r in roles], None)
    now = datetime.now(UTC)
    user = actor.data.new(
        User,
        email=email,
        login_email=email,
        status=UserStatus.INVITED,
        invited_at=now,
        license_managed_since=now if under_license_management(org) else None,
    )
    apply_profile(user, profile)
    async with atomic() as conn:
        # No SELECT beforehand: the unique login_email column answers "taken", also for
        # an invitation running concurrently. The INSERT is the transaction's first write,
        # so leaving by the exception rolls back everything (decisions.md).
        try:
            await user.save(using_db=conn)
        except IntegrityError as exc:
            raise email_taken() from exc
        await record_status(conn, user, UserStatus.INVITED, now)
        await initial_license(conn, actor, user, org, now)
        for role in roles:
            await UserRole.create(user_id=user.id, role_id=role.id, using_db=conn)
        token = await issue_invitation(conn, user, org.name, new_user=True)
        if owner:
            await Organization.filter(id=org.id).using_db(conn).update(owner_user_id=user.id)
        await events.record(
            conn,
            actor,
            AuditAction.USER_INVITED,
            "User",
            user.public_id,
            {**snapshot(user, covered), "roles": sorted(r.name for r in roles), "owner": owner},
        )
    return user, token


async def create_service_account(
    actor: Actor, *, email: str, first_name: str, last_name: str, display_name: str
) -> User:
    errors = Errors()
    org = await _organization(actor.organization_id)
    email = check_email(errors, email, "email") or ""  # "" only with an error recorded
    profile = check_profile(
        errors,
        org,
        Profile(
            type=UserType.SERVICE_ACCOUNT,
            first_name=first_name,
            last_name=last_name,
            display_name=display_name,
        ),
    )
    if errors:
        raise OperationFailed(*errors.items)
    async with atomic() as conn:
        # Service accounts may reuse any address and never log in: no login_email.
        user = actor.data.new(User, email=email, login_email=None, status=UserStatus.ACTIVE)
        apply_profile(user, profile)
        await user.save(using_db=conn)
        await record_status(conn, user, UserStatus.ACTIVE)
        await events.record(conn, actor, AuditAction.SERVICE_ACCOUNT_CREATED, "User", user.public_id, snapshot(user))
    return user
