"""Mutations of the second factor (TOTP): enrolment, the second step of a login,
removal by the user and by an administrator. Thin: each calls its operation in
`chrgraph.resolvers.users.two_factor`."""

from __future__ import annotations

import datetime
from functools import partial
from operator import attrgetter, itemgetter

import strawberry
from strawberry import relay

from chrgraph.resolvers.users import two_factor as ops
from chrgraph.schema.errors import UserError
from chrgraph.schema.payloads import perform, refers_to
from chrgraph.schema.permissions import AnySession, CanResetSecondFactor, OwnSecondFactorEnrollment, Public
from chrgraph.schema.secrets import Secret
from chrgraph.schema.users.types import User


@strawberry.type(description="The result of startTwoFactorEnrollment: what an authenticator app needs.")
class StartTwoFactorEnrollmentPayload:
    secret: str | None = strawberry.field(
        directives=[Secret()],
        description="The TOTP secret, base32 (for typing it into an app by hand); shown here only.",
    )
    otpauth_uri: str | None = strawberry.field(
        directives=[Secret()],
        description="The `otpauth://totp/…` URI the QR code holds: SHA-1, 30-second steps, 6 digits; the "
        "organization's name as issuer, your email as account.",
    )
    qr_code_svg: str | None = strawberry.field(
        directives=[Secret()],
        description="The URI as a QR code: an SVG document to show for the app's camera.",
    )
    errors: list[UserError] = strawberry.field(
        description="Why nothing was written (ALREADY_IN_STATE while a second factor is on: disable it first)."
    )


@strawberry.input(description="Turn the started second factor on by proving the app holds its secret.")
class ConfirmTwoFactorEnrollmentInput:
    code: str = strawberry.field(directives=[Secret()], description="The app's current 6-digit code.")


@strawberry.type(description="The result of confirmTwoFactorEnrollment.")
class ConfirmTwoFactorEnrollmentPayload:
    recovery_codes: list[str] | None = strawberry.field(
        directives=[Secret()],
        description="Ten single-use recovery codes (`XXXX-XXXX-XXXX-XXXX`), each good for one login instead "
        "of an app's code. Shown this once: only their digests are kept.",
    )
    user: User | None = strawberry.field(description="You, now with `twoFactorEnabled`.")
    errors: list[UserError] = strawberry.field(
        description="Why nothing was written: INVALID_SECOND_FACTOR (wrong code), INVALID_STATE (no enrolment "
        "started), ALREADY_IN_STATE."
    )


@strawberry.input(description="The second step of a login: the challenge `login` gave and a code.")
class VerifySecondFactorInput:
    challenge_token: str = strawberry.field(
        directives=[Secret()], description="The `challengeToken` of `login`'s answer (valid 5 minutes, once)."
    )
    code: str = strawberry.field(
        directives=[Secret()],
        description="The authenticator app's current (or previous 30-second) 6-digit code, or an unused recovery code.",
    )


