"""Typed business errors. Operations collect `UserError`s and write nothing
when there is any; the GraphQL layer returns them in the payload's `errors`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorCode(str, Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_EMAIL = "INVALID_EMAIL"
    CLASSIFICATION_REQUIRED = "CLASSIFICATION_REQUIRED"
    CLASSIFICATION_NOT_ALLOWED = "CLASSIFICATION_NOT_ALLOWED"
    END_OF_TRAINING_REQUIRED = "END_OF_TRAINING_REQUIRED"
    BILLING_NUMBER_NOT_ALLOWED = "BILLING_NUMBER_NOT_ALLOWED"
    LICENSE_REQUIRED = "LICENSE_REQUIRED"
    LICENSE_NOT_ALLOWED_FOR_TYPE = "LICENSE_NOT_ALLOWED_FOR_TYPE"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_USED = "INVITATION_USED"
    INVITATION_VOIDED = "INVITATION_VOIDED"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    PASSWORD_REQUIRED = "PASSWORD_REQUIRED"
    PASSWORD_INVALID = "PASSWORD_INVALID"
    CANNOT_DEACTIVATE_SELF = "CANNOT_DEACTIVATE_SELF"
    CANNOT_DEACTIVATE_OWNER = "CANNOT_DEACTIVATE_OWNER"
    LAB_INTEGRATION_TRANSFER_REQUIRED = "LAB_INTEGRATION_TRANSFER_REQUIRED"
    SLOT_TAKEN = "SLOT_TAKEN"
    SLOT_CONFLICT = "SLOT_CONFLICT"
    PRACTITIONER_NOT_BOOKABLE = "PRACTITIONER_NOT_BOOKABLE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    PATIENT_ALREADY_EXISTS = "PATIENT_ALREADY_EXISTS"
    STRIPE_INTEGRATION_REQUIRED = "STRIPE_INTEGRATION_REQUIRED"
    UNSUPPORTED_IMAGE = "UNSUPPORTED_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    ISSUER_TAKEN = "ISSUER_TAKEN"
    KEY_TOO_WEAK = "KEY_TOO_WEAK"
    INVALID_KEY = "INVALID_KEY"
    KID_TAKEN = "KID_TAKEN"
    DOMAIN_TAKEN = "DOMAIN_TAKEN"
    INVALID_TIME_ZONE = "INVALID_TIME_ZONE"
    ALREADY_IN_STATE = "ALREADY_IN_STATE"
    INVITATION_INVALID = "INVITATION_INVALID"
    PERMISSION_NOT_GRANTABLE = "PERMISSION_NOT_GRANTABLE"
    BUILTIN_ROLE_READ_ONLY = "BUILTIN_ROLE_READ_ONLY"
    ROLE_NAME_TAKEN = "ROLE_NAME_TAKEN"
    INVALID_STATE = "INVALID_STATE"
    NOT_ALLOWED_FOR_SELF = "NOT_ALLOWED_FOR_SELF"
    PERMISSION_NOT_HELD = "PERMISSION_NOT_HELD"
    OWNER_ONLY = "OWNER_ONLY"
    ROLE_IN_USE = "ROLE_IN_USE"
    RESET_TOKEN_INVALID = "RESET_TOKEN_INVALID"
    INVALID_SECOND_FACTOR = "INVALID_SECOND_FACTOR"
    # The name 0.2.0 gave that refusal; kept, deprecated, never answered any more.
    SECOND_FACTOR_INVALID = "SECOND_FACTOR_INVALID"
    CHALLENGE_INVALID = "CHALLENGE_INVALID"
    SECOND_FACTOR_ENROLLMENT_REQUIRED = "SECOND_FACTOR_ENROLLMENT_REQUIRED"
    WEBHOOK_URL_NOT_ALLOWED = "WEBHOOK_URL_NOT_ALLOWED"
    INVALID_INTERVAL = "INVALID_INTERVAL"
    OVERLAPPING_INTERVALS = "OVERLAPPING_INTERVALS"
    INVALID_SLOT_LENGTH = "INVALID_SLOT_LENGTH"
    NOT_A_SCHEDULE_OWNER = "NOT_A_SCHEDULE_OWNER"
    OUTSIDE_WORKING_HOURS = "OUTSIDE_WORKING_HOURS"
    OVERRIDE_NOT_ALLOWED = "OVERRIDE_NOT_ALLOWED"
    AVAILABILITY_LIMIT_EXCEEDED = "AVAILABILITY_LIMIT_EXCEEDED"


# What each code means and what a client does about it, shown in the schema beside each
# value (and in docs/errors.md).
# Codes kept for clients written against an earlier release, never answered any more,
# with what replaced them (the schema marks them deprecated).
DEPRECATED_CODES: dict[str, str] = {
    "SECOND_FACTOR_INVALID": "Renamed INVALID_SECOND_FACTOR; a wrong code is answered with that.",
}

DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: (
        "A value breaks a rule of its field: empty where required, too long, not valid Unicode, a NUL or "
        "control character, out of range (dates and instants: 1900-01-01 to 2199-12-31), or a malformed "
        "format (domain, phone, health card, province). `field` names it; fix the value and retry."
    ),
    ErrorCode.NOT_FOUND: (
        "An id in the input names nothing the caller's organization holds (another organization's id "
        "answers the same). `field` names the id."
    ),
    ErrorCode.EMAIL_TAKEN: (
        "A user with that login email exists on this server (emails are compared after Unicode "
        "normalisation, case folding and confusable characters). `relatedId` names the user when it is in "
        "the caller's organization."
    ),
    ErrorCode.INVALID_EMAIL: (
        "Not a usable email address: bad syntax, an invisible or control character, or a local part that mixes scripts."
    ),
    ErrorCode.CLASSIFICATION_REQUIRED: "A practitioner needs a classification (STANDARD, LOCUM or CLINICAL_TRAINEE).",
    ErrorCode.CLASSIFICATION_NOT_ALLOWED: "Only practitioners have a classification: leave it out for other types.",
    ErrorCode.END_OF_TRAINING_REQUIRED: "A clinical trainee needs an expected end of training date.",
    ErrorCode.BILLING_NUMBER_NOT_ALLOWED: (
        "Billing numbers are for practitioners who are not clinical trainees: leave it out."
    ),
    ErrorCode.LICENSE_REQUIRED: (
        "In an organization under a STANDARD contract, Staff and Practitioners need a license that fits "
        "them (see `licenseCatalog`)."
    ),
    ErrorCode.LICENSE_NOT_ALLOWED_FOR_TYPE: (
        "That license does not fit the user's type and classification (service accounts hold none); pick "
        "one that fits from `licenseCatalog`."
    ),
    ErrorCode.INVITATION_EXPIRED: "The invitation's token has expired: ask for a new one (resendInvitation).",
    ErrorCode.INVITATION_USED: "The invitation was already accepted: log in instead.",
    ErrorCode.INVITATION_VOIDED: (
        "The invitation was replaced by a newer one or withdrawn: use the newest message, or ask for a new one."
    ),
    ErrorCode.INVALID_CREDENTIALS: (
        "Login refused. One answer for every cause (unknown email, wrong password, a user who may not log in, "
        "too many recent failures), so it reveals nothing; wait and retry, or reset the password."
    ),
    ErrorCode.PASSWORD_REQUIRED: (
        "This change, made with a session, needs the caller's password re-entered in the input's `password`."
    ),
    ErrorCode.PASSWORD_INVALID: (
        "The re-entered password is wrong. It counts as a failed login: the fifth failure within 15 "
        "minutes ends the session."
    ),
    ErrorCode.CANNOT_DEACTIVATE_SELF: "Nobody deactivates their own account.",
    ErrorCode.CANNOT_DEACTIVATE_OWNER: "The organization's owner is not deactivated: transfer ownership first.",
    ErrorCode.LAB_INTEGRATION_TRANSFER_REQUIRED: (
        "The user backs a lab integration: name a successor for it (labIntegrationSuccessors) before "
        "deactivating. `field` names the integration."
    ),
    ErrorCode.SLOT_TAKEN: (
        "The practitioner has another appointment that overlaps this time (BOOKED, CONFIRMED or ARRIVED): "
        "pick another start."
    ),
    ErrorCode.SLOT_CONFLICT: (
        "An appointment being moved to another practitioner overlaps one of theirs; the message names it."
    ),
    ErrorCode.PRACTITIONER_NOT_BOOKABLE: (
        "The practitioner cannot take this appointment: not an active practitioner, access expired, outside "
        "a locum's period, or (virtual visits) a license without virtual care. The message says which."
    ),
    ErrorCode.INVALID_STATUS_TRANSITION: (
        "An appointment's status cannot go from its current value to the one asked (see AppointmentStatus), "
        "or a finished appointment cannot be moved."
    ),
    ErrorCode.PATIENT_ALREADY_EXISTS: (
        "A patient with that health card number (or identifier) is already registered; `relatedId` names it."
    ),
    ErrorCode.STRIPE_INTEGRATION_REQUIRED: "Portal billing needs the organization's Stripe account connected first.",
    ErrorCode.UNSUPPORTED_IMAGE: (
        "Not a whole PNG or JPEG image (recognised by its content), or not sent as a multipart file."
    ),
    ErrorCode.IMAGE_TOO_LARGE: "The image is over 5 MiB, over 8,000 pixels a side, or over 40 megapixels.",
    ErrorCode.ISSUER_TAKEN: "Another API consumer on this server already uses that issuer: choose another.",
    ErrorCode.KEY_TOO_WEAK: "RSA keys need a modulus of at least 2048 bits.",
    ErrorCode.INVALID_KEY: (
        "The key is neither a PEM nor a JWK RSA public key, carries a private member (send the public key "
        "only), or its kid is not a clean string."
    ),
    ErrorCode.KID_TAKEN: "This consumer already has a key with that kid: choose another kid.",
    ErrorCode.DOMAIN_TAKEN: "Another organization on this server already uses that domain.",
    ErrorCode.INVALID_TIME_ZONE: "Not an IANA time zone name (for example America/Toronto).",
    ErrorCode.ALREADY_IN_STATE: "The object is already in the state the operation asks for: nothing was changed.",
    ErrorCode.INVITATION_INVALID: "The invitation token is unknown: check the link, or ask for a new invitation.",
    ErrorCode.PERMISSION_NOT_GRANTABLE: "MANAGE_API_CONSUMERS belongs to the support account and is never granted.",
    ErrorCode.BUILTIN_ROLE_READ_ONLY: "Built-in roles keep their permissions and are never deleted.",
    ErrorCode.ROLE_NAME_TAKEN: "The organization already has a role with that name.",
    ErrorCode.INVALID_STATE: (
        "The object is not in a state that allows this (for example reactivating a user who is not "
        "deactivated, resending an invitation to a user who is not invited); the message says which."
    ),
    ErrorCode.NOT_ALLOWED_FOR_SELF: (
        "Nobody raises their own power: a user cannot change its own roles, extra permissions, license "
        "(but through upgradeOwnLicense), type or classification, decide its own license upgrade request, "
        "or change a role it holds."
    ),
    ErrorCode.PERMISSION_NOT_HELD: (
        "A permission can be granted (directly, through a role assignment, or by creating or editing a "
        "role) only by a caller that holds it."
    ),
    ErrorCode.OWNER_ONLY: "The owner's roles, permissions, license and profile are changed by the owner alone.",
    ErrorCode.ROLE_IN_USE: "A role is deleted only when no user holds it.",
    ErrorCode.RESET_TOKEN_INVALID: (
        "A password-reset token that cannot be used: unknown, already used, replaced, older than one hour, "
        "its user no longer able to log in, or too many attempts from this address within 15 minutes."
    ),
    ErrorCode.PASSWORD_TOO_WEAK: (
        "A new password has 12 to 256 characters and is not easily guessed (zxcvbn scores its first 72 "
        "characters at least 3 of 4); the message carries the estimator's advice."
    ),
    ErrorCode.SECOND_FACTOR_INVALID: "Never answered any more: a wrong code is INVALID_SECOND_FACTOR.",
    ErrorCode.INVALID_SECOND_FACTOR: (
        "The code is not the authenticator's current (or previous 30-second) code, was used already, or is no "
        "unused recovery code; wrong codes count in the login throttle."
    ),
    ErrorCode.CHALLENGE_INVALID: (
        "The login challenge is unknown, expired (5 minutes), used, or void after 5 wrong codes: log in again."
    ),
    ErrorCode.SECOND_FACTOR_ENROLLMENT_REQUIRED: (
        "The organization requires a second factor: this session may only enrol one (startTwoFactorEnrollment, "
        "confirmTwoFactorEnrollment), read viewer and log out."
    ),
    ErrorCode.WEBHOOK_URL_NOT_ALLOWED: (
        "A webhook URL must be https and its host must resolve only to public addresses (never loopback, "
        "private, link-local, multicast, carrier-grade NAT or cloud metadata ranges)."
    ),
    ErrorCode.INVALID_INTERVAL: (
        "A working interval is local hours and minutes within one day and ends after it starts; a closed "
        "date has no intervals and an open one has some."
    ),
    ErrorCode.OVERLAPPING_INTERVALS: "Two working intervals of the same weekday or date overlap.",
    ErrorCode.INVALID_SLOT_LENGTH: "A slot is 5 to 240 minutes and divides a day evenly.",
    ErrorCode.NOT_A_SCHEDULE_OWNER: (
        "Only active practitioners and service accounts (shared schedules) have working hours."
    ),
    ErrorCode.OUTSIDE_WORKING_HOURS: (
        "The appointment does not lie inside the owner's working hours (weekly hours and that date's exception)."
    ),
    ErrorCode.OVERRIDE_NOT_ALLOWED: (
        "Only a user session holding MANAGE_SCHEDULE may book or move an appointment outside working hours."
    ),
    ErrorCode.AVAILABILITY_LIMIT_EXCEEDED: "availableSlots answers at most 31 days and 20 owners per call.",
}


@dataclass(frozen=True)
class UserError:
    code: ErrorCode
    message: str
    field: tuple[str, ...] | None = None
    # A related object (e.g. the existing duplicate) as (GraphQL type name, public id);
    # the schema turns it into the client's global id.
    related: tuple[str, str] | None = None


class OperationFailed(Exception):
    """Raised inside an operation's transaction to roll it back with typed errors."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__(", ".join(e.code.value for e in errors))
        self.errors = list(errors)


def fail(
    code: ErrorCode, message: str, field: str | None = None, related: tuple[str, str] | None = None
) -> OperationFailed:
    return OperationFailed(UserError(code, message, (field,) if field else None, related))
