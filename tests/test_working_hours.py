"""Working hours and exceptions: set and read in the organization's local wall-clock
time, validated with typed errors, by MANAGE_SCHEDULE or a practitioner for itself; once
an owner has them, bookings and reschedules outside them are refused unless a session
that may override says so; a service account with working hours is a shared schedule."""

from __future__ import annotations

from datetime import date

import pytest

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import (
    AuditEvent,
    Classification,
    License,
    Organization,
    ScheduleException,
    User,
    UserType,
    WorkingHours,
)
from chrgraph.resolvers.demo import load_demo
from chrgraph.resolvers.users.invite_user import create_service_account
from chrgraph.resolvers.users.profile import Locum
from tests.accounts import make_clinic
from tests.helpers import gid, key_of, unique
from tests.scheduling_helpers import patient, practitioner

SET_HOURS = """mutation($i: SetWorkingHoursInput!) { setWorkingHours(input: $i) {
  schedule { ownerId hasWorkingHours slotMinutes weekly { weekday start end } }
  errors { code field message } } }"""
ADD_EXCEPTION = """mutation($i: AddScheduleExceptionInput!) { addScheduleException(input: $i) {
  schedule { exceptions { date closed intervals { start end } } } errors { code field message } } }"""
SCHEDULE_EXCEPTIONS = """query($o: ID!) { schedule(ownerId: $o) { exceptions { date } } }"""
REMOVE_EXCEPTION = """mutation($i: RemoveScheduleExceptionInput!) { removeScheduleException(input: $i) {
  schedule { exceptions { date } } errors { code field message } } }"""
SCHEDULE = """query($o: ID!) { schedule(ownerId: $o) { ownerId hasWorkingHours slotMinutes
  weekly { weekday start end } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id start } errors { code field message } } }"""
RESCHEDULE = """mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) {
  appointment { id start } errors { code field message } } }"""

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
NINE_TO_FIVE = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in WEEKDAYS]
# Monday 11 January 2027 in Toronto (EST, UTC-5): 09:00 local is 14:00Z.
MONDAY = "2027-01-11"


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


async def set_hours(session, owner: str, weekly=None, slot: int | None = None, document: str = SET_HOURS) -> dict:
    values: dict = {"ownerId": owner, "weekly": NINE_TO_FIVE if weekly is None else weekly}
    if slot is not None:
        values["slotMinutes"] = slot
    return (await session.gql(document, {"i": values}))["setWorkingHours"]


async def book(session, owner: str, start: str, minutes: int = 30, **extra) -> dict:
    values = {
        "practitionerId": owner,
        "patientId": await patient(extra.pop("org")),
        "start": start,
        "durationMinutes": minutes,
        **extra,
    }
    return (await session.gql(BOOK, {"i": values}))["bookAppointment"]


async def test_weekly_hours_are_set_and_read_back_in_local_time(clinic):
    dr = await practitioner(clinic.organization.id)
    weekly = [*NINE_TO_FIVE, {"weekday": "SATURDAY", "start": "09:00", "end": "12:00"}]
    result = await set_hours(clinic.vendor, dr, weekly)
    assert result["errors"] == []
    schedule = result["schedule"]
    assert (schedule["ownerId"], schedule["hasWorkingHours"], schedule["slotMinutes"]) == (dr, True, 15)
    assert schedule["weekly"][0] == {"weekday": "MONDAY", "start": "09:00:00", "end": "17:00:00"}
    assert schedule["weekly"][-1] == {"weekday": "SATURDAY", "start": "09:00:00", "end": "12:00:00"}
    read = (await clinic.vendor.gql(SCHEDULE, {"o": dr}))["schedule"]
    assert read == schedule
    [event] = await AuditEvent.filter(action="WORKING_HOURS_SET", target_id=dr)
    assert event.changes["slotMinutes"] == {"before": None, "after": 15}
    # Setting again replaces them.
    again = await set_hours(clinic.vendor, dr, NINE_TO_FIVE[:1], 30)
    assert again["schedule"]["weekly"] == [{"weekday": "MONDAY", "start": "09:00:00", "end": "17:00:00"}]
    assert again["schedule"]["slotMinutes"] == 30
    assert await WorkingHours.filter(owner_id=await key_of(dr)).count() == 1


