"""Mutations of users, sessions, roles and permissions. Thin: each
calls its operation in `chrgraph.resolvers.users`."""

from __future__ import annotations

import datetime
from functools import partial
from operator import attrgetter

import strawberry
from strawberry import relay

from chrgraph.resolvers.users import roles as role_ops
from chrgraph.resolvers.users.accept_invitation import accept_invitation, resend_invitation
from chrgraph.resolvers.users.invite_user import create_service_account, invite_user
from chrgraph.resolvers.users.login import login, logout
from chrgraph.resolvers.users.ownership import transfer_ownership
from chrgraph.resolvers.users.profile import Locum, Profile
from chrgraph.resolvers.users.update_user import update_user
from chrgraph.schema.errors import UserError
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import CanEditOtherUsers, CanEditRoles, Logout, OwnerOnly, Public
from chrgraph.schema.secrets import Secret
from chrgraph.schema.users.types import Classification, License, Permission, Role, User, UserType


@strawberry.input(description="Whom a locum covers, and when.")
class LocumInput:
    practitioner_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Covered practitioner.", metadata=refers_to("User")
    )
    start_date: datetime.date | None = strawberry.field(default=None, description="First day.")
    end_date: datetime.date | None = strawberry.field(default=None, description="Last day.")


@strawberry.input(description="Invite a Staff member or Practitioner.")
class InviteUserInput:
    email: str = strawberry.field(description="Their login email.")
    type: UserType = strawberry.field(description="STAFF or PRACTITIONER.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    classification: Classification | None = strawberry.field(default=None, description="Practitioners only.")
    license: License | None = strawberry.field(default=None, description="Must fit type and classification.")
    title: str | None = strawberry.field(default=None, description="Title.")
    position: str | None = strawberry.field(default=None, description="Position.")
    billing_number: str | None = strawberry.field(default=None, description="Not for clinical trainees.")
    expected_end_of_training: datetime.date | None = strawberry.field(default=None, description="Trainees.")
    locum: LocumInput | None = strawberry.field(default=None, description="Locums only.")
    role_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Roles to hold.", metadata=refers_to("Role")
    )


@strawberry.type(description="The result of inviteUser.")
class InviteUserPayload:
    user: User | None = strawberry.field(description="The invited user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Create a service account (it never logs in).")
class CreateServiceAccountInput:
    email: str = strawberry.field(description="A contact address (may be reused).")
    first_name: str = strawberry.field(description="Its manager's given name.")
    last_name: str = strawberry.field(description="Its manager's family name.")
    display_name: str = strawberry.field(description="The account's name.")


@strawberry.type(description="The result of createServiceAccount.")
class CreateServiceAccountPayload:
    user: User | None = strawberry.field(description="The service account.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Send an invited user a new token (the old one is voided).")
class ResendInvitationInput:
    user_id: relay.GlobalID = strawberry.field(description="An INVITED user.", metadata=refers_to("User"))


@strawberry.type(description="The result of resendInvitation.")
class ResendInvitationPayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Accept an invitation and choose a password.")
class AcceptInvitationInput:
    token: str = strawberry.field(directives=[Secret()], description="The invitation token from the email.")
    password: str = strawberry.field(directives=[Secret()], description="At least 12 characters.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    title: str | None = strawberry.field(
        default=None,
        description="Your title (e.g. Dr.), at most 100 characters; omitted keeps the one you were invited with.",
    )
    position: str | None = strawberry.field(
        default=None,
        description="Your position (e.g. Office manager), at most 100 characters; omitted keeps the one you were "
        "invited with.",
    )


@strawberry.type(description="The result of acceptInvitation.")
class AcceptInvitationPayload:
    user: User | None = strawberry.field(description="The now active user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Change a user's profile; omitted fields stay, null clears.")
class UpdateUserInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    first_name: str | None = strawberry.field(default=strawberry.UNSET, description="Given name.")
    last_name: str | None = strawberry.field(default=strawberry.UNSET, description="Family name.")
    display_name: str | None = strawberry.field(default=strawberry.UNSET, description="Display name.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title.")
    position: str | None = strawberry.field(default=strawberry.UNSET, description="Position.")
    billing_number: str | None = strawberry.field(
        default=strawberry.UNSET, description="Billing number (not for trainees)."
    )
    classification: Classification | None = strawberry.field(
        default=strawberry.UNSET,
        description="Practitioners only; a misfit of the license needs `license` too.",
    )
    license: License | None = strawberry.field(
        default=strawberry.UNSET, description="Must fit type and classification."
    )
    expected_end_of_training: datetime.date | None = strawberry.field(
        default=strawberry.UNSET, description="Clinical trainees only."
    )
    locum: LocumInput | None = strawberry.field(default=strawberry.UNSET, description="Locums only.")


@strawberry.type(description="The result of updateUser.")
class UpdateUserPayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Log in with email and password.")
class LoginInput:
    email: str = strawberry.field(description="The login email.")
    password: str = strawberry.field(directives=[Secret()], description="The password.")


