"""Working hours and availability.

A schedule owner (an ACTIVE practitioner, or a service account used as a shared
schedule) has weekly working hours and dated exceptions, both in the organization's
local wall-clock time; the local dates and times become instants through the
organization's time zone, so a daylight-saving day gets the right instants (a wall-clock
time that does not exist that day starts at the change, one that happens twice is taken
at its first occurrence for a start and at its second for an end). Once an owner has
working hours, a booking must lie inside them (`check_booking`, the one rule of
bookAppointment and rescheduleAppointment); `available_slots` lists the free start
instants of up to 20 owners over up to 31 days in a fixed number of statements.

Every write of a schedule ends in `schedule_changed`, in the write's own transaction."""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from chrgraph import clock
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.access import access_ends_at, local_today, within_locum_period
from chrgraph.auth.principals import Actor, PrincipalKind
from chrgraph.db.models import (
    AppointmentKind,
    Classification,
    Organization,
    ScheduleException,
    User,
    UserStatus,
    UserType,
    WorkingHours,
)
from chrgraph.db.raw import value_tuples
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, fail
from chrgraph.resolvers.scheduling.bookable import BLOCKING, MAX_MINUTES, MIN_MINUTES, not_bookable
from chrgraph.resolvers.validation import Errors

DEFAULT_SLOT_MINUTES = 15
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 240
MAX_DAYS, MAX_OWNERS = 31, 20
# Bounds that keep a schedule's answer small: intervals of one day, and how far ahead an
# exception may be dated.
MAX_INTERVALS_PER_DAY = 8
MAX_EXCEPTION_DAYS_AHEAD = 366
OWNER_TYPES = (UserType.PRACTITIONER, UserType.SERVICE_ACCOUNT)
_DAY = timedelta(days=1)


class Weekday(str, Enum):
    """A day of the week (ISO order: Monday first)."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def iso(self) -> int:
        return _ISO_WEEKDAY[self]


_ISO_WEEKDAY = {day: number for number, day in enumerate(Weekday, start=1)}


@dataclass(frozen=True, order=True)
class Interval:
    """Local wall-clock times of one day, `[start, end)`."""

    start: time
    end: time


@dataclass(frozen=True)
class WeeklyInterval:
    weekday: Weekday
    start: time
    end: time


@dataclass(frozen=True)
class DateException:
    date: date
    closed: bool
    intervals: list[Interval]


@dataclass
class Schedule:
    """An owner's working hours as read: `weekly` None when it has none."""

    owner: User
    slot_minutes: int | None
    weekly: list[WeeklyInterval] | None
    exceptions: list[DateException] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass
class OwnerSlots:
    """The free start instants of one owner, in time order."""

    owner: User
    has_working_hours: bool
    slot_minutes: int | None
    slots: list[datetime]


# --- stored form ---------------------------------------------------------------------


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(text: str) -> time:
    return time.fromisoformat(text)


def _weekly_rows(weekly: list[WeeklyInterval]) -> list[dict[str, str]]:
    return [{"weekday": w.weekday.value, "start": _hhmm(w.start), "end": _hhmm(w.end)} for w in weekly]


def _weekly_of(row: WorkingHours) -> list[WeeklyInterval]:
    return [WeeklyInterval(Weekday(w["weekday"]), _time(w["start"]), _time(w["end"])) for w in row.weekly]


def _intervals_of(rows: list[dict[str, str]]) -> list[Interval]:
    return [Interval(_time(i["start"]), _time(i["end"])) for i in rows]


def _exception_of(row: ScheduleException) -> DateException:
    return DateException(row.date, row.closed, _intervals_of(row.intervals))


# --- validation ----------------------------------------------------------------------


