"""One's own account: password change and reset, profile, sessions; and the
organization's security policy. Thin: each calls its operation in `chrgraph.resolvers`."""

from __future__ import annotations

import datetime
from functools import partial

import strawberry
from strawberry import relay

from chrgraph.resolvers.organizations.security_policy import update_security_policy
from chrgraph.resolvers.users import queries
from chrgraph.resolvers.users.my_account import revoke_my_session, update_my_profile
from chrgraph.resolvers.users.password_changes import change_password, request_password_reset, reset_password
from chrgraph.schema.errors import UserError
from chrgraph.schema.organizations.types import Organization
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import AnySession, OwnerOrSupport, Public
from chrgraph.schema.secrets import Secret
from chrgraph.schema.users.types import User


@strawberry.type(description="One of your open sessions (a login of yours that has not ended).")
class Session:
    id: relay.GlobalID = strawberry.field(description="Names the session in revokeMySession.")
    created_at: datetime.datetime = strawberry.field(description="When you logged in.")
    last_used_at: datetime.datetime | None = strawberry.field(
        description="When it last sent a request, to the minute (it is recorded at most once a minute)."
    )
    user_agent: str | None = strawberry.field(
        description="The User-Agent header of the login (at most 512 characters, control characters dropped)."
    )
    expires_at: datetime.datetime = strawberry.field(description="When it ends at the latest.")
    current: bool = strawberry.field(description="Whether this is the session asking.")


@strawberry.input(description="Set a new password for yourself.")
class ChangePasswordInput:
    password: str = strawberry.field(
        directives=[Secret()],
        description="Your current password (a wrong one counts like a failed login; the 5th ends this session).",
    )
    new_password: str = strawberry.field(
        directives=[Secret()],
        description="12 to 256 characters, not easily guessed (PASSWORD_TOO_WEAK carries advice).",
    )


@strawberry.type(description="The result of changePassword: your other sessions have ended.")
class ChangePasswordPayload:
    user: User | None = strawberry.field(description="You.")
    errors: list[UserError] = strawberry.field(
        description="PASSWORD_TOO_WEAK, PASSWORD_REQUIRED or PASSWORD_INVALID; nothing was written."
    )


@strawberry.input(description="Ask for a password-reset link by email.")
class RequestPasswordResetInput:
    email: str = strawberry.field(description="The login email of the account.")


@strawberry.type(description="The result of requestPasswordReset: the same whatever the email.")
class RequestPasswordResetPayload:
    errors: list[UserError] = strawberry.field(
        description="Always empty: whether the email belongs to an account is never told."
    )


@strawberry.input(description="Set a new password with the token of a reset link.")
class ResetPasswordInput:
    token: str = strawberry.field(
        directives=[Secret()], description="The token from the link's fragment (`/admin/reset#token=…`)."
    )
    new_password: str = strawberry.field(
        directives=[Secret()],
        description="12 to 256 characters, not easily guessed (PASSWORD_TOO_WEAK carries advice).",
    )


@strawberry.type(description="The result of resetPassword: every session of the account has ended.")
class ResetPasswordPayload:
    email: str | None = strawberry.field(description="The login email of the account, to log in with.")
    errors: list[UserError] = strawberry.field(
        description="RESET_TOKEN_INVALID or PASSWORD_TOO_WEAK; nothing was written."
    )


@strawberry.input(description="Change your own name, title or position; omitted fields stay.")
class UpdateMyProfileInput:
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Given name (up to 100 characters; cannot be cleared)."
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Family name (up to 100 characters; cannot be cleared)."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Title (up to 100; null clears).")
    position: str | None = strawberry.field(default=strawberry.UNSET, description="Position (up to 100; null clears).")


@strawberry.type(description="The result of updateMyProfile.")
class UpdateMyProfilePayload:
    user: User | None = strawberry.field(description="You.")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


@strawberry.input(description="End one of your own sessions.")
class RevokeMySessionInput:
    session_id: relay.GlobalID = strawberry.field(
        description="A session from mySessions (this one included).", metadata=refers_to("Session", key=False)
    )