@strawberry.type(
    description="A new session, or for a user with a second factor a challenge to answer with verifySecondFactor, "
    "or why not."
)
class LoginPayload:
    token: str | None = strawberry.field(
        directives=[Secret()], description="Send as `Authorization: Bearer <token>`; null while a second factor is due."
    )
    expires_at: datetime.datetime | None = strawberry.field(description="When the session ends.")
    user: User | None = strawberry.field(description="Who logged in (null while a second factor is due).")
    second_factor_required: bool = strawberry.field(
        default=False,
        description="True when the password was right and the user has a second factor: no session yet; send "
        "`challengeToken` and a code to verifySecondFactor.",
    )
    challenge_token: str | None = strawberry.field(
        default=None,
        directives=[Secret()],
        description="The challenge for verifySecondFactor when `secondFactorRequired`: valid 5 minutes, once; "
        "void after 5 wrong codes. It is no session token.",
    )
    challenge_expires_at: datetime.datetime | None = strawberry.field(
        default=None, description="When the challenge ends (5 minutes after the password step)."
    )
    errors: list[UserError] = strawberry.field(description="INVALID_CREDENTIALS, whatever the cause.")


@strawberry.type(description="The result of logout.")
class LogoutPayload:
    errors: list[UserError] = strawberry.field(description="Always empty.")


@strawberry.input(description="Replace a user's roles.")
class AssignRolesInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    role_ids: list[relay.GlobalID] = strawberry.field(
        description="The roles to hold, all of them.", metadata=refers_to("Role")
    )
    password: str | None = strawberry.field(
        directives=[Secret()], default=None, description="Sessions re-enter their password."
    )


@strawberry.type(description="The result of assignRoles.")
class AssignRolesPayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Grant one extra permission.")
class GrantPermissionInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    permission: Permission = strawberry.field(description="Never MANAGE_API_CONSUMERS.")
    password: str | None = strawberry.field(
        directives=[Secret()], default=None, description="Sessions re-enter their password."
    )


@strawberry.type(description="The result of grantPermission.")
class GrantPermissionPayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Revoke one extra permission.")
class RevokePermissionInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    permission: Permission = strawberry.field(description="The permission.")
    password: str | None = strawberry.field(
        directives=[Secret()], default=None, description="Sessions re-enter their password."
    )


