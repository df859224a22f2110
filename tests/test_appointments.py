"""Appointments: half-open slots, transitions, who can be booked."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from chrgraph.db import hooks
from chrgraph.db.models import Classification, License, Questionnaire, User
from tests.accounts import make_clinic
from tests.databases import backend
from tests.helpers import key_of
from tests.scheduling_helpers import at, patient, practitioner

BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id start end durationMinutes status practitioner { id } patient { id } }
  errors { code field relatedId } } }"""
STATUS = """mutation($i: SetAppointmentStatusInput!) { setAppointmentStatus(input: $i) {
  appointment { status } errors { code field } } }"""
CANCEL = """mutation($i: CancelAppointmentInput!) { cancelAppointment(input: $i) {
  appointment { status cancelReason questionnaires { status } } errors { code field } } }"""
RESCHEDULE = """mutation($i: RescheduleAppointmentInput!) { rescheduleAppointment(input: $i) {
  appointment { start durationMinutes } errors { code field } } }"""
QUESTIONNAIRE = """mutation($i: CreateQuestionnaireInput!) { createQuestionnaire(input: $i) {
  questionnaire { id status kind } errors { code field } } }"""
APPOINTMENTS = """query($f: AppointmentFilter, $n: Int) { appointments(filter: $f, first: $n) {
  totalCount edges { node { id start status patient { id lastName } practitioner { id lastName } } } } }"""


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


async def book(vendor, practitioner_id, patient_id, start, minutes=30) -> dict:
    return (
        await vendor.gql(
            BOOK,
            {
                "i": {
                    "practitionerId": practitioner_id,
                    "patientId": patient_id,
                    "start": start,
                    "durationMinutes": minutes,
                }
            },
        )
    )["bookAppointment"]


async def test_booking_holds_the_half_open_slot(clinic):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    first = await book(clinic.vendor, dr, pat, at(2, 14, 0), 30)
    assert first["errors"] == [] and first["appointment"]["status"] == "BOOKED"
    overlap = await book(clinic.vendor, dr, await patient(org), at(2, 14, 15), 30)
    assert overlap["errors"] == [{"code": "SLOT_TAKEN", "field": ["start"], "relatedId": first["appointment"]["id"]}]
    adjacent = await book(clinic.vendor, dr, await patient(org), at(2, 14, 30), 30)
    assert adjacent["errors"] == []
    before = await book(clinic.vendor, dr, await patient(org), at(2, 13, 30), 30)
    assert before["errors"] == []


