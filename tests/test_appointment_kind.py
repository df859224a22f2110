"""An appointment's kind: IN_PERSON (the default) or VIRTUAL. Under license management a
VIRTUAL appointment needs a practitioner whose license includes virtual care, when it is
booked and when a deactivation moves it to another practitioner; a CUSTOM-contract
organization is not under license management. Existing appointments migrate as
IN_PERSON."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

from chrgraph.auth.access import local_today
from chrgraph.db.models import Appointment, AppointmentKind, AuditEvent, Contract, License, User, UserStatus
from tests.accounts import make_clinic
from tests.helpers import key_of
from tests.scheduling_helpers import at, patient, practitioner

BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id kind practitioner { id } } errors { code field message relatedId } } }"""
APPOINTMENT = """query($id: ID!) { appointment(id: $id) { kind } }"""
DEACTIVATE = """mutation($i: DeactivateUserInput!) { deactivateUser(input: $i) {
  user { status } report { movedAppointmentIds } errors { code field relatedId message } } }"""


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


async def book(clinic, dr: str, start: str, kind: str | None = None) -> dict:
    values = {"practitionerId": dr, "patientId": await patient(clinic.organization.id), "start": start}
    values["durationMinutes"] = 30
    if kind is not None:
        values["kind"] = kind
    return (await clinic.vendor.gql(BOOK, {"i": values}))["bookAppointment"]


async def test_an_appointment_is_in_person_unless_asked_otherwise(clinic):
    dr = await practitioner(clinic.organization.id, license=License.CHR_LITE)
    booked = await book(clinic, dr, at(2, 9))
    assert booked["errors"] == [] and booked["appointment"]["kind"] == "IN_PERSON"
    read = await clinic.vendor.gql(APPOINTMENT, {"id": booked["appointment"]["id"]})
    assert read["appointment"] == {"kind": "IN_PERSON"}
    row = await Appointment.get(id=await key_of(booked["appointment"]["id"]))
    assert row.kind is AppointmentKind.IN_PERSON
    explicit = await book(clinic, dr, at(2, 10), "IN_PERSON")
    assert explicit["errors"] == [] and explicit["appointment"]["kind"] == "IN_PERSON"


async def test_a_virtual_booking_needs_virtual_care_in_the_license(clinic):
    org = clinic.organization.id
    lite = await practitioner(org, license=License.CHR_LITE)
    refused = await book(clinic, lite, at(3, 9), "VIRTUAL")
    assert refused["appointment"] is None
    [error] = refused["errors"]
    assert (error["code"], error["field"]) == ("PRACTITIONER_NOT_BOOKABLE", ["practitionerId"])
    assert "virtual care" in error["message"]
    assert await Appointment.filter(practitioner_id=await key_of(lite)).count() == 0
    for license in (License.CHR_LITE_VV, License.CHR_PLUS):
        dr = await practitioner(org, license=license)
        booked = await book(clinic, dr, at(3, 9), "VIRTUAL")
        assert booked["errors"] == [] and booked["appointment"]["kind"] == "VIRTUAL", license
        row = await Appointment.get(id=await key_of(booked["appointment"]["id"]))
        assert row.kind is AppointmentKind.VIRTUAL
        [event] = await AuditEvent.filter(target_type="Appointment", target_id=booked["appointment"]["id"])
        assert event.changes["kind"] == "VIRTUAL"


async def test_a_downgrade_counts_from_its_date_before_the_job_settles_it(clinic):
    # A downgrade from CHR+ to CHR Lite is pending; its effective date (the clinic's) is
    # tomorrow, then today. From today it counts for bookings, although the hourly job
    # that writes it into the license has not run yet.
    org = clinic.organization
    dr = await practitioner(org.id, license=License.CHR_PLUS)
    today = local_today(org)
    await User.filter(id=await key_of(dr)).update(
        pending_license=License.CHR_LITE, pending_license_effective_on=today + timedelta(days=1)
    )
    assert (await book(clinic, dr, at(3, 11), "VIRTUAL"))["errors"] == []
    await User.filter(id=await key_of(dr)).update(pending_license_effective_on=today)
    refused = await book(clinic, dr, at(3, 13), "VIRTUAL")
    assert [e["code"] for e in refused["errors"]] == ["PRACTITIONER_NOT_BOOKABLE"]
    assert "virtual care" in refused["errors"][0]["message"]
    assert (await User.get(id=await key_of(dr))).license is License.CHR_PLUS  # not settled yet
    assert (await book(clinic, dr, at(3, 15), "IN_PERSON"))["errors"] == []  # Lite still schedules