def _check_intervals(errors: Errors, intervals: list[tuple[Any, time | None, time | None]], path: str) -> None:
    """Each interval whole minutes, ending after it starts, none overlapping another of
    the same day (`key` groups them: the weekday, or one date)."""
    by_day: dict[Any, list[Interval]] = defaultdict(list)
    for key, start, end in intervals:
        if start is None or end is None:
            errors.add(ErrorCode.INVALID_INTERVAL, "Each interval has a start and an end.", path)
            continue
        if start.second or start.microsecond or end.second or end.microsecond or start.tzinfo or end.tzinfo:
            errors.add(ErrorCode.INVALID_INTERVAL, "Times are local wall-clock hours and minutes.", path)
            continue
        if end <= start:
            errors.add(
                ErrorCode.INVALID_INTERVAL,
                f"The interval {_hhmm(start)}–{_hhmm(end)} ends before it starts (intervals stay within one day).",
                path,
            )
            continue
        by_day[key].append(Interval(start, end))
    for key, day in by_day.items():
        if len(day) > MAX_INTERVALS_PER_DAY:
            errors.add(ErrorCode.INVALID_INTERVAL, f"At most {MAX_INTERVALS_PER_DAY} intervals a day.", path)
        day.sort()
        for before, after in zip(day, day[1:], strict=False):
            if after.start < before.end:
                where = f" on {key.value.title()}" if isinstance(key, Weekday) else ""
                errors.add(
                    ErrorCode.OVERLAPPING_INTERVALS,
                    f"{_hhmm(before.start)}–{_hhmm(before.end)} and {_hhmm(after.start)}–{_hhmm(after.end)}"
                    f"{where} overlap.",
                    path,
                )


def _check_slot_minutes(errors: Errors, slot_minutes: int | None) -> None:
    if slot_minutes is None or not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES or 1440 % slot_minutes:
        errors.add(
            ErrorCode.INVALID_SLOT_LENGTH,
            f"A slot is {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes and divides a day (e.g. 10, 15, 30, 60).",
            "slotMinutes",
        )


async def _lock_owner(conn, actor: Actor, owner_id: int | None) -> User:
    """The owner, locked (bookings lock it too, so a change of hours and a booking
    serialize)."""
    query = actor.data.users.filter(id=owner_id).exclude(type=UserType.SUPPORT)
    owner = await query.using_db(conn).select_for_update().first() if owner_id else None
    if owner is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", "ownerId")
    if owner.type not in OWNER_TYPES or owner.status is not UserStatus.ACTIVE:
        raise fail(
            ErrorCode.NOT_A_SCHEDULE_OWNER,
            "Only active practitioners and service accounts (shared schedules) have working hours.",
            "ownerId",
        )
    return owner


async def schedule_changed(conn, actor: Actor, owner: User, action: AuditAction, changes: dict[str, Any]) -> None:
    """What every write of a schedule does last, in its transaction: the audit event,
    which also writes the SCHEDULE_CHANGED webhook event (audit/webhooks.py)."""
    await events.record(conn, actor, action, "User", owner.public_id, changes)


# --- writes --------------------------------------------------------------------------


async def set_working_hours(
    actor: Actor,
    owner_id: int | None,
    weekly: list[dict[str, Any]] | None,
    slot_minutes: int | None = DEFAULT_SLOT_MINUTES,
) -> Schedule:
    """Set (replace) an owner's weekly working hours and slot length. An empty week is
    allowed: the owner then works only on the dates its exceptions open."""
    errors = Errors()
    given = weekly or []
    _check_intervals(errors, [(w["weekday"], w.get("start"), w.get("end")) for w in given], "weekly")
    _check_slot_minutes(errors, slot_minutes)
    if errors:
        raise OperationFailed(*errors.items)
    assert slot_minutes is not None  # checked
    items = sorted(
        (WeeklyInterval(w["weekday"], w["start"], w["end"]) for w in given), key=lambda w: (w.weekday.iso, w.start)
    )
    async with atomic() as conn:
        owner = await _lock_owner(conn, actor, owner_id)
        row = await actor.data.working_hours.filter(owner_id=owner.id).using_db(conn).first()
        before = {"slotMinutes": row.slot_minutes, "weekly": row.weekly} if row else {}
        now = clock.now()
        if row is None:
            row = await actor.data.create(
                WorkingHours,
                owner_id=owner.id,
                slot_minutes=slot_minutes,
                weekly=_weekly_rows(items),
                updated_at=now,
                using_db=conn,
            )
        else:
            row.slot_minutes, row.weekly, row.updated_at = slot_minutes, _weekly_rows(items), now
            await row.save(using_db=conn)
        after = {"slotMinutes": row.slot_minutes, "weekly": row.weekly}
        await schedule_changed(conn, actor, owner, AuditAction.WORKING_HOURS_SET, events.diff(before, after))
        return await _read(conn, actor, owner)