async def test_an_owner_without_hours_reads_as_having_none(clinic):
    dr = await practitioner(clinic.organization.id)
    read = (await clinic.vendor.gql(SCHEDULE, {"o": dr}))["schedule"]
    assert read["hasWorkingHours"] is False and read["weekly"] == [] and read["slotMinutes"] is None


@pytest.mark.parametrize(
    ("weekly", "slot", "code"),
    [
        (
            [
                {"weekday": "MONDAY", "start": "09:00", "end": "12:00"},
                {"weekday": "MONDAY", "start": "11:00", "end": "13:00"},
            ],
            15,
            "OVERLAPPING_INTERVALS",
        ),
        ([{"weekday": "MONDAY", "start": "12:00", "end": "09:00"}], 15, "INVALID_INTERVAL"),
        ([{"weekday": "MONDAY", "start": "09:00", "end": "09:00"}], 15, "INVALID_INTERVAL"),
        ([{"weekday": "MONDAY", "start": "09:00:30", "end": "10:00"}], 15, "INVALID_INTERVAL"),
        (NINE_TO_FIVE, 7, "INVALID_SLOT_LENGTH"),
        (NINE_TO_FIVE, 0, "INVALID_SLOT_LENGTH"),
        (NINE_TO_FIVE, 480, "INVALID_SLOT_LENGTH"),
    ],
)
async def test_bad_hours_are_refused_with_a_typed_error_and_nothing_written(clinic, weekly, slot, code):
    dr = await practitioner(clinic.organization.id)
    result = await set_hours(clinic.vendor, dr, weekly, slot)
    assert result["schedule"] is None
    assert [e["code"] for e in result["errors"]] == [code], result["errors"]
    assert not await WorkingHours.filter(owner_id=await key_of(dr)).exists()


async def test_touching_intervals_and_other_weekdays_do_not_overlap(clinic):
    dr = await practitioner(clinic.organization.id)
    weekly = [
        {"weekday": "MONDAY", "start": "13:00", "end": "17:00"},
        {"weekday": "MONDAY", "start": "09:00", "end": "13:00"},
        {"weekday": "TUESDAY", "start": "10:00", "end": "14:00"},
    ]
    result = await set_hours(clinic.vendor, dr, weekly)
    assert result["errors"] == []
    assert [w["start"] for w in result["schedule"]["weekly"]] == ["09:00:00", "13:00:00", "10:00:00"]


async def test_only_practitioners_and_service_accounts_have_schedules(clinic):
    staff = await clinic.member(permissions_of=["Front desk"])
    result = await set_hours(clinic.vendor, staff.user_id)
    assert [e["code"] for e in result["errors"]] == ["NOT_A_SCHEDULE_OWNER"]
    assert (await clinic.vendor.gql(SCHEDULE, {"o": staff.user_id}))["schedule"] is None