async def test_outside_license_management_anyone_bookable_takes_a_virtual_appointment(client):
    custom = await make_clinic(client, contract=Contract.CUSTOM)
    dr = await practitioner(custom.organization.id, license=None)
    booked = await book(custom, dr, at(4, 9), "VIRTUAL")
    assert booked["errors"] == [] and booked["appointment"]["kind"] == "VIRTUAL"


async def _deactivate_moving(clinic, dr: str, receiver: str) -> dict:
    return (
        await clinic.vendor.gql(
            DEACTIVATE, {"i": {"userId": dr, "appointments": {"action": "MOVE", "toPractitionerId": receiver}}}
        )
    )["deactivateUser"]


async def test_a_move_of_a_virtual_appointment_to_a_receiver_without_virtual_care_is_refused(clinic):
    org = clinic.organization.id
    dr = await practitioner(org, license=License.CHR_PLUS)
    in_person = (await book(clinic, dr, at(5, 9)))["appointment"]["id"]
    virtual = (await book(clinic, dr, at(5, 10), "VIRTUAL"))["appointment"]["id"]
    lite = await practitioner(org, license=License.CHR_LITE)
    result = await _deactivate_moving(clinic, dr, lite)
    assert result["user"] is None
    [error] = result["errors"]
    assert (error["code"], error["field"], error["relatedId"]) == (
        "PRACTITIONER_NOT_BOOKABLE",
        ["appointments"],
        virtual,
    )
    assert "virtual care" in error["message"]
    assert (await User.get(id=await key_of(dr))).status is UserStatus.ACTIVE
    for appointment in (in_person, virtual):  # nothing was written
        assert (await Appointment.get(id=await key_of(appointment))).practitioner_id == await key_of(dr)

    with_vv = await practitioner(org, license=License.CHR_LITE_VV)
    moved = await _deactivate_moving(clinic, dr, with_vv)
    assert moved["errors"] == [] and sorted(moved["report"]["movedAppointmentIds"]) == sorted([in_person, virtual])
    row = await Appointment.get(id=await key_of(virtual))
    assert (row.practitioner_id, row.kind) == (await key_of(with_vv), AppointmentKind.VIRTUAL)


async def test_in_person_appointments_move_to_a_receiver_without_virtual_care(clinic):
    org = clinic.organization.id
    dr = await practitioner(org, license=License.CHR_LITE_VV)
    appointment = (await book(clinic, dr, at(6, 9)))["appointment"]["id"]
    lite = await practitioner(org, license=License.CHR_LITE)
    moved = await _deactivate_moving(clinic, dr, lite)
    assert moved["errors"] == [] and moved["report"]["movedAppointmentIds"] == [appointment]


MIGRATE_A_LEGACY_ROW = textwrap.dedent(
    """
    import asyncio
    from tortoise import Tortoise, connections
    from tortoise.migrations.api.migrate import migrate
    from chrgraph.db.config import tortoise_config
    from tests.databases import create_database

    LEGACY = '''INSERT INTO appointment (organization_id, practitioner_id, patient_id, start, "end",
        duration_minutes, status, created_at, public_id) VALUES (1, 1, 1, '2030-01-01T10:00:00+00:00',
        '2030-01-01T10:30:00+00:00', 30, 'BOOKED', '2030-01-01T09:00:00+00:00', 'legacy')'''

    async def main(url):
        config = tortoise_config(url)
        await migrate(config=config, target="chrgraph.0018_login_attempts")
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        conn = connections.get("default")
        sqlite = conn.capabilities.dialect == "sqlite"
        no_keys = "PRAGMA foreign_keys = OFF" if sqlite else "SET session_replication_role = replica"
        await conn.execute_script(no_keys + "; " + LEGACY)
        await Tortoise.close_connections()
        await migrate(config=config)
        await Tortoise.init(config=config)
        rows = await connections.get("default").execute_query_dict("SELECT public_id, kind FROM appointment")
        await Tortoise.close_connections()
        print(rows)

    url, drop = create_database()
    try:
        asyncio.run(main(url))
    finally:
        drop()
    """
)


def test_existing_appointments_migrate_as_in_person():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE_A_LEGACY_ROW], capture_output=True, text=True, cwd=root, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[{'public_id': 'legacy', 'kind': 'IN_PERSON'}]"