async def add_schedule_exception(
    actor: Actor,
    owner_id: int | None,
    date: date | None,
    closed: bool = False,
    intervals: list[dict[str, Any]] | None = None,
) -> Schedule:
    """Set one local date apart from the weekly hours: closed, or open only in the given
    intervals. A date that already has an exception gets the new one instead."""
    errors = Errors()
    items = intervals or []
    if date is None:
        errors.add(ErrorCode.INVALID_INPUT, "The local date the exception applies to.", "date")
    if closed and items:
        errors.add(ErrorCode.INVALID_INTERVAL, "A closed date has no intervals.", "intervals")
    if not closed and not items:
        errors.add(ErrorCode.INVALID_INTERVAL, "An open date names its intervals (or set `closed`).", "intervals")
    _check_intervals(errors, [(None, i.get("start"), i.get("end")) for i in items], "intervals")
    if errors:
        raise OperationFailed(*errors.items)
    assert date is not None
    day = sorted(Interval(i["start"], i["end"]) for i in items)
    stored = [{"start": _hhmm(i.start), "end": _hhmm(i.end)} for i in day]
    org = await Organization.get(id=actor.organization_id)
    today = local_today(org)
    if date < today:
        raise fail(ErrorCode.INVALID_INPUT, "The date is past.", "date")
    if date > today + timedelta(days=MAX_EXCEPTION_DAYS_AHEAD):
        raise fail(ErrorCode.INVALID_INPUT, f"At most {MAX_EXCEPTION_DAYS_AHEAD} days ahead.", "date")
    async with atomic() as conn:
        owner = await _lock_owner(conn, actor, owner_id)
        if not await actor.data.working_hours.filter(owner_id=owner.id).using_db(conn).exists():
            raise fail(ErrorCode.INVALID_STATE, "Set the owner's working hours before its exceptions.", "ownerId")
        row = await actor.data.schedule_exceptions.filter(owner_id=owner.id, date=date).using_db(conn).first()
        before = {"closed": row.closed, "intervals": row.intervals} if row else {}
        if row is None:
            await actor.data.create(
                ScheduleException, owner_id=owner.id, date=date, closed=closed, intervals=stored, using_db=conn
            )
        else:
            row.closed, row.intervals = closed, stored
            await row.save(using_db=conn)
        changes = {"date": date.isoformat(), **events.diff(before, {"closed": closed, "intervals": stored})}
        await schedule_changed(conn, actor, owner, AuditAction.SCHEDULE_EXCEPTION_ADDED, changes)
        return await _read(conn, actor, owner)


async def remove_schedule_exception(actor: Actor, owner_id: int | None, date: date | None) -> Schedule:
    """Return one date to the weekly hours."""
    async with atomic() as conn:
        owner = await _lock_owner(conn, actor, owner_id)
        row = await actor.data.schedule_exceptions.filter(owner_id=owner.id, date=date).using_db(conn).first()
        if row is None:
            raise fail(ErrorCode.NOT_FOUND, "The owner has no exception on that date.", "date")
        changes = {"date": row.date.isoformat(), "closed": row.closed, "intervals": row.intervals}
        await actor.data.schedule_exceptions.filter(id=row.id).using_db(conn).delete()
        await schedule_changed(conn, actor, owner, AuditAction.SCHEDULE_EXCEPTION_REMOVED, changes)
        return await _read(conn, actor, owner)


# --- reads ---------------------------------------------------------------------------


async def _read(conn, actor: Actor, owner: User, today: date | None = None) -> Schedule:
    hours = await actor.data.working_hours.filter(owner_id=owner.id).using_db(conn).first()
    exceptions = actor.data.schedule_exceptions.filter(owner_id=owner.id)
    if today is not None:
        exceptions = exceptions.filter(date__gte=today)
    rows = await exceptions.using_db(conn).order_by("date")
    return Schedule(
        owner,
        hours.slot_minutes if hours else None,
        _weekly_of(hours) if hours else None,
        [_exception_of(r) for r in rows],
        hours.updated_at if hours else None,
    )