@strawberry.type(description="The result of revokeMySession.")
class RevokeMySessionPayload:
    revoked_session_id: relay.GlobalID | None = strawberry.field(description="The session that ended.")
    errors: list[UserError] = strawberry.field(description="NOT_FOUND: no open session of yours has that id.")


@strawberry.input(description="Change the organization's security policy; omitted fields stay.")
class UpdateSecurityPolicyInput:
    require_two_factor: bool | None = strawberry.field(
        default=None, description="Whether every user must have a second factor."
    )
    session_idle_timeout_minutes: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="End sessions unused for this many minutes (5 to 1440); null: no idle timeout.",
    )


@strawberry.type(description="The result of updateSecurityPolicy.")
class UpdateSecurityPolicyPayload:
    organization: Organization | None = strawberry.field(description="The organization (see securityPolicy).")
    errors: list[UserError] = strawberry.field(description="Why nothing was written.")


def _session(row: queries.OwnSession) -> Session:
    return Session(
        id=relay.GlobalID("Session", row.public_id),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        user_agent=row.user_agent,
        expires_at=row.expires_at,
        current=row.current,
    )


@strawberry.type
class AccountQuery:
    @strawberry.field(description="Your open sessions, newest first.", permission_classes=[AnySession])
    async def my_sessions(self, info: strawberry.Info) -> list[Session] | None:
        return [_session(row) for row in await queries.my_sessions(info.context.actor)]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Set a new password, re-entering the current one; your other sessions end.",
        permission_classes=[AnySession],
    )
    async def change_password(self, info: strawberry.Info, input: ChangePasswordInput) -> ChangePasswordPayload | None:
        operation = partial(change_password, info.context.actor)
        return await perform(ChangePasswordPayload, operation, input, user=User.from_model)

    @strawberry.mutation(
        description="Ask for a password-reset link by email (no credentials needed; the same answer for any email).",
        permission_classes=[Public],
    )
    async def request_password_reset(
        self, info: strawberry.Info, input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        context = info.context
        operation = partial(
            request_password_reset, request_id=context.request_id, client_address=context.client_address
        )
        return await perform(RequestPasswordResetPayload, operation, input)

    @strawberry.mutation(
        description="Set a new password with a reset link's token (no credentials needed); every session ends.",
        permission_classes=[Public],
    )
    async def reset_password(self, info: strawberry.Info, input: ResetPasswordInput) -> ResetPasswordPayload:
        context = info.context
        operation = partial(reset_password, request_id=context.request_id, client_address=context.client_address)
        return await perform(ResetPasswordPayload, operation, input, email=lambda user: user.email)

    @strawberry.mutation(description="Change your own name, title or position.", permission_classes=[AnySession])
    async def update_my_profile(
        self, info: strawberry.Info, input: UpdateMyProfileInput
    ) -> UpdateMyProfilePayload | None:
        operation = partial(update_my_profile, info.context.actor)
        return await perform(UpdateMyProfilePayload, operation, input, user=User.from_model)

    @strawberry.mutation(description="End one of your own sessions.", permission_classes=[AnySession])
    async def revoke_my_session(
        self, info: strawberry.Info, input: RevokeMySessionInput
    ) -> RevokeMySessionPayload | None:
        operation = partial(revoke_my_session, info.context.actor)
        return await perform(
            RevokeMySessionPayload,
            operation,
            input,
            revoked_session_id=lambda public_id: relay.GlobalID("Session", public_id),
        )

    @strawberry.mutation(
        description="Set the second-factor requirement and the sessions' idle timeout (owner or support).",
        permission_classes=[OwnerOrSupport],
    )
    async def update_security_policy(
        self, info: strawberry.Info, input: UpdateSecurityPolicyInput
    ) -> UpdateSecurityPolicyPayload | None:
        operation = partial(update_security_policy, info.context.actor)
        return await perform(UpdateSecurityPolicyPayload, operation, input, organization=Organization.from_model)
