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
    INVALID_INTERVAL = "INVALID_INTERVAL"
    OVERLAPPING_INTERVALS = "OVERLAPPING_INTERVALS"
    INVALID_SLOT_LENGTH = "INVALID_SLOT_LENGTH"
    NOT_A_SCHEDULE_OWNER = "NOT_A_SCHEDULE_OWNER"
    OUTSIDE_WORKING_HOURS = "OUTSIDE_WORKING_HOURS"
    OVERRIDE_NOT_ALLOWED = "OVERRIDE_NOT_ALLOWED"
    AVAILABILITY_LIMIT_EXCEEDED = "AVAILABILITY_LIMIT_EXCEEDED"


# What the newer codes mean, shown in the schema beside each value.
DESCRIPTIONS: dict[ErrorCode, str] = {
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
    ErrorCode.BUILTIN_ROLE_READ_ONLY: "Built-in roles keep their permissions and are never deleted.",
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