@strawberry.type(description="A new session, or why not.")
class VerifySecondFactorPayload:
    token: str | None = strawberry.field(directives=[Secret()], description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime.datetime | None = strawberry.field(description="When the session ends.")
    user: User | None = strawberry.field(description="Who logged in.")
    errors: list[UserError] = strawberry.field(
        description="INVALID_SECOND_FACTOR (wrong or used code; each counts in the login throttle), or "
        "CHALLENGE_INVALID (expired, used, or void after 5 wrong codes: log in again)."
    )


@strawberry.input(description="Remove your own second factor.")
class DisableTwoFactorInput:
    password: str = strawberry.field(directives=[Secret()], description="Re-enter your password.")
    code: str = strawberry.field(
        directives=[Secret()], description="The app's current 6-digit code, or an unused recovery code."
    )


@strawberry.type(description="The result of disableTwoFactor.")
class DisableTwoFactorPayload:
    user: User | None = strawberry.field(description="You, now without a second factor.")
    errors: list[UserError] = strawberry.field(
        description="Why nothing was written: PASSWORD_REQUIRED, PASSWORD_INVALID, INVALID_SECOND_FACTOR (wrong "
        "codes count in the login throttle; the 5th failure ends this session), ALREADY_IN_STATE (none is on)."
    )


@strawberry.input(description="Remove another user's second factor (a lost phone, no recovery code left).")
class ResetSecondFactorInput:
    user_id: relay.GlobalID = strawberry.field(description="The user.", metadata=refers_to("User"))
    password: str = strawberry.field(
        directives=[Secret()], description="Re-enter your password (it counts in the login throttle)."
    )


@strawberry.type(description="The result of resetSecondFactor.")
class ResetSecondFactorPayload:
    user: User | None = strawberry.field(description="The user, now without a second factor and signed out.")
    errors: list[UserError] = strawberry.field(
        description="Why nothing was written: NOT_FOUND, NOT_ALLOWED_FOR_SELF (use disableTwoFactor), OWNER_ONLY "
        "(the owner's by the owner only), ALREADY_IN_STATE (it has none), PASSWORD_REQUIRED, PASSWORD_INVALID."
    )


def _user(row) -> User:
    return User.from_model(row)


@strawberry.type
class TwoFactorMutation:
    @strawberry.mutation(
        description="Start enrolling an authenticator app as your second factor: a new secret, its URI and QR "
        "code. Nothing changes at login until you confirm it.",
        permission_classes=[OwnSecondFactorEnrollment],
    )
    async def start_two_factor_enrollment(self, info: strawberry.Info) -> StartTwoFactorEnrollmentPayload | None:
        return await perform(
            StartTwoFactorEnrollmentPayload,
            partial(ops.start_two_factor_enrollment, info.context.actor),
            secret=attrgetter("secret"),
            otpauth_uri=attrgetter("uri"),
            qr_code_svg=attrgetter("qr_code_svg"),
        )

    @strawberry.mutation(
        description="Turn your second factor on with the app's current code; answers ten recovery codes, once.",
        permission_classes=[OwnSecondFactorEnrollment],
    )
    async def confirm_two_factor_enrollment(
        self, info: strawberry.Info, input: ConfirmTwoFactorEnrollmentInput
    ) -> ConfirmTwoFactorEnrollmentPayload | None:
        return await perform(
            ConfirmTwoFactorEnrollmentPayload,
            partial(ops.confirm_two_factor_enrollment_with_user, info.context.actor),
            input,
            recovery_codes=itemgetter(0),
            user=lambda result: User.from_model(result[1]),
        )

    @strawberry.mutation(
        description="The second step of a login (no credentials needed): a code for the challenge `login` gave.",
        permission_classes=[Public],
    )
    async def verify_second_factor(
        self, info: strawberry.Info, input: VerifySecondFactorInput
    ) -> VerifySecondFactorPayload:
        return await perform(
            VerifySecondFactorPayload,
            partial(
                ops.verify_second_factor,
                request_id=info.context.request_id,
                client_address=info.context.client_address,
                user_agent=info.context.user_agent,
            ),
            input,
            token=itemgetter(0),
            expires_at=itemgetter(1),
            user=lambda result: User.from_model(result[2]),
        )

    @strawberry.mutation(
        description="Remove your own second factor (password and a code re-entered).",
        permission_classes=[AnySession],
    )
    async def disable_two_factor(
        self, info: strawberry.Info, input: DisableTwoFactorInput
    ) -> DisableTwoFactorPayload | None:
        operation = partial(ops.disable_two_factor, info.context.actor)
        return await perform(DisableTwoFactorPayload, operation, input, user=_user)

    @strawberry.mutation(
        description="Remove another user's second factor and end its sessions (EDIT_OTHER_USERS, password "
        "re-entered; the owner's by the owner only).",
        permission_classes=[CanResetSecondFactor],
    )
    async def reset_second_factor(
        self, info: strawberry.Info, input: ResetSecondFactorInput
    ) -> ResetSecondFactorPayload | None:
        operation = partial(ops.reset_second_factor, info.context.actor)
        return await perform(ResetSecondFactorPayload, operation, input, user=_user)
