"""billingStatement: for a month, per license the billed count and users.

Billed in a month: users whose license in effect for billing on the first day of
that month (org-local) is that license and whose status at the start of that day was
INVITED or ACTIVE (so a user deactivated during a month is billed for it, and not
after). Users with no license then appear in an UNLICENSED line, not billed. The
forecast is next month's statement from what is known now (pending changes count).
An organization not under license management (CUSTOM contract) has a statement with
no lines that says so."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from chrgraph import instants
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    License,
    LicenseChange,
    Organization,
    User,
    UserStatus,
    UserStatusChange,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.resolvers.errors import ErrorCode, fail
from chrgraph.resolvers.licensing.catalog import CATALOG
from chrgraph.resolvers.licensing.dates import first_of_next_month, start_of_day
from chrgraph.resolvers.licensing.management import managed_users

BILLABLE = (UserStatus.INVITED, UserStatus.ACTIVE)


@dataclass
class StatementLine:
    license: License | None  # None: the UNLICENSED line
    billed: bool
    users: list[User]

    @property
    def count(self) -> int:
        return len(self.users)


@dataclass
class Statement:
    month: str
    lines: list[StatementLine]
    under_license_management: bool = True

    @property
    def billed_total(self) -> int:
        return sum(line.count for line in self.lines if line.billed)


def _status_at(user: User, history: list[UserStatusChange], instant: datetime) -> UserStatus | None:
    if user.created_at > instant:
        return None
    known = [h for h in history if h.at <= instant]
    if known:
        return max(known, key=lambda h: (h.at, h.id)).status
    return user.status if not history else None


def _license_on(changes: list[LicenseChange], day: date, user: User) -> License | None:
    due = [c for c in changes if c.cancelled_at is None and c.effective_on <= day]
    if due:
        return max(due, key=lambda c: (c.changed_at, c.id)).to_license
    # Users licensed before dated history existed have no rows: their license stands.
    return None if changes else user.license


async def statement_for(org: Organization, first_day: date, now: datetime | None = None) -> Statement:
    now = now or datetime.now(UTC)
    month = first_day.strftime("%Y-%m")
    query = managed_users(org)
    if query is None:
        return Statement(month, [], under_license_management=False)
    instant = min(start_of_day(first_day, org.time_zone), now)
    users = await query.order_by("last_name", "first_name", "id")
    ids = [u.id for u in users]
    changes: dict[int, list[LicenseChange]] = defaultdict(list)
    for change in await OrganizationData(org.id).license_changes.filter(user_id__in=ids):
        changes[change.user_id].append(change)
    history: dict[int, list[UserStatusChange]] = defaultdict(list)
    for row in await UserStatusChange.filter(user_id__in=ids):
        history[row.user_id].append(row)
    by_license: dict[License | None, list[User]] = defaultdict(list)
    for user in users:
        if _status_at(user, history[user.id], instant) not in BILLABLE:
            continue
        by_license[_license_on(changes[user.id], first_day, user)].append(user)
    lines = [StatementLine(info.license, True, by_license.get(info.license, [])) for info in CATALOG.values()]
    lines.append(StatementLine(None, False, by_license.get(None, [])))
    return Statement(month, lines)


async def billing_statement(actor: Actor, month: str, now: datetime | None = None) -> tuple[Statement, Statement]:
    """(the month's statement, the forecast of the month after it)."""
    try:
        first_day = instants.parse_month(month)
    except ValueError as exc:
        raise fail(ErrorCode.INVALID_INPUT, str(exc), "month") from exc
    org = await Organization.get(id=actor.organization_id)
    return await statement_for(org, first_day, now), await statement_for(org, first_of_next_month(first_day), now)
