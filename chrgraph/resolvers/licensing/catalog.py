"""The license table: what each license fits, its rank and its features."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from chrgraph.db.models import Classification, License, UserType


class Feature(str, Enum):
    SCHEDULING = "SCHEDULING"
    RECORD_KEEPING = "RECORD_KEEPING"
    QUESTIONNAIRES = "QUESTIONNAIRES"
    PATIENT_MESSAGING = "PATIENT_MESSAGING"
    EBOOKING = "EBOOKING"
    APPOINTMENT_REMINDERS = "APPOINTMENT_REMINDERS"
    ADVANCED_ANALYTICS = "ADVANCED_ANALYTICS"
    CONNECT_APP = "CONNECT_APP"
    VIRTUAL_CARE = "VIRTUAL_CARE"
    LABS = "LABS"
    PRESCRIPTIONS = "PRESCRIPTIONS"
    PROVINCIAL_BILLING = "PROVINCIAL_BILLING"


_BASE = frozenset(
    {
        Feature.SCHEDULING,
        Feature.RECORD_KEEPING,
        Feature.QUESTIONNAIRES,
        Feature.PATIENT_MESSAGING,
        Feature.EBOOKING,
        Feature.APPOINTMENT_REMINDERS,
        Feature.ADVANCED_ANALYTICS,
    }
)
_LITE = _BASE | {Feature.CONNECT_APP}
_LITE_VV = _LITE | {Feature.VIRTUAL_CARE}
_PLUS = _LITE_VV | {Feature.LABS, Feature.PRESCRIPTIONS, Feature.PROVINCIAL_BILLING}


@dataclass(frozen=True)
class LicenseInfo:
    license: License
    user_type: UserType
    classification: Classification | None
    rank: int
    features: frozenset[Feature]
    # As the clinic's own screens name and describe it.
    display_name: str
    description: str


CATALOG: dict[License, LicenseInfo] = {
    License.STAFF: LicenseInfo(
        License.STAFF,
        UserType.STAFF,
        None,
        1,
        _BASE,
        "Staff",
        "For non-clinical staff: scheduling, records, questionnaires, patient messaging, eBooking and analytics.",
    ),
    License.CHR_LITE: LicenseInfo(
        License.CHR_LITE,
        UserType.PRACTITIONER,
        Classification.STANDARD,
        1,
        _LITE,
        "CHR Lite",
        "The practitioner essentials, with the Connect app.",
    ),
    License.CHR_LITE_VV: LicenseInfo(
        License.CHR_LITE_VV,
        UserType.PRACTITIONER,
        Classification.STANDARD,
        2,
        _LITE_VV,
        "CHR Lite + VV",
        "CHR Lite plus virtual visits.",
    ),
    License.CHR_PLUS: LicenseInfo(
        License.CHR_PLUS,
        UserType.PRACTITIONER,
        Classification.STANDARD,
        3,
        _PLUS,
        "CHR Plus",
        "Everything: virtual visits, labs, prescriptions and provincial billing.",
    ),
    License.LOCUM: LicenseInfo(
        License.LOCUM,
        UserType.PRACTITIONER,
        Classification.LOCUM,
        3,
        _PLUS,
        "Locum",
        "Everything CHR Plus has, for a locum covering a practitioner.",
    ),
    License.CLINICAL_TRAINEE: LicenseInfo(
        License.CLINICAL_TRAINEE,
        UserType.PRACTITIONER,
        Classification.CLINICAL_TRAINEE,
        1,
        _LITE | {Feature.LABS, Feature.PRESCRIPTIONS},
        "Clinical trainee",
        "CHR Lite plus labs and prescriptions under supervision; never provincial billing.",
    ),
}


def fits(license: License, user_type: UserType, classification: Classification | None) -> bool:
    info = CATALOG[license]
    if info.user_type is not user_type:
        return False
    if user_type is UserType.PRACTITIONER:
        return info.classification is (classification or Classification.STANDARD)
    return True


# Service and support accounts hold no license and are never billed.
LICENSED_TYPES = (UserType.STAFF, UserType.PRACTITIONER)


def licensed_type(user_type: UserType) -> bool:
    """Whether users of this type hold licenses (Staff and Practitioners)."""
    return user_type in LICENSED_TYPES
