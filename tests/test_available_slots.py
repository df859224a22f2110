"""availableSlots: free start instants per owner, on its slot grid, inside its working
hours and exceptions, clear of blocking appointments, in the future and within the
owner's access; right on daylight-saving days (America/Toronto); at most 31 days and 20
owners; a fixed number of SQL statements whatever the range and the number of owners."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chrgraph import clock
from chrgraph.db import hooks
from chrgraph.db.models import Classification, License, UserType
from chrgraph.resolvers.users.profile import Locum
from tests.accounts import make_clinic
from tests.scheduling_helpers import patient, practitioner

SLOTS = """query($o: [ID!]!, $from: DateTime!, $to: DateTime!, $d: Int!, $k: AppointmentKind) {
  availableSlots(ownerIds: $o, from: $from, to: $to, durationMinutes: $d, kind: $k) {
    ownerId hasWorkingHours slotMinutes slots } }"""
SET_HOURS = """mutation($i: SetWorkingHoursInput!) { setWorkingHours(input: $i) { errors { code message } } }"""
ADD_EXCEPTION = """mutation($i: AddScheduleExceptionInput!) { addScheduleException(input: $i) {
  errors { code message } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { errors { code message } } }"""
CANCEL = """mutation($i: CancelAppointmentInput!) { cancelAppointment(input: $i) { errors { code } } }"""

# Monday 11 January 2027 in Toronto: EST, UTC-5.
MONDAY = "2027-01-11"


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


async def set_hours(session, owner: str, weekly: list[dict], slot: int = 15) -> None:
    result = await session.gql(SET_HOURS, {"i": {"ownerId": owner, "weekly": weekly, "slotMinutes": slot}})
    assert result["setWorkingHours"]["errors"] == []


async def slots(session, owners: list[str], start: str, end: str, minutes: int, kind: str | None = None) -> list:
    variables = {"o": owners, "from": start, "to": end, "d": minutes, **({"k": kind} if kind else {})}
    return (await session.gql(SLOTS, variables))["availableSlots"]


def z(day: str, hhmm: str) -> str:
    """A UTC instant as the API writes it."""
    return f"{day}T{hhmm}:00+00:00"


async def test_free_slots_lie_on_the_grid_inside_the_hours_and_around_bookings(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    await set_hours(clinic.vendor, dr, [{"weekday": "MONDAY", "start": "09:00", "end": "12:00"}], 30)
    booking = {
        "practitionerId": dr,
        "patientId": await patient(org),
        "start": z(MONDAY, "15:00"),
        "durationMinutes": 30,
    }
    assert (await clinic.vendor.gql(BOOK, {"i": booking}))["bookAppointment"]["errors"] == []
    [answer] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z("2027-01-12", "00:00"), 60)
    assert (answer["ownerId"], answer["hasWorkingHours"], answer["slotMinutes"]) == (dr, True, 30)
    # 09:00-12:00 local is 14:00-17:00Z; 10:00-10:30 local is booked; an hour must fit.
    assert answer["slots"] == [z(MONDAY, "14:00"), z(MONDAY, "15:30"), z(MONDAY, "16:00")]
    [half] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z("2027-01-12", "00:00"), 30)
    assert half["slots"] == [z(MONDAY, t) for t in ("14:00", "14:30", "15:30", "16:00", "16:30")]
    # The range cuts: only starts within [from, to).
    [cut] = await slots(clinic.vendor, [dr], z(MONDAY, "14:30"), z(MONDAY, "16:30"), 30)
    assert cut["slots"] == [z(MONDAY, "14:30"), z(MONDAY, "15:30"), z(MONDAY, "16:00")]


async def test_a_cancelled_appointment_frees_its_time(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    await set_hours(clinic.vendor, dr, [{"weekday": "MONDAY", "start": "09:00", "end": "10:00"}], 30)
    booking = {
        "practitionerId": dr,
        "patientId": await patient(org),
        "start": z(MONDAY, "14:00"),
        "durationMinutes": 30,
    }
    booked = await clinic.vendor.gql(
        BOOK.replace("errors { code message }", "appointment { id } errors { code message }"), {"i": booking}
    )
    [before] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z(MONDAY, "23:00"), 30)
    assert before["slots"] == [z(MONDAY, "14:30")]
    appointment = booked["bookAppointment"]["appointment"]["id"]
    await clinic.vendor.gql(CANCEL, {"i": {"appointmentId": appointment, "reason": "patient called"}})
    [after] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z(MONDAY, "23:00"), 30)
    assert after["slots"] == [z(MONDAY, "14:00"), z(MONDAY, "14:30")]


async def test_exceptions_close_or_reshape_a_date(clinic):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr, [{"weekday": "MONDAY", "start": "09:00", "end": "10:00"}], 60)
    await set_hours(
        clinic.vendor,
        dr,
        [
            {"weekday": "MONDAY", "start": "09:00", "end": "10:00"},
            {"weekday": "TUESDAY", "start": "09:00", "end": "10:00"},
        ],
        60,
    )
    await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY, "closed": True}})
    tuesday = {"ownerId": dr, "date": "2027-01-12", "intervals": [{"start": "13:00", "end": "14:00"}]}
    await clinic.vendor.gql(ADD_EXCEPTION, {"i": tuesday})
    saturday = {"ownerId": dr, "date": "2027-01-16", "intervals": [{"start": "08:00", "end": "09:00"}]}
    await clinic.vendor.gql(ADD_EXCEPTION, {"i": saturday})
    [answer] = await slots(clinic.vendor, [dr], z("2027-01-10", "00:00"), z("2027-01-20", "00:00"), 60)
    assert answer["slots"] == [
        z("2027-01-12", "18:00"),  # Tuesday reshaped to 13:00-14:00
        z("2027-01-16", "13:00"),  # a Saturday opened 08:00-09:00
        z("2027-01-18", "14:00"),  # the weekly hours again
        z("2027-01-19", "14:00"),
    ]


async def test_daylight_saving_days_give_the_right_instants(clinic):
    """Toronto moves its clocks on Sunday 14 March 2027 (02:00 EST becomes 03:00 EDT) and
    on Sunday 7 November 2027 (02:00 EDT becomes 01:00 EST)."""
    dr = await practitioner(clinic.organization.id)
    weekly = [
        {"weekday": "SUNDAY", "start": "00:00", "end": "04:00"},
        {"weekday": "SUNDAY", "start": "09:00", "end": "10:00"},
    ]
    await set_hours(clinic.vendor, dr, weekly, 60)

    async def sunday(day: str) -> list[str]:
        [answer] = await slots(clinic.vendor, [dr], z(day, "00:00"), z(day, "23:59"), 60)
        return answer["slots"]

    # The Sunday before, EST (UTC-5): 00:00-04:00 is four hours.
    assert await sunday("2027-03-07") == [z("2027-03-07", t) for t in ("05:00", "06:00", "07:00", "08:00", "14:00")]
    # The spring change: 02:00-03:00 does not exist, the night holds three hours, and
    # 09:00 is EDT (UTC-4).
    assert await sunday("2027-03-14") == [z("2027-03-14", t) for t in ("05:00", "06:00", "07:00", "13:00")]
    # The autumn change: 01:00-02:00 happens twice, the night holds five hours, and 09:00
    # is EST again.
    assert await sunday("2027-11-07") == [
        z("2027-11-07", t) for t in ("04:00", "05:00", "06:00", "07:00", "08:00", "14:00")
    ]
    # The Sunday before, still EDT.
    assert await sunday("2027-10-31") == [z("2027-10-31", t) for t in ("04:00", "05:00", "06:00", "07:00", "13:00")]


async def test_a_booking_on_a_daylight_saving_day_follows_the_local_hours(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    await set_hours(clinic.vendor, dr, [{"weekday": "SUNDAY", "start": "09:00", "end": "10:00"}], 60)
    booking = {"practitionerId": dr, "patientId": await patient(org), "durationMinutes": 60}
    refused = await clinic.vendor.gql(BOOK, {"i": {**booking, "start": z("2027-03-14", "14:00")}})  # 10:00 EDT
    assert [e["code"] for e in refused["bookAppointment"]["errors"]] == ["OUTSIDE_WORKING_HOURS"]
    done = await clinic.vendor.gql(BOOK, {"i": {**booking, "start": z("2027-03-14", "13:00")}})  # 09:00 EDT
    assert done["bookAppointment"]["errors"] == []


async def test_an_owner_without_hours_lists_none(clinic):
    dr = await practitioner(clinic.organization.id)
    [answer] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z("2027-01-12", "00:00"), 30)
    assert answer == {"ownerId": dr, "hasWorkingHours": False, "slotMinutes": None, "slots": []}


async def test_only_future_slots_are_listed(clinic):
    dr = await practitioner(clinic.organization.id)
    days = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
    await set_hours(clinic.vendor, dr, [{"weekday": d, "start": "00:00", "end": "23:00"} for d in days], 60)
    [past] = await slots(clinic.vendor, [dr], "2020-01-01T00:00:00Z", "2020-01-31T00:00:00Z", 60)
    assert past["slots"] == []
    now = clock.now().replace(microsecond=0)
    [soon] = await slots(
        clinic.vendor, [dr], (now - timedelta(days=1)).isoformat(), (now + timedelta(days=2)).isoformat(), 60
    )
    listed = [datetime.fromisoformat(s) for s in soon["slots"]]
    assert listed and min(listed) > now and min(listed) - now <= timedelta(hours=2)


async def test_virtual_slots_need_virtual_care_in_the_license(clinic):
    org = clinic.organization.id
    lite = await practitioner(org, license=License.CHR_LITE)
    plus = await practitioner(org, license=License.CHR_PLUS)
    for dr in (lite, plus):
        await set_hours(clinic.vendor, dr, [{"weekday": "MONDAY", "start": "09:00", "end": "10:00"}], 60)
    answer = await slots(clinic.vendor, [lite, plus], z(MONDAY, "00:00"), z(MONDAY, "23:00"), 60, "VIRTUAL")
    assert [(a["ownerId"], a["slots"]) for a in answer] == [(lite, []), (plus, [z(MONDAY, "14:00")])]
    in_person = await slots(clinic.vendor, [lite], z(MONDAY, "00:00"), z(MONDAY, "23:00"), 60, "IN_PERSON")
    assert in_person[0]["slots"] == [z(MONDAY, "14:00")]


async def test_a_locum_has_slots_only_within_its_period(clinic):
    dr = await practitioner(
        clinic.organization.id,
        classification=Classification.LOCUM,
        license=License.LOCUM,
        locum=Locum(None, date(2027, 1, 12), date(2027, 1, 13)),
    )
    weekly = [{"weekday": d, "start": "09:00", "end": "10:00"} for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY")]
    await set_hours(clinic.vendor, dr, weekly, 60)
    [answer] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z("2027-01-15", "00:00"), 60)
    assert answer["slots"] == [z("2027-01-12", "14:00"), z("2027-01-13", "14:00")]


async def test_a_trainee_has_no_slots_after_its_access_ends(clinic):
    dr = await practitioner(
        clinic.organization.id,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date(2026, 12, 31),  # access ends 14 days later, 15 Jan 2027
    )
    weekly = [{"weekday": d, "start": "09:00", "end": "10:00"} for d in ("THURSDAY", "FRIDAY")]
    await set_hours(clinic.vendor, dr, weekly, 60)
    [answer] = await slots(clinic.vendor, [dr], z(MONDAY, "00:00"), z("2027-01-20", "00:00"), 60)
    assert answer["slots"] == [z("2027-01-14", "14:00")]


async def test_limits_are_31_days_and_20_owners(clinic):
    dr = await practitioner(clinic.organization.id)
    too_long = await clinic.vendor.post(
        SLOTS, {"o": [dr], "from": z(MONDAY, "00:00"), "to": z("2027-02-11", "00:01"), "d": 30}
    )
    [error] = too_long.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": "AVAILABILITY_LIMIT_EXCEEDED", "field": ["to"]}
    others = [await practitioner(clinic.organization.id) for _ in range(20)]
    too_many = await clinic.vendor.post(
        SLOTS, {"o": [dr, *others], "from": z(MONDAY, "00:00"), "to": z(MONDAY, "12:00"), "d": 30}
    )
    assert too_many.json()["errors"][0]["extensions"]["reason"] == "AVAILABILITY_LIMIT_EXCEEDED"
    exactly = await slots(clinic.vendor, others, z(MONDAY, "00:00"), z("2027-02-11", "00:00"), 30)
    assert len(exactly) == 20


async def test_unknown_owners_and_bad_ranges_are_typed_errors(clinic):
    dr = await practitioner(clinic.organization.id)
    other_clinic = await make_clinic(clinic.client)
    stranger = await practitioner(other_clinic.organization.id)
    unknown = await clinic.vendor.post(
        SLOTS, {"o": [dr, stranger], "from": z(MONDAY, "00:00"), "to": z(MONDAY, "09:00"), "d": 30}
    )
    assert unknown.json()["errors"][0]["extensions"]["reason"] == "NOT_FOUND"
    backwards = await clinic.vendor.post(
        SLOTS, {"o": [dr], "from": z(MONDAY, "09:00"), "to": z(MONDAY, "08:00"), "d": 30}
    )
    assert backwards.json()["errors"][0]["extensions"]["reason"] == "INVALID_INPUT"
    short = await clinic.vendor.post(SLOTS, {"o": [dr], "from": z(MONDAY, "08:00"), "to": z(MONDAY, "09:00"), "d": 1})
    assert short.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "reason": "INVALID_INPUT",
        "field": ["durationMinutes"],
    }


async def test_a_practitioner_reads_its_own_availability_only(clinic):
    me = await clinic.member(
        type=UserType.PRACTITIONER, license=License.CHR_PLUS, classification=Classification.STANDARD
    )
    other = await practitioner(clinic.organization.id)
    await set_hours(me, me.user_id, [{"weekday": "MONDAY", "start": "09:00", "end": "10:00"}], 60)
    [mine] = await slots(me, [me.user_id], z(MONDAY, "00:00"), z(MONDAY, "23:00"), 60)
    assert mine["slots"] == [z(MONDAY, "14:00")]
    refused = await me.post(
        SLOTS, {"o": [me.user_id, other], "from": z(MONDAY, "00:00"), "to": z(MONDAY, "23:00"), "d": 60}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    support = await clinic.support.post(
        SLOTS, {"o": [other], "from": z(MONDAY, "00:00"), "to": z(MONDAY, "23:00"), "d": 60}
    )
    assert support.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def _statements(session, owners: list[str], start: str, end: str) -> int:
    counter = hooks.count_statements()
    try:
        answer = await slots(session, owners, start, end, 30)
    finally:
        hooks.stop_counting(counter)
    assert len(answer) == len(owners) and all(a["slots"] for a in answer)
    # The once-every-0.5-s revocation poll may land in any request: not this one's cost.
    return len([sql for sql in counter.statements if "auth_epoch" not in sql])


async def test_the_number_of_statements_grows_with_neither_owners_nor_range(clinic):
    org = clinic.organization.id
    owners = [await practitioner(org) for _ in range(20)]
    weekly = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in ("MONDAY", "TUESDAY", "WEDNESDAY")]
    for i, dr in enumerate(owners):
        await set_hours(clinic.vendor, dr, weekly, 30)
        booking = {"practitionerId": dr, "patientId": await patient(org), "durationMinutes": 30}
        await clinic.vendor.gql(BOOK, {"i": {**booking, "start": z(MONDAY, f"{14 + i % 3}:00")}})
        await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": "2027-01-19", "closed": True}})
    await _statements(clinic.vendor, owners[:1], z(MONDAY, "00:00"), z(MONDAY, "23:00"))  # warm the caches
    one_day_one_owner = await _statements(clinic.vendor, owners[:1], z(MONDAY, "00:00"), z(MONDAY, "23:00"))
    month_of_twenty = await _statements(clinic.vendor, owners, z(MONDAY, "00:00"), z("2027-02-11", "00:00"))
    assert one_day_one_owner == month_of_twenty, (one_day_one_owner, month_of_twenty)