async def test_a_practitioner_sets_and_reads_its_own_schedule_but_no_other(clinic):
    me = await clinic.member(
        type=UserType.PRACTITIONER, license=License.CHR_PLUS, classification=Classification.STANDARD, permissions_of=[]
    )
    other = await practitioner(clinic.organization.id)
    assert (await set_hours(me, me.user_id))["errors"] == []
    assert (await me.gql(SCHEDULE, {"o": me.user_id}))["schedule"]["hasWorkingHours"] is True
    refused = await me.post(SET_HOURS, {"i": {"ownerId": other, "weekly": NINE_TO_FIVE}})
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert not await WorkingHours.filter(owner_id=await key_of(other)).exists()
    read = await me.post(SCHEDULE, {"o": other})
    assert read.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_support_may_not_touch_schedules(clinic):
    dr = await practitioner(clinic.organization.id)
    refused = await clinic.support.post(SET_HOURS, {"i": {"ownerId": dr, "weekly": NINE_TO_FIVE}})
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    read = await clinic.support.post(SCHEDULE, {"o": dr})
    assert read.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_exceptions_close_a_date_or_change_its_hours_and_can_be_removed(clinic):
    dr = await practitioner(clinic.organization.id)
    early = await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY, "closed": True}})
    assert [e["code"] for e in early["addScheduleException"]["errors"]] == ["INVALID_STATE"]
    await set_hours(clinic.vendor, dr)
    closed = await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY, "closed": True}})
    assert closed["addScheduleException"]["schedule"]["exceptions"] == [
        {"date": MONDAY, "closed": True, "intervals": []}
    ]
    opened = {"ownerId": dr, "date": MONDAY, "intervals": [{"start": "13:00", "end": "15:00"}]}
    replaced = await clinic.vendor.gql(ADD_EXCEPTION, {"i": opened})
    assert replaced["addScheduleException"]["schedule"]["exceptions"] == [
        {"date": MONDAY, "closed": False, "intervals": [{"start": "13:00:00", "end": "15:00:00"}]}
    ]
    assert await ScheduleException.filter(owner_id=await key_of(dr)).count() == 1
    removed = await clinic.vendor.gql(REMOVE_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY}})
    assert removed["removeScheduleException"] == {"schedule": {"exceptions": []}, "errors": []}
    again = await clinic.vendor.gql(REMOVE_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY}})
    assert [e["code"] for e in again["removeScheduleException"]["errors"]] == ["NOT_FOUND"]
    actions = await AuditEvent.filter(target_id=dr).order_by("seq").values_list("action", flat=True)
    assert [a for a in actions if "SCHEDULE" in a or "HOURS" in a] == [
        "WORKING_HOURS_SET",
        "SCHEDULE_EXCEPTION_ADDED",
        "SCHEDULE_EXCEPTION_ADDED",
        "SCHEDULE_EXCEPTION_REMOVED",
    ]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"closed": True, "intervals": [{"start": "09:00", "end": "10:00"}]}, "INVALID_INTERVAL"),
        ({"closed": False}, "INVALID_INTERVAL"),
        (
            {"intervals": [{"start": "09:00", "end": "11:00"}, {"start": "10:00", "end": "12:00"}]},
            "OVERLAPPING_INTERVALS",
        ),
        ({"date": "2020-01-06", "closed": True}, "INVALID_INPUT"),
    ],
)
async def test_bad_exceptions_are_refused(clinic, values, code):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr)
    result = await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY, **values}})
    assert [e["code"] for e in result["addScheduleException"]["errors"]] == [code]
    assert not await ScheduleException.filter(owner_id=await key_of(dr)).exists()


async def test_an_owner_without_hours_is_bookable_at_any_time(clinic):
    dr = await practitioner(clinic.organization.id)
    booked = await book(clinic.vendor, dr, f"{MONDAY}T03:00:00Z", org=clinic.organization.id)
    assert booked["errors"] == []


async def test_bookings_outside_working_hours_are_refused(clinic):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr)
    org = clinic.organization.id
    inside = await book(clinic.vendor, dr, f"{MONDAY}T14:00:00Z", org=org)  # 09:00 local
    assert inside["errors"] == []
    last = await book(clinic.vendor, dr, f"{MONDAY}T21:30:00Z", org=org)  # 16:30-17:00 local
    assert last["errors"] == []
    for start, minutes in [
        (f"{MONDAY}T13:45:00Z", 30),  # starts 08:45
        (f"{MONDAY}T21:45:00Z", 30),  # ends 17:15
        ("2027-01-16T15:00:00Z", 30),  # a Saturday
    ]:
        refused = await book(clinic.vendor, dr, start, minutes, org=org)
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("OUTSIDE_WORKING_HOURS", ["start"])], start


async def test_a_closed_date_refuses_bookings_and_an_opened_one_takes_them(clinic):
    dr = await practitioner(clinic.organization.id)
    org = clinic.organization.id
    await set_hours(clinic.vendor, dr)
    await clinic.vendor.gql(ADD_EXCEPTION, {"i": {"ownerId": dr, "date": MONDAY, "closed": True}})
    refused = await book(clinic.vendor, dr, f"{MONDAY}T15:00:00Z", org=org)
    assert [e["code"] for e in refused["errors"]] == ["OUTSIDE_WORKING_HOURS"]
    saturday = {"ownerId": dr, "date": "2027-01-16", "intervals": [{"start": "10:00", "end": "12:00"}]}
    await clinic.vendor.gql(ADD_EXCEPTION, {"i": saturday})
    assert (await book(clinic.vendor, dr, "2027-01-16T15:00:00Z", org=org))["errors"] == []