@strawberry.type(description="The result of revokePermission.")
class RevokePermissionPayload:
    user: User | None = strawberry.field(description="The user.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="A custom role.")
class CreateRoleInput:
    name: str = strawberry.field(description="Unique within the organization.")
    permissions: list[Permission] = strawberry.field(description="What it gives.")
    description: str | None = strawberry.field(default=None, description="What it is for.")


@strawberry.type(description="The result of createRole.")
class CreateRolePayload:
    role: Role | None = strawberry.field(description="The role.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Change a custom role; omitted fields stay.")
class UpdateRoleInput:
    role_id: relay.GlobalID = strawberry.field(description="The role.", metadata=refers_to("Role"))
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(default=None, description="New description.")
    permissions: list[Permission] | None = strawberry.field(
        default=None, description="All its permissions; new ones must be yours to grant."
    )
    password: str | None = strawberry.field(
        directives=[Secret()], default=None, description="Sessions re-enter their password to change the permissions."
    )


@strawberry.type(description="The result of updateRole.")
class UpdateRolePayload:
    role: Role | None = strawberry.field(description="The role.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="Delete a custom role that no user holds.")
class DeleteRoleInput:
    role_id: relay.GlobalID = strawberry.field(description="The role.", metadata=refers_to("Role"))


@strawberry.type(description="The result of deleteRole.")
class DeleteRolePayload:
    deleted_role_id: relay.GlobalID | None = strawberry.field(description="The id the deleted role had.")
    errors: list[UserError] = strawberry.field(
        description="Why nothing was written (ROLE_IN_USE while a user holds it; built-in roles stay)."
    )


@strawberry.input(description="Make another active Staff member or Practitioner the owner.")
class TransferOwnershipInput:
    user_id: relay.GlobalID = strawberry.field(description="The new owner.", metadata=refers_to("User"))
    password: str | None = strawberry.field(directives=[Secret()], default=None, description="Re-enter your password.")


@strawberry.type(description="The result of transferOwnership.")
class TransferOwnershipPayload:
    organization: Organization | None = strawberry.field(description="The organization.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


def _locum(value: dict | None) -> Locum | None:
    return None if value is None else Locum(value["practitioner_id"], value["start_date"], value["end_date"])


def _invite(actor, email, role_ids=None, locum=None, **profile):
    return invite_user(actor, email, Profile(**profile, locum=_locum(locum)), role_ids or [])


def _update_user(actor, user_id, **changes):
    if "locum" in changes:
        changes["locum"] = _locum(changes["locum"])
    return update_user(actor, user_id, changes)


def _user(result) -> User:
    return User.from_model(result)


def _first_user(result) -> User:
    return User.from_model(result[0])


def _role_global_id(public_id: str) -> relay.GlobalID:
    return relay.GlobalID("Role", public_id)


@strawberry.type
class UsersMutation:
    @strawberry.mutation(description="Invite a Staff member or Practitioner.", permission_classes=[CanEditOtherUsers])
    async def invite_user(self, info: strawberry.Info, input: InviteUserInput) -> InviteUserPayload | None:
        return await perform(InviteUserPayload, partial(_invite, info.context.actor), input, user=_first_user)

    @strawberry.mutation(description="Create a service account.", permission_classes=[CanEditOtherUsers])
    async def create_service_account(
        self, info: strawberry.Info, input: CreateServiceAccountInput
    ) -> CreateServiceAccountPayload | None:
        operation = partial(create_service_account, info.context.actor)
        return await perform(CreateServiceAccountPayload, operation, input, user=_user)

    @strawberry.mutation(description="Issue a new invitation token.", permission_classes=[CanEditOtherUsers])
    async def resend_invitation(
        self, info: strawberry.Info, input: ResendInvitationInput
    ) -> ResendInvitationPayload | None:
        operation = partial(resend_invitation, info.context.actor)
        return await perform(ResendInvitationPayload, operation, input, user=_first_user)

    @strawberry.mutation(description="Accept an invitation (no credentials needed).", permission_classes=[Public])
    async def accept_invitation(self, info: strawberry.Info, input: AcceptInvitationInput) -> AcceptInvitationPayload:
        operation = partial(accept_invitation, request_id=info.context.request_id)
        return await perform(AcceptInvitationPayload, operation, input, user=_user)

    @strawberry.mutation(description="Change a user's profile.", permission_classes=[CanEditOtherUsers])
    async def update_user(self, info: strawberry.Info, input: UpdateUserInput) -> UpdateUserPayload | None:
        return await perform(UpdateUserPayload, partial(_update_user, info.context.actor), input, user=_user)

    @strawberry.mutation(description="Log in (no credentials needed).", permission_classes=[Public])
    async def login(self, info: strawberry.Info, input: LoginInput) -> LoginPayload:
        return await perform(
            LoginPayload,
            partial(
                login,
                request_id=info.context.request_id,
                client_address=info.context.client_address,
                user_agent=info.context.user_agent,
            ),
            input,
            token=attrgetter("token"),
            expires_at=attrgetter("expires_at"),
            user=lambda result: User.from_model(result.user) if result.user is not None else None,
            second_factor_required=lambda result: result.challenge_token is not None,
            challenge_token=attrgetter("challenge_token"),
            challenge_expires_at=attrgetter("challenge_expires_at"),
        )

    @strawberry.mutation(description="End the current session.", permission_classes=[Logout])
    async def logout(self, info: strawberry.Info) -> LogoutPayload | None:
        return await perform(LogoutPayload, partial(logout, info.context.actor))

    @strawberry.mutation(description="Replace a user's roles.", permission_classes=[CanEditOtherUsers])
    async def assign_roles(self, info: strawberry.Info, input: AssignRolesInput) -> AssignRolesPayload | None:
        operation = partial(role_ops.assign_roles, info.context.actor)
        return await perform(AssignRolesPayload, operation, input, user=_user)

    @strawberry.mutation(description="Grant an extra permission.", permission_classes=[CanEditOtherUsers])
    async def grant_permission(
        self, info: strawberry.Info, input: GrantPermissionInput
    ) -> GrantPermissionPayload | None:
        operation = partial(role_ops.set_permission, info.context.actor, granted=True)
        return await perform(GrantPermissionPayload, operation, input, user=_user)

    @strawberry.mutation(description="Revoke an extra permission.", permission_classes=[CanEditOtherUsers])
    async def revoke_permission(
        self, info: strawberry.Info, input: RevokePermissionInput
    ) -> RevokePermissionPayload | None:
        operation = partial(role_ops.set_permission, info.context.actor, granted=False)
        return await perform(RevokePermissionPayload, operation, input, user=_user)

    @strawberry.mutation(description="Create a custom role.", permission_classes=[CanEditRoles])
    async def create_role(self, info: strawberry.Info, input: CreateRoleInput) -> CreateRolePayload | None:
        operation = partial(role_ops.create_role, info.context.actor)
        return await perform(CreateRolePayload, operation, input, role=Role.from_model)

    @strawberry.mutation(description="Change a custom role.", permission_classes=[CanEditRoles])
    async def update_role(self, info: strawberry.Info, input: UpdateRoleInput) -> UpdateRolePayload | None:
        operation = partial(role_ops.update_role, info.context.actor)
        return await perform(UpdateRolePayload, operation, input, role=Role.from_model)

    @strawberry.mutation(description="Delete a custom role no user holds.", permission_classes=[CanEditRoles])
    async def delete_role(self, info: strawberry.Info, input: DeleteRoleInput) -> DeleteRolePayload | None:
        operation = partial(role_ops.delete_role, info.context.actor)
        return await perform(DeleteRolePayload, operation, input, deleted_role_id=_role_global_id)

    @strawberry.mutation(description="Hand the organization to another user.", permission_classes=[OwnerOnly])
    async def transfer_ownership(
        self, info: strawberry.Info, input: TransferOwnershipInput
    ) -> TransferOwnershipPayload | None:
        operation = partial(transfer_ownership, info.context.actor)
        return await perform(TransferOwnershipPayload, operation, input, organization=Organization.from_model)
