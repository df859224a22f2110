"""Whether a user may act at all: ACTIVE, a login type, and for clinical
trainees the organization's local date at most 14 days after the end of training."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chrgraph.db.models import Classification, Organization, User, UserStatus, UserType

TRAINEE_GRACE = timedelta(days=14)
LOGIN_TYPES = (UserType.STAFF, UserType.PRACTITIONER, UserType.SUPPORT)


def local_today(org: Organization, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(org.time_zone)).date()


def has_access(user: User, org: Organization, now: datetime | None = None) -> bool:
    if user.status is not UserStatus.ACTIVE or user.type not in LOGIN_TYPES:
        return False
    if user.classification is Classification.CLINICAL_TRAINEE:
        end = user.expected_end_of_training
        # Counted back from today: `end + 14 days` overflows for an end date of 9999-12-31.
        return end is not None and local_today(org, now) - TRAINEE_GRACE <= end
    return True