async def schedule(actor: Actor, owner_public_id: str) -> Schedule | None:
    """An owner's weekly hours and its exceptions from today (local) on; None for a user
    that is not a schedule owner (or not of this organization)."""
    owner = await actor.data.users.filter(public_id=owner_public_id, type__in=OWNER_TYPES).first()
    if owner is None:
        return None
    org = await Organization.get(id=actor.organization_id)
    return await _read(None, actor, owner, local_today(org))


# --- wall-clock time to instants -------------------------------------------------------


def _instant(day: date, t: time, zone: ZoneInfo, *, end: bool) -> datetime:
    """The instant a local date and wall-clock time name: an ambiguous time (the clock
    goes back) is its first occurrence for a start and its second for an end; a time
    the clock skips is the instant of the change."""
    naive = datetime.combine(day, t)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:  # an ordinary time (equal) or an ambiguous one
        return second if end else first
    # Skipped: `second` reads before the gap, `first` after it; the change lies between.
    lo, hi = second, first
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(second=0, microsecond=0)


def _open_spans(
    day: date, weekly: list[WeeklyInterval], exception: DateException | None, zone: ZoneInfo
) -> tuple[tuple[datetime, datetime], ...]:
    """The instants an owner works on one local date, touching intervals joined."""
    if exception is not None:
        intervals = () if exception.closed else tuple(sorted(exception.intervals))
    else:
        intervals = tuple(sorted(Interval(w.start, w.end) for w in weekly if w.weekday.iso == day.isoweekday()))
    return _day_spans(day, intervals, zone)


@functools.lru_cache(maxsize=4096)
def _day_spans(day: date, intervals: tuple[Interval, ...], zone: ZoneInfo) -> tuple[tuple[datetime, datetime], ...]:
    # A pure function of its arguments, kept for the many owners and requests that share
    # a day's hours: the wall-clock arithmetic is most of an availability answer's work.
    spans: list[tuple[datetime, datetime]] = []
    for i in intervals:
        start, end = _instant(day, i.start, zone, end=False), _instant(day, i.end, zone, end=True)
        if start >= end:
            continue
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return tuple(spans)


