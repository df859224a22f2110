"""The validation of a user's profile, shared by inviteUser, updateUser and the
importer: one rule, one place."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from chrgraph.audit import events
from chrgraph.db.models import Classification, License, Organization, User, UserStatus, UserType
from chrgraph.db.tenant import OrganizationData
from chrgraph.email_identity import InvalidEmail, identify, skeleton, skeleton_digest
from chrgraph.resolvers.errors import ErrorCode
from chrgraph.resolvers.licensing.catalog import fits, licensed_type
from chrgraph.resolvers.licensing.management import under_license_management
from chrgraph.resolvers.users.text import search_key
from chrgraph.resolvers.validation import Errors


@dataclass(frozen=True)
class Locum:
    covered_user_id: int | None
    start: date | None
    end: date | None


@dataclass(frozen=True)
class Profile:
    type: UserType
    classification: Classification | None = None
    license: License | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    title: str | None = None
    position: str | None = None
    billing_number: str | None = None
    expected_end_of_training: date | None = None
    locum: Locum | None = None

    @classmethod
    def of(cls, user: User) -> Profile:
        locum = None
        if user.locum_for_id or user.locum_start or user.locum_end:
            locum = Locum(user.locum_for_id, user.locum_start, user.locum_end)
        return cls(
            type=user.type,
            classification=user.classification,
            license=user.license,
            first_name=user.first_name,
            last_name=user.last_name,
            display_name=user.display_name,
            title=user.title,
            position=user.position,
            billing_number=user.billing_number,
            expected_end_of_training=user.expected_end_of_training,
            locum=locum,
        )

    def merged(self, changes: dict[str, Any]) -> Profile:
        return replace(self, **changes)


def check_email(errors: Errors, email: str | None, *path: str) -> str | None:
    """The address in its stored form (NFKC, case-folded), or None with INVALID_EMAIL:
    bad syntax, an invisible, control or bidirectional character, or a local part that
    mixes scripts (chrgraph/email_identity.py holds the rule)."""
    value = errors.text(email, *path, max_length=254, required=True)
    if value is None:
        return None
    try:
        return identify(value).address
    except InvalidEmail as exc:
        errors.add(ErrorCode.INVALID_EMAIL, f"Not a valid email address: {exc}", *path)
        return None


def email_skeleton_digest(email: str) -> str:
    """What the unique `email_skeleton` column holds for a login address."""
    return skeleton_digest(skeleton(email))


def check_profile(
    errors: Errors, org: Organization, p: Profile, *, prefix: tuple[str, ...] = (), legacy: bool = False
) -> Profile:
    """Validate a whole profile; returns it with trimmed text. `legacy` (the importer):
    no license yet, and a practitioner may lack a classification (it counts as Standard)."""

    def at(name: str) -> tuple[str, ...]:
        return (*prefix, name)

    cleaned: dict[str, Any] = {
        name: errors.text(getattr(p, name), *at(key), max_length=limit, required=required)
        for name, key, limit, required in (
            ("first_name", "firstName", 100, True),
            ("last_name", "lastName", 100, True),
            ("display_name", "displayName", 200, p.type is UserType.SERVICE_ACCOUNT),
            ("title", "title", 100, False),
            ("position", "position", 100, False),
            ("billing_number", "billingNumber", 50, False),
        )
    }
    p = replace(p, **cleaned)
    if p.type is UserType.PRACTITIONER:
        if p.classification is None and not legacy:
            errors.add(
                ErrorCode.CLASSIFICATION_REQUIRED,
                "Practitioners need a classification.",
                *at("classification"),
            )
    elif p.classification is not None:
        errors.add(
            ErrorCode.CLASSIFICATION_NOT_ALLOWED,
            "Only practitioners have a classification.",
            *at("classification"),
        )
    trainee = p.classification is Classification.CLINICAL_TRAINEE
    if trainee and p.expected_end_of_training is None:
        errors.add(
            ErrorCode.END_OF_TRAINING_REQUIRED,
            "Clinical trainees need an expected end of training.",
            *at("expectedEndOfTraining"),
        )
    if not trainee and p.expected_end_of_training is not None:
        errors.add(
            ErrorCode.INVALID_INPUT,
            "Only clinical trainees have an end of training.",
            *at("expectedEndOfTraining"),
        )
    if p.billing_number and (trainee or p.type is not UserType.PRACTITIONER):
        errors.add(
            ErrorCode.BILLING_NUMBER_NOT_ALLOWED,
            "Billing numbers are for practitioners other than clinical trainees.",
            *at("billingNumber"),
        )
    if p.locum is not None and p.classification is not Classification.LOCUM:
        errors.add(ErrorCode.INVALID_INPUT, "Only locum practitioners have locum details.", *at("locum"))
    if p.locum is not None and p.locum.start and p.locum.end and p.locum.end < p.locum.start:
        errors.add(ErrorCode.INVALID_INPUT, "The locum period ends before it starts.", *at("locum"), "endDate")
    if licensed_type(p.type):
        if p.license is None and under_license_management(org) and not legacy:
            errors.add(ErrorCode.LICENSE_REQUIRED, "Users of a STANDARD contract need a license.", *at("license"))
        elif p.license is not None and not fits(p.license, p.type, p.classification):
            errors.add(
                ErrorCode.LICENSE_NOT_ALLOWED_FOR_TYPE,
                "That license does not fit the user's type and classification.",
                *at("license"),
            )
    elif p.license is not None:
        errors.add(ErrorCode.LICENSE_NOT_ALLOWED_FOR_TYPE, "Service accounts hold no license.", *at("license"))
    return p


async def check_locum_target(
    errors: Errors,
    data: OrganizationData,
    locum: Locum | None,
    user_id: int | None = None,
    *,
    prefix: tuple[str, ...] = (),
) -> User | None:
    """The practitioner the locum covers (None when it names none, or with an error)."""
    if locum is None or locum.covered_user_id is None:
        return None
    covered = await data.users.get_or_none(id=locum.covered_user_id, type=UserType.PRACTITIONER)
    if covered is None or covered.id == user_id or covered.status is UserStatus.DEACTIVATED:
        errors.add(ErrorCode.NOT_FOUND, "No such practitioner to cover.", *prefix, "locum", "practitionerId")
        return None
    return covered


def apply_profile(user: User, p: Profile) -> None:
    for name in (
        "type",
        "classification",
        "license",
        "first_name",
        "last_name",
        "display_name",
        "title",
        "position",
        "billing_number",
        "expected_end_of_training",
    ):
        setattr(user, name, getattr(p, name))
    user.locum_for_id = p.locum.covered_user_id if p.locum else None
    user.locum_start = p.locum.start if p.locum else None
    user.locum_end = p.locum.end if p.locum else None
    user.search_key = search_key(p.first_name, p.last_name, user.email, p.display_name)


def snapshot(user: User, covered: User | None = None) -> dict[str, Any]:
    """The audited view of a user (no password hash); a locum's covered practitioner
    (`covered`, already read) by global id."""
    if user.locum_for_id != (covered.id if covered else None):
        raise ValueError("snapshot of a locum needs the practitioner it covers")
    return {
        "email": user.email,
        "type": user.type,
        "classification": user.classification,
        "license": user.license,
        "status": user.status,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "displayName": user.display_name,
        "title": user.title,
        "position": user.position,
        "billingNumber": user.billing_number,
        "expectedEndOfTraining": user.expected_end_of_training,
        "locumFor": events.ref("User", covered.public_id) if covered else None,
        "locumStart": user.locum_start,
        "locumEnd": user.locum_end,
    }
