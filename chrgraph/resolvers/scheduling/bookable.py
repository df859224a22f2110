"""Who can be booked, and for which start and kind: the rule every booking, every
reschedule, every handover that moves an appointment and every availability answer
applies."""

from __future__ import annotations

from datetime import UTC, datetime

from chrgraph.auth.access import access_not_expired, within_locum_period
from chrgraph.db.models import (
    AppointmentKind,
    AppointmentStatus,
    License,
    Organization,
    User,
    UserStatus,
    UserType,
)
from chrgraph.resolvers.licensing.catalog import CATALOG, Feature
from chrgraph.resolvers.licensing.changes import access_license
from chrgraph.resolvers.licensing.dates import local_date
from chrgraph.resolvers.licensing.management import under_license_management

BLOCKING = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED)
MIN_MINUTES, MAX_MINUTES = 5, 480
# Why a practitioner cannot be booked, each following "the practitioner".
NOT_BOOKABLE = "cannot be booked"
NO_VIRTUAL_CARE = "has a license that lacks virtual care, which a VIRTUAL appointment needs"


def _license(practitioner: User, org: Organization, now: datetime | None) -> License | None:
    """The license access uses now: a downgrade counts from its effective date (the
    clinic's), even before the hourly job has settled it."""
    return access_license(practitioner, local_date(now or datetime.now(UTC), org.time_zone))


def offers(practitioner: User, org: Organization, kind: AppointmentKind, now: datetime | None = None) -> bool:
    """Whether the practitioner's license covers an appointment of this kind: under
    license management a VIRTUAL one needs virtual care in the license; an IN_PERSON one,
    or any outside license management (a CUSTOM contract), needs nothing more."""
    if kind is not AppointmentKind.VIRTUAL or not under_license_management(org):
        return True
    license = _license(practitioner, org, now)
    return license is not None and Feature.VIRTUAL_CARE in CATALOG[license].features


def not_bookable(
    practitioner: User,
    org: Organization,
    now: datetime | None = None,
    start: datetime | None = None,
    kind: AppointmentKind = AppointmentKind.IN_PERSON,
    *,
    shared_schedule: bool = False,
) -> str | None:
    """Why the practitioner cannot take an appointment of this kind starting then, as a
    phrase to follow "the practitioner", or None when it can. ACTIVE practitioners whose
    access has not expired; a locum only for an appointment that starts within its locum
    period; under license management only those whose license includes scheduling, and
    for a VIRTUAL appointment virtual care. An ACTIVE service account is bookable as a
    shared schedule once it has working hours (`shared_schedule`), with no license check."""
    if practitioner.type is UserType.SERVICE_ACCOUNT:
        return None if shared_schedule and practitioner.status is UserStatus.ACTIVE else NOT_BOOKABLE
    if practitioner.type is not UserType.PRACTITIONER or not access_not_expired(practitioner, org, now):
        return NOT_BOOKABLE
    if start is not None and not within_locum_period(practitioner, org, start):
        return NOT_BOOKABLE
    if under_license_management(org):
        license = _license(practitioner, org, now)
        if license is None or Feature.SCHEDULING not in CATALOG[license].features:
            return NOT_BOOKABLE
    if not offers(practitioner, org, kind, now):
        return NO_VIRTUAL_CARE
    return None


def bookable(
    practitioner: User,
    org: Organization,
    now: datetime | None = None,
    start: datetime | None = None,
    kind: AppointmentKind = AppointmentKind.IN_PERSON,
) -> bool:
    """Whether `not_bookable` finds nothing against the practitioner."""
    return not_bookable(practitioner, org, now, start, kind) is None