def _aligned(span_start: datetime, slot_minutes: int, zone: ZoneInfo) -> datetime:
    """The first instant at or after `span_start` whose local wall-clock time is on the
    slot grid (whole slots from midnight)."""
    local = span_start.astimezone(zone)
    minutes = local.hour * 60 + local.minute
    return span_start + timedelta(minutes=-(-minutes // slot_minutes) * slot_minutes - minutes)


def within_hours(
    start: datetime,
    end: datetime,
    weekly: list[WeeklyInterval],
    exceptions: dict[date, DateException],
    zone: ZoneInfo,
) -> bool:
    """Whether `[start, end)` lies inside one stretch of working time of its local date."""
    day = start.astimezone(zone).date()
    return any(s <= start and end <= e for s, e in _open_spans(day, weekly, exceptions.get(day), zone))


# --- the booking rule ------------------------------------------------------------------


def may_book_outside_hours(actor: Actor) -> bool:
    """Only a user's session holding MANAGE_SCHEDULE may book outside working hours."""
    principal = actor.principal
    return principal.kind is PrincipalKind.USER and (principal.is_owner or "MANAGE_SCHEDULE" in principal.permissions)


async def check_booking(
    conn,
    actor: Actor,
    org: Organization,
    owner: User,
    start: datetime,
    end: datetime,
    kind: AppointmentKind,
    now: datetime,
    allow_outside_working_hours: bool = False,
) -> None:
    """The one rule of bookAppointment and rescheduleAppointment about who and when: the
    owner must be bookable for this start and kind (a service account only once it has
    working hours, then with no license check), and once the owner has working hours the
    appointment must lie inside them unless a session that may override says so."""
    if allow_outside_working_hours and not may_book_outside_hours(actor):
        raise fail(
            ErrorCode.OVERRIDE_NOT_ALLOWED,
            "Only a user session holding MANAGE_SCHEDULE may book outside working hours.",
            "allowOutsideWorkingHours",
        )
    hours = await actor.data.working_hours.filter(owner_id=owner.id).using_db(conn).first()
    if reason := not_bookable(owner, org, now, start, kind, shared_schedule=hours is not None):
        raise fail(ErrorCode.PRACTITIONER_NOT_BOOKABLE, f"That practitioner {reason}.", "practitionerId")
    if hours is None or allow_outside_working_hours:
        return
    if await outside_working_hours(conn, actor, org, owner.id, [(start, end)], hours):
        raise fail(
            ErrorCode.OUTSIDE_WORKING_HOURS,
            "That time is outside the practitioner's working hours.",
            "start",
        )


async def outside_working_hours(
    conn,
    actor: Actor,
    org: Organization,
    owner_id: int,
    spans: list[tuple[datetime, datetime]],
    hours: WorkingHours | None = None,
) -> list[int]:
    """The positions in `spans` that do not lie inside the owner's working hours (with
    the exceptions of their local dates); none when the owner has no working hours.
    Two statements at most, whatever the number of spans."""
    if hours is None:
        hours = await actor.data.working_hours.filter(owner_id=owner_id).using_db(conn).first()
    if hours is None or not spans:
        return []
    zone = ZoneInfo(org.time_zone)
    days = {start.astimezone(zone).date() for start, _ in spans}
    rows = await actor.data.schedule_exceptions.filter(owner_id=owner_id, date__in=days).using_db(conn)
    weekly, exceptions = _weekly_of(hours), {e.date: _exception_of(e) for e in rows}
    return [i for i, (start, end) in enumerate(spans) if not within_hours(start, end, weekly, exceptions, zone)]


# --- availability ----------------------------------------------------------------------


def check_availability_request(
    owner_ids: list[str], start: datetime | None, end: datetime | None, duration_minutes: int | None
) -> None:
    errors = Errors()
    if not owner_ids:
        errors.add(ErrorCode.INVALID_INPUT, "Name at least one owner.", "ownerIds")
    elif len(set(owner_ids)) > MAX_OWNERS:
        errors.add(ErrorCode.AVAILABILITY_LIMIT_EXCEEDED, f"At most {MAX_OWNERS} owners per call.", "ownerIds")
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        errors.add(ErrorCode.INVALID_INPUT, "`from` and `to` are instants with a UTC offset.", "from")
    elif end <= start:
        errors.add(ErrorCode.INVALID_INPUT, "`to` comes after `from`.", "to")
    elif end - start > timedelta(days=MAX_DAYS):
        errors.add(ErrorCode.AVAILABILITY_LIMIT_EXCEEDED, f"At most {MAX_DAYS} days per call.", "to")
    if duration_minutes is None or not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        errors.add(ErrorCode.INVALID_INPUT, f"Between {MIN_MINUTES} and {MAX_MINUTES} minutes.", "durationMinutes")
    if errors:
        raise OperationFailed(*errors.items)


async def available_slots(
    actor: Actor,
    owner_ids: list[str],
    start: datetime | None,
    end: datetime | None,
    duration_minutes: int | None,
    kind: AppointmentKind = AppointmentKind.IN_PERSON,
) -> list[OwnerSlots]:
    """The free start instants in `[start, end)` of each owner named (public ids, in the
    order given, each once): aligned to the owner's slot grid, inside its working hours
    and exceptions, not overlapping a blocking appointment, in the future, and where the
    owner may be booked for that start and kind. An owner without working hours lists
    none. Five statements, whatever the range and the number of owners."""
    check_availability_request(owner_ids, start, end, duration_minutes)
    assert start is not None and end is not None and duration_minutes is not None
    wanted = list(dict.fromkeys(owner_ids))
    org = await Organization.get(id=actor.organization_id)
    owners = {u.public_id: u for u in await actor.data.users.filter(public_id__in=wanted)}
    if missing := [p for p in wanted if p not in owners]:
        raise fail(ErrorCode.NOT_FOUND, f"No such user: {len(missing)} of the ids name nobody here.", "ownerIds")
    keys = [u.id for u in owners.values()]
    zone = ZoneInfo(org.time_zone)
    first_day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    duration = timedelta(minutes=duration_minutes)
    hours = {h.owner_id: h for h in await actor.data.working_hours.filter(owner_id__in=keys)}
    exception_rows = await actor.data.schedule_exceptions.filter(
        owner_id__in=keys, date__gte=first_day, date__lte=last_day
    )
    exceptions: dict[int, dict[date, DateException]] = defaultdict(dict)
    for e in exception_rows:
        exceptions[e.owner_id][e.date] = _exception_of(e)
    booked_rows = await value_tuples(
        actor.data.appointments.filter(
            practitioner_id__in=keys, status__in=BLOCKING, start__lt=end + duration, end__gt=start
        ).values_list("practitioner_id", "start", "end")
    )
    booked: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for owner_key, b_start, b_end in booked_rows:
        booked[owner_key].append((b_start, b_end))
    now = clock.now()
    result = []
    for public_id in wanted:
        owner = owners[public_id]
        row = hours.get(owner.id)
        if row is None:
            result.append(OwnerSlots(owner, False, None, []))
            continue
        slots = _free_slots(
            owner,
            org,
            row,
            exceptions.get(owner.id, {}),
            sorted(booked.get(owner.id, [])),
            start,
            end,
            duration,
            kind,
            now,
            zone,
        )
        result.append(OwnerSlots(owner, True, row.slot_minutes, slots))
    return result


def _free_slots(
    owner: User,
    org: Organization,
    row: WorkingHours,
    exceptions: dict[date, DateException],
    booked: list[tuple[datetime, datetime]],
    start: datetime,
    end: datetime,
    duration: timedelta,
    kind: AppointmentKind,
    now: datetime,
    zone: ZoneInfo,
) -> list[datetime]:
    if not_bookable(owner, org, now, None, kind, shared_schedule=True):
        return []  # not bookable now, whatever the start
    weekly = _weekly_of(row)
    slot = timedelta(minutes=row.slot_minutes)
    # A trainee's access ends on a date: nothing from then on. A locum's period is a
    # matter of local dates: checked once a day.
    ends = access_ends_at(owner, org) if owner.type is UserType.PRACTITIONER else None
    locum = owner.classification is Classification.LOCUM
    earliest = max(start, now + timedelta(microseconds=1))
    latest = end if ends is None else min(end, ends)
    booked_starts = [b[0] for b in booked]
    reach = timedelta(minutes=MAX_MINUTES)
    slots: list[datetime] = []
    day = start.astimezone(zone).date()
    last_day = end.astimezone(zone).date()
    while day <= last_day:
        for span_start, span_end in _open_spans(day, weekly, exceptions.get(day), zone):
            if span_end <= earliest or span_start >= latest:
                continue
            if locum and not within_locum_period(owner, org, span_start):
                continue
            # The few appointments that can overlap this stretch.
            near = booked[
                bisect.bisect_right(booked_starts, span_start - reach) : bisect.bisect_left(booked_starts, span_end)
            ]
            grid = _aligned(span_start, row.slot_minutes, zone)
            slots += free_starts(span_start, span_end, grid, slot, duration, near, max(grid, earliest), latest)
        day += _DAY
    return slots


def free_starts(
    span_start: datetime,
    span_end: datetime,
    grid: datetime,
    slot: timedelta,
    duration: timedelta,
    near: list[tuple[datetime, datetime]],
    lowest: datetime,
    latest: datetime,
) -> list[datetime]:
    """The starts `grid + k·slot` (k >= 0) of a stretch of working time `[span_start,
    span_end)` at or after `lowest` and before `latest` whose `[start, start + duration)`
    stays in the stretch and overlaps none of `near` (appointments sorted by start).

    Walks the gaps between the appointments and takes each gap's grid points by
    arithmetic, rather than testing every grid point against the appointments."""
    starts: list[datetime] = []
    for gap_start, gap_end in _gaps(span_start, span_end, near):
        first = -(-(max(gap_start, lowest) - grid) // slot)  # ceiling division
        last = (gap_end - duration - grid) // slot
        for k in range(max(first, 0), last + 1):
            candidate = grid + k * slot
            if candidate >= latest:
                return starts
            starts.append(candidate)
    return starts


def _gaps(
    span_start: datetime, span_end: datetime, near: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The free stretches of `[span_start, span_end)` between `near` (sorted by start)."""
    gaps: list[tuple[datetime, datetime]] = []
    free_from = span_start
    for b_start, b_end in near:
        if b_end <= free_from:
            continue
        if b_start > free_from:
            gaps.append((free_from, min(b_start, span_end)))
        free_from = b_end
        if free_from >= span_end:
            return gaps
    gaps.append((free_from, span_end))
    return gaps