async def test_a_session_with_manage_schedule_may_override_and_the_event_says_so(clinic):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr)
    desk = await clinic.member(permissions_of=["Front desk"])
    booked = await book(desk, dr, f"{MONDAY}T12:00:00Z", org=clinic.organization.id, allowOutsideWorkingHours=True)
    assert booked["errors"] == []
    [event] = await AuditEvent.filter(action="APPOINTMENT_BOOKED", target_id=booked["appointment"]["id"])
    assert event.changes["allowOutsideWorkingHours"] is True
    moved = await desk.gql(
        RESCHEDULE,
        {
            "i": {
                "appointmentId": booked["appointment"]["id"],
                "start": f"{MONDAY}T12:30:00Z",
                "allowOutsideWorkingHours": True,
            }
        },
    )
    assert moved["rescheduleAppointment"]["errors"] == []
    [event] = await AuditEvent.filter(action="APPOINTMENT_RESCHEDULED", target_id=booked["appointment"]["id"])
    assert event.changes["allowOutsideWorkingHours"] is True


async def test_a_consumer_may_not_override_working_hours(clinic):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr)
    refused = await book(
        clinic.vendor, dr, f"{MONDAY}T12:00:00Z", org=clinic.organization.id, allowOutsideWorkingHours=True
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("OVERRIDE_NOT_ALLOWED", ["allowOutsideWorkingHours"])
    ]


async def test_rescheduling_follows_the_working_hours(clinic):
    dr = await practitioner(clinic.organization.id)
    await set_hours(clinic.vendor, dr)
    booked = await book(clinic.vendor, dr, f"{MONDAY}T15:00:00Z", org=clinic.organization.id)
    move = {"appointmentId": booked["appointment"]["id"], "start": f"{MONDAY}T23:00:00Z"}
    refused = (await clinic.vendor.gql(RESCHEDULE, {"i": move}))["rescheduleAppointment"]
    assert [e["code"] for e in refused["errors"]] == ["OUTSIDE_WORKING_HOURS"]
    move["start"] = f"{MONDAY}T16:00:00Z"
    assert (await clinic.vendor.gql(RESCHEDULE, {"i": move}))["rescheduleAppointment"]["errors"] == []


async def test_rescheduling_checks_the_practitioner_is_still_bookable(clinic):
    # A locum whose period ends on the Monday: the appointment cannot move to the Tuesday.
    period = Locum(None, date(2027, 1, 4), date(2027, 1, 11))
    dr = await practitioner(
        clinic.organization.id, classification=Classification.LOCUM, license=License.LOCUM, locum=period
    )
    booked = await book(clinic.vendor, dr, f"{MONDAY}T15:00:00Z", org=clinic.organization.id)
    assert booked["errors"] == []
    move = {"appointmentId": booked["appointment"]["id"], "start": "2027-01-12T15:00:00Z"}
    refused = (await clinic.vendor.gql(RESCHEDULE, {"i": move}))["rescheduleAppointment"]
    assert [e["code"] for e in refused["errors"]] == ["PRACTITIONER_NOT_BOOKABLE"]


async def test_a_service_account_with_working_hours_is_a_shared_schedule(clinic):
    org = clinic.organization.id
    account = await create_service_account(
        support_cli_actor(org),
        email=f"{unique('room')}@x.test",
        first_name="Room",
        last_name="One",
        display_name="Procedure room",
    )
    room = gid(account)
    before = await book(clinic.vendor, room, f"{MONDAY}T15:00:00Z", org=org)
    assert [e["code"] for e in before["errors"]] == ["PRACTITIONER_NOT_BOOKABLE"]
    assert (await set_hours(clinic.vendor, room))["errors"] == []
    assert (await book(clinic.vendor, room, f"{MONDAY}T15:00:00Z", org=org))["errors"] == []
    virtual = await book(clinic.vendor, room, f"{MONDAY}T16:00:00Z", org=org, kind="VIRTUAL")
    assert virtual["errors"] == []  # no license check for a shared schedule
    outside = await book(clinic.vendor, room, f"{MONDAY}T23:00:00Z", org=org)
    assert [e["code"] for e in outside["errors"]] == ["OUTSIDE_WORKING_HOURS"]


async def test_the_demo_organization_has_working_hours_and_a_shared_schedule(client):
    await load_demo()  # idempotent: loads it once, whichever test asks first
    demo = await Organization.get(domain="demo")
    hours = await WorkingHours.filter(organization_id=demo.id).prefetch_related("owner")
    kinds = sorted(h.owner.type.value for h in hours)
    practitioners = await User.filter(organization_id=demo.id, type=UserType.PRACTITIONER, status="ACTIVE").count()
    assert kinds.count("PRACTITIONER") == practitioners > 0
    assert kinds.count("SERVICE_ACCOUNT") == 1
    assert await ScheduleException.filter(organization_id=demo.id, closed=True).count() == practitioners
