"""`chrgraph org create`."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import support_cli_actor, system_actor
from chrgraph.db.models import Contract, License, Organization, User, UserStatus, UserType
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.licensing.changes import record_status
from chrgraph.resolvers.users.invite_user import invite_user
from chrgraph.resolvers.users.permissions import create_builtin_roles
from chrgraph.resolvers.users.profile import Profile, check_email, email_skeleton_digest
from chrgraph.resolvers.users.text import search_key
from chrgraph.resolvers.validation import DOMAIN_RE, PROVINCES, Errors, valid_time_zone


@dataclass(frozen=True)
class CreatedOrganization:
    organization: Organization
    owner: User | None
    owner_invitation_token: str | None
    support: User


async def create_organization(
    *,
    domain: str,
    name: str,
    owner_email: str | None = None,
    support_email: str | None = None,
    contract: Contract = Contract.STANDARD,
    province: str = "ON",
    time_zone: str = "America/Toronto",
    enterprise_api_enabled: bool = True,
) -> CreatedOrganization:
    """The organization, its built-in roles, its support user and (with an owner
    email) its owner: an INVITED Staff user with the STAFF license."""
    errors = Errors()
    name = errors.text(name, "name", required=True)
    if not DOMAIN_RE.fullmatch(domain or ""):
        errors.add(ErrorCode.INVALID_INPUT, "A domain is a lowercase slug (a-z, 0-9, -).", "domain")
    if province not in PROVINCES:
        errors.add(ErrorCode.INVALID_INPUT, "Not a Canadian province or territory code.", "province")
    if not valid_time_zone(time_zone):
        errors.add(ErrorCode.INVALID_TIME_ZONE, "Not an IANA time zone name.", "timeZone")
    support_email = check_email(errors, support_email or f"support+{domain}@chrgraph.invalid", "supportEmail")
    if owner_email is not None:
        check_email(errors, owner_email, "ownerEmail")
    if errors:
        raise OperationFailed(*errors.items)
    assert support_email is not None  # check_email returns None only with an error recorded
    async with atomic() as conn:
        if await Organization.filter(domain=domain).using_db(conn).exists():
            raise fail(ErrorCode.DOMAIN_TAKEN, "That domain is taken.", "domain")
        same_address = Q(login_email=support_email) | Q(email_skeleton=email_skeleton_digest(support_email))
        if await User.filter(same_address).using_db(conn).exists():
            raise fail(ErrorCode.EMAIL_TAKEN, "That support email is taken.", "supportEmail")
        org = await Organization.create(
            domain=domain,
            name=name,
            contract=contract,
            province=province,
            time_zone=time_zone,
            enterprise_api_enabled=enterprise_api_enabled,
            using_db=conn,
        )
        await events.create_chain(conn, org.id)
        await events.record(
            conn,
            system_actor(org.id),
            AuditAction.ORGANIZATION_CREATED,
            "Organization",
            org.public_id,
            {
                "domain": domain,
                "name": name,
                "contract": contract,
                "province": province,
                "timeZone": time_zone,
                "enterpriseApiEnabled": enterprise_api_enabled,
            },
        )
        await create_builtin_roles(conn, org.id)
        try:
            support = OrganizationData(org.id).new(
                User,
                email=support_email,
                login_email=support_email,
                type=UserType.SUPPORT,
                status=UserStatus.ACTIVE,
                first_name="Support",
                last_name=name,
                display_name=f"{name} support",
                search_key=search_key("support", support_email),
            )
            await support.save(using_db=conn)
            await record_status(conn, support, UserStatus.ACTIVE)
        except IntegrityError as exc:
            raise fail(ErrorCode.EMAIL_TAKEN, "That support email is taken.", "supportEmail") from exc
        await events.record(
            conn,
            system_actor(org.id),
            AuditAction.SUPPORT_ACCOUNT_CREATED,
            "User",
            support.public_id,
            {"email": support_email},
        )
        # The owner's invitation joins the same transaction (a savepoint): an owner
        # email that is taken leaves no organization behind.
        owner, token = None, None
        if owner_email is not None:
            owner, token = await invite_user(
                support_cli_actor(org.id, support.id, support.public_id),
                owner_email,
                Profile(type=UserType.STAFF, license=License.STAFF, first_name="Owner", last_name=name),
                owner=True,
            )
    return CreatedOrganization(org, owner, token, support)
