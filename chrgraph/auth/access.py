"""Whether a user may act at all: ACTIVE, a login type, for clinical trainees the
organization's local date at most 14 days after the end of training, and for locums
that date within the locum period. Logging in and every request of a session follow
it; a booking follows it too, but for a locum by the appointment's start."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chrgraph import clock
from chrgraph.db.models import Classification, Organization, User, UserStatus, UserType

TRAINEE_GRACE = timedelta(days=14)
LOGIN_TYPES = (UserType.STAFF, UserType.PRACTITIONER, UserType.SUPPORT)


def local_today(org: Organization, now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(ZoneInfo(org.time_zone)).date()


def has_access(user: User, org: Organization, now: datetime | None = None) -> bool:
    """May the user act at `now` (log in, use a session): access not expired and, for a
    locum, the local date within its locum period."""
    now = now or clock.now()
    return access_not_expired(user, org, now) and within_locum_period(user, org, now)


def access_not_expired(user: User, org: Organization, now: datetime | None = None) -> bool:
    """ACTIVE, a login type and, for a trainee, within 14 days of the end of training
    (the locum period aside: a booking checks it against the appointment's start)."""
    if user.status is not UserStatus.ACTIVE or user.type not in LOGIN_TYPES:
        return False
    if user.classification is Classification.CLINICAL_TRAINEE:
        end = user.expected_end_of_training
        # Counted back from today: `end + 14 days` overflows for an end date of 9999-12-31.
        return end is not None and local_today(org, now) - TRAINEE_GRACE <= end
    return True


def within_locum_period(user: User, org: Organization, start: datetime) -> bool:
    """A locum acts, and is booked, only within its locum period (for a booking, the
    appointment's start), start to end date inclusive, in the organization's local
    dates (an open end is no limit)."""
    if user.classification is not Classification.LOCUM:
        return True
    day = local_today(org, start)
    if user.locum_start is not None and day < user.locum_start:
        return False
    return user.locum_end is None or day <= user.locum_end


def access_ends_at(user: User, org: Organization) -> datetime | None:
    """The instant (UTC) at which the calendar alone ends the user's access: the
    organization's local midnight that starts the 15th day after a trainee's end of
    training, or the day after a locum's last day. None when no date ends it. A session
    computes it once, when it is loaded, and compares each request's "now" against it."""
    if user.classification is Classification.CLINICAL_TRAINEE:
        last_day = user.expected_end_of_training
        grace = TRAINEE_GRACE
    elif user.classification is Classification.LOCUM:
        last_day, grace = user.locum_end, timedelta(0)
    else:
        return None
    if last_day is None or last_day > date.max - grace - timedelta(days=1):
        return None  # a trainee without an end has no access at all (has_access says so)
    first_day_without = last_day + grace + timedelta(days=1)
    return datetime.combine(first_day_without, time(0), ZoneInfo(org.time_zone)).astimezone(UTC)