async def test_cancelled_and_no_show_appointments_free_their_slot(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    first = (await book(clinic.vendor, dr, await patient(org), at(3, 9, 0)))["appointment"]
    cancelled = await clinic.vendor.gql(CANCEL, {"i": {"appointmentId": first["id"], "reason": "Patient ill"}})
    assert cancelled["cancelAppointment"]["appointment"]["status"] == "CANCELLED"
    assert (await book(clinic.vendor, dr, await patient(org), at(3, 9, 0)))["errors"] == []


async def test_only_the_allowed_status_transitions_happen(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    appointment = (await book(clinic.vendor, dr, await patient(org), at(4, 10, 0)))["appointment"]["id"]

    async def move(status: str, reason: str | None = None) -> dict:
        return (
            await clinic.vendor.gql(STATUS, {"i": {"appointmentId": appointment, "status": status, "reason": reason}})
        )["setAppointmentStatus"]

    assert (await move("ARRIVED"))["errors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    assert (await move("COMPLETED"))["errors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    for status in ("CONFIRMED", "ARRIVED", "COMPLETED"):
        assert (await move(status))["appointment"]["status"] == status
    for status in ("CANCELLED", "NO_SHOW", "BOOKED", "ARRIVED"):
        assert (await move(status, "late"))["errors"][0]["code"] == "INVALID_STATUS_TRANSITION"
    other = (await book(clinic.vendor, dr, await patient(org), at(4, 11, 0)))["appointment"]["id"]
    no_show = await clinic.vendor.gql(STATUS, {"i": {"appointmentId": other, "status": "NO_SHOW"}})
    assert no_show["setAppointmentStatus"]["appointment"]["status"] == "NO_SHOW"
    again = await clinic.vendor.gql(STATUS, {"i": {"appointmentId": other, "status": "CONFIRMED"}})
    assert again["setAppointmentStatus"]["errors"][0]["code"] == "INVALID_STATUS_TRANSITION"


async def test_cancelling_removes_the_appointments_questionnaires_but_keeps_them(clinic):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    appointment = (await book(clinic.vendor, dr, pat, at(5, 10, 0)))["appointment"]["id"]
    made = await clinic.vendor.gql(
        QUESTIONNAIRE,
        {
            "i": {
                "kind": "SENT",
                "title": "Intake",
                "practitionerId": dr,
                "patientId": pat,
                "appointmentId": appointment,
            }
        },
    )
    assert made["createQuestionnaire"]["questionnaire"]["status"] == "ACTIVE"
    missing_reason = await clinic.vendor.post(CANCEL, {"i": {"appointmentId": appointment, "reason": " "}})
    assert missing_reason.json()["data"]["cancelAppointment"]["errors"][0]["field"] == ["reason"]
    cancelled = await clinic.vendor.gql(CANCEL, {"i": {"appointmentId": appointment, "reason": "Moved away"}})
    appt = cancelled["cancelAppointment"]["appointment"]
    assert appt["cancelReason"] == "Moved away" and appt["questionnaires"] == [{"status": "REMOVED"}]
    assert await Questionnaire.filter(appointment_id=await key_of(appointment)).count() == 1


async def test_reschedule_moves_within_free_time_only(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    a = (await book(clinic.vendor, dr, await patient(org), at(6, 9, 0)))["appointment"]["id"]
    await book(clinic.vendor, dr, await patient(org), at(6, 10, 0), 60)
    clash = await clinic.vendor.gql(RESCHEDULE, {"i": {"appointmentId": a, "start": at(6, 10, 30)}})
    assert clash["rescheduleAppointment"]["errors"][0]["code"] == "SLOT_TAKEN"
    moved = await clinic.vendor.gql(
        RESCHEDULE, {"i": {"appointmentId": a, "start": at(6, 11, 0), "durationMinutes": 45}}
    )
    assert moved["rescheduleAppointment"]["appointment"]["durationMinutes"] == 45
    past = await clinic.vendor.gql(RESCHEDULE, {"i": {"appointmentId": a, "start": at(-1, 11, 0)}})
    assert past["rescheduleAppointment"]["errors"][0]["field"] == ["start"]


async def test_only_active_practitioners_with_access_and_scheduling_can_be_booked(clinic):
    org = clinic.organization.id
    pat = await patient(org)
    invited = await practitioner(org, accept=False)
    trainee = await practitioner(
        org,
        classification=Classification.CLINICAL_TRAINEE,
        license=License.CLINICAL_TRAINEE,
        expected_end_of_training=date.today() + timedelta(days=60),
    )
    unlicensed = await practitioner(org)
    owner_staff = clinic.owner.user_id
    await User.filter(id=await key_of(trainee)).update(expected_end_of_training=date.today() - timedelta(days=20))
    await User.filter(id=await key_of(unlicensed)).update(license=None)
    for who in (invited, trainee, unlicensed, owner_staff):
        result = await book(clinic.vendor, who, pat, at(7, 9, 0))
        assert result["errors"][0]["code"] == "PRACTITIONER_NOT_BOOKABLE", who


async def test_appointments_list_by_practitioner_and_range_in_start_order(clinic):
    org = clinic.organization.id
    dr = await practitioner(org)
    for hour in (15, 9, 12):
        await book(clinic.vendor, dr, await patient(org), at(8, hour, 0))
    listed = (await clinic.vendor.gql(APPOINTMENTS, {"f": {"practitionerId": dr}}))["appointments"]
    starts = [e["node"]["start"] for e in listed["edges"]]
    assert listed["totalCount"] == 3 and starts == sorted(starts)
    ranged = (
        await clinic.vendor.gql(
            APPOINTMENTS,
            {"f": {"practitionerId": dr, "startFrom": at(8, 10, 0), "startBefore": at(8, 13, 0)}},
        )
    )["appointments"]
    assert ranged["totalCount"] == 1


async def _count(vendor, dr: str, n: int) -> int:
    counter = hooks.count_statements()
    try:
        data = await vendor.gql(APPOINTMENTS, {"f": {"practitionerId": dr}, "n": n})
    finally:
        hooks.stop_counting(counter)
    assert len(data["appointments"]["edges"]) == n
    return len([s for s in counter.statements if "auth_epoch" not in s])


async def test_a_week_of_appointments_costs_the_same_sql_for_10_and_100(client):
    clinic = await make_clinic(client)
    org = clinic.organization.id
    dr = await practitioner(org)
    for i in range(100):
        day, slot = divmod(i, 20)
        await book(clinic.vendor, dr, await patient(org), at(1 + day, 8 + slot // 4, (slot % 4) * 15), 15)
    await _count(clinic.vendor, dr, 1)
    assert await _count(clinic.vendor, dr, 10) == await _count(clinic.vendor, dr, 100)


@pytest.mark.skipif(backend() != "postgres", reason="a real race needs concurrent connections (PostgreSQL run)")
async def test_ten_concurrent_bookings_of_one_slot_yield_exactly_one(client):
    clinic = await make_clinic(client)
    org = clinic.organization.id
    dr = await practitioner(org)
    patients = [await patient(org) for _ in range(10)]
    results = await asyncio.gather(*(book(clinic.vendor, dr, p, at(9, 9, 0)) for p in patients))
    assert sum(r["appointment"] is not None for r in results) == 1
    assert sorted(e["code"] for r in results for e in r["errors"]) == ["SLOT_TAKEN"] * 9
