"""What booking and registration vendors record: a patient's sex, postal address, health
card issuer and version; an appointment's reason; when each was created and last changed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from chrgraph.db.models import Appointment, AuditEvent, Patient
from tests.accounts import make_clinic
from tests.helpers import key_of, unique
from tests.scheduling_helpers import at, patient, practitioner

FIELDS = """id sex address { lines city province postalCode } healthCardNumber healthCardProvince
            healthCardVersion createdAt updatedAt"""
REGISTER = f"""mutation($i: RegisterPatientInput!) {{ registerPatient(input: $i) {{
  patient {{ {FIELDS} }} errors {{ code field message }} }} }}"""
UPDATE = f"""mutation($i: UpdatePatientInput!) {{ updatePatient(input: $i) {{
  patient {{ {FIELDS} }} errors {{ code field message }} }} }}"""
PATIENTS = """query($f: PatientFilter) { patients(filter: $f) { edges { node { id } } } }"""
BOOK = """mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
  appointment { id reason createdAt updatedAt } errors { code field } } }"""
STATUS = """mutation($i: SetAppointmentStatusInput!) { setAppointmentStatus(input: $i) {
  appointment { status reason createdAt updatedAt } errors { code field } } }"""
TORONTO = {
    "lines": ["100 Queen Street West", " Suite 2 ", ""],
    "city": "Toronto",
    "province": "on",
    "postalCode": "m5h2n2",
}


@pytest.fixture(scope="module")
async def clinic(client):
    return await make_clinic(client)


def person(**extra) -> dict:
    return {"firstName": "Zoë", "lastName": unique("Roy"), "dateOfBirth": "1979-02-03", **extra}


async def register(vendor, **fields) -> dict:
    return (await vendor.gql(REGISTER, {"i": fields}))["registerPatient"]


async def test_a_vendor_registers_sex_address_and_health_card_issuer_normalised(clinic):
    card = unique("hc").replace("-", "")[:12].upper()
    result = await register(
        clinic.vendor,
        **person(
            sex="FEMALE",
            address=TORONTO,
            healthCardNumber=card,
            healthCardProvince="on",
            healthCardVersion="ab",
        ),
    )
    assert result["errors"] == []
    made = result["patient"]
    assert made["sex"] == "FEMALE"
    assert made["address"] == {
        "lines": ["100 Queen Street West", "Suite 2"],
        "city": "Toronto",
        "province": "ON",
        "postalCode": "M5H 2N2",
    }
    assert (made["healthCardProvince"], made["healthCardVersion"]) == ("ON", "AB")
    assert made["createdAt"] <= made["updatedAt"]
    [event] = await AuditEvent.filter(action="PATIENT_REGISTERED", target_id=made["id"])
    assert event.changes["address"]["postalCode"] == "M5H 2N2" and event.changes["sex"] == "FEMALE"
    # updatedAt is the time of the event of the latest change.
    assert datetime.fromisoformat(made["updatedAt"]) == event.occurred_at


async def test_a_patient_registered_without_them_has_unknown_sex_and_no_address(clinic):
    made = (await register(clinic.vendor, **person()))["patient"]
    assert (made["sex"], made["address"], made["healthCardProvince"], made["healthCardVersion"]) == (
        "UNKNOWN",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"address": {**TORONTO, "province": "ZZ"}}, ["address", "province"], "AB, BC"),
        ({"address": {**TORONTO, "province": "Ontario"}}, ["address", "province"], "province or territory"),
        ({"address": {**TORONTO, "postalCode": "90210"}}, ["address", "postalCode"], "K1A 0B1"),
        ({"address": {**TORONTO, "postalCode": "D5H 2N2"}}, ["address", "postalCode"], "postal code"),
        ({"address": {**TORONTO, "province": "QC"}}, ["address", "postalCode"], "Quebec"),
        ({"address": {**TORONTO, "lines": []}}, ["address", "lines"], "1 to 3 lines"),
        ({"address": {**TORONTO, "lines": ["a", "b", "c", "d"]}}, ["address", "lines"], "1 to 3 lines"),
        ({"address": {**TORONTO, "lines": ["a\nb"]}}, ["address", "lines"], "line break"),
        ({"address": {**TORONTO, "lines": ["x" * 101]}}, ["address", "lines", "0"], ""),
        ({"address": {**TORONTO, "city": " "}}, ["address", "city"], "required"),
        ({"healthCardProvince": "XX"}, ["healthCardProvince"], "province or territory"),
        ({"healthCardVersion": "A1"}, ["healthCardVersion"], "one or two letters"),
        ({"healthCardVersion": "ABC"}, ["healthCardVersion"], "one or two letters"),
    ],
)
async def test_bad_booking_data_is_refused_with_a_clear_error_and_nothing_is_written(clinic, fields, field, says):
    before = await Patient.filter(organization_id=clinic.organization.id).count()
    result = await register(clinic.vendor, **person(**fields))
    assert result["patient"] is None
    [error] = result["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert says in error["message"]
    assert await Patient.filter(organization_id=clinic.organization.id).count() == before


async def test_an_address_is_replaced_whole_and_cleared_with_null(clinic):
    made = (await register(clinic.vendor, **person(address=TORONTO, sex="MALE")))["patient"]
    moved = {"lines": ["1 Rue Sainte-Catherine"], "city": "Montréal", "province": "QC", "postalCode": "H2X 1K4"}
    updated = (await clinic.vendor.gql(UPDATE, {"i": {"patientId": made["id"], "address": moved}}))["updatePatient"]
    assert updated["errors"] == [] and updated["patient"]["address"]["city"] == "Montréal"
    assert updated["patient"]["sex"] == "MALE"  # omitted: kept
    assert updated["patient"]["updatedAt"] > made["updatedAt"]
    [event] = await AuditEvent.filter(action="PATIENT_UPDATED", target_id=made["id"])
    assert event.changes["address"]["before"]["city"] == "Toronto"
    assert event.changes["address"]["after"]["province"] == "QC"
    cleared = (await clinic.vendor.gql(UPDATE, {"i": {"patientId": made["id"], "address": None, "sex": None}}))[
        "updatePatient"
    ]["patient"]
    assert (cleared["address"], cleared["sex"]) == (None, "UNKNOWN")


async def test_an_update_that_changes_nothing_leaves_updated_at_and_the_feed_position_alone(clinic):
    made = (await register(clinic.vendor, **person(sex="OTHER")))["patient"]
    row = await Patient.get(id=await key_of(made["id"]))
    same = (await clinic.vendor.gql(UPDATE, {"i": {"patientId": made["id"], "sex": "OTHER"}}))["updatePatient"]
    assert same["errors"] == [] and same["patient"]["updatedAt"] == made["updatedAt"]
    assert (await Patient.get(id=row.id)).change_seq == row.change_seq


async def test_patients_are_found_by_postal_code(clinic):
    made = (await register(clinic.vendor, **person(address={**TORONTO, "postalCode": "M4C 1B5"})))["patient"]
    found = (await clinic.vendor.gql(PATIENTS, {"f": {"postalCode": "m4c1b5"}}))["patients"]["edges"]
    assert [e["node"]["id"] for e in found] == [made["id"]]


async def test_an_appointment_keeps_its_reason_and_when_it_changed(clinic):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    booked = (
        await clinic.vendor.gql(
            BOOK,
            {
                "i": {
                    "practitionerId": dr,
                    "patientId": pat,
                    "start": at(4, 9),
                    "durationMinutes": 20,
                    "reason": " Knee ",
                }
            },
        )
    )["bookAppointment"]
    assert booked["errors"] == []
    made = booked["appointment"]
    assert made["reason"] == "Knee" and made["createdAt"] <= made["updatedAt"]
    confirmed = (await clinic.vendor.gql(STATUS, {"i": {"appointmentId": made["id"], "status": "CONFIRMED"}}))[
        "setAppointmentStatus"
    ]["appointment"]
    assert confirmed["createdAt"] == made["createdAt"] and confirmed["updatedAt"] > made["updatedAt"]
    [event] = await AuditEvent.filter(action="APPOINTMENT_BOOKED", target_id=made["id"])
    assert event.changes["reason"] == "Knee"


@pytest.mark.parametrize("reason", ["x" * 501, "bad\x00"])
async def test_a_bad_reason_is_refused_and_nothing_is_booked(clinic, reason):
    org = clinic.organization.id
    dr, pat = await practitioner(org), await patient(org)
    before = await Appointment.filter(organization_id=org).count()
    result = (
        await clinic.vendor.gql(
            BOOK,
            {"i": {"practitionerId": dr, "patientId": pat, "start": at(5, 9), "durationMinutes": 20, "reason": reason}},
        )
    )["bookAppointment"]
    assert result["appointment"] is None and result["errors"] == [{"code": "INVALID_INPUT", "field": ["reason"]}]
    assert await Appointment.filter(organization_id=org).count() == before


def test_the_migration_fills_existing_patients_sensibly(tmp_path):
    """A patient written before migration 0029: sex UNKNOWN, no address or card province,
    feed position 0, `updated_at` its `created_at`; the feed indexes exist."""
    url = f"sqlite://{tmp_path}/old.db"
    done = subprocess.run(
        [sys.executable, "-m", "tests.migration_0029_probe", url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    [row] = report["patients"]
    assert (row["sex"], row["address_lines"], row["health_card_province"], row["change_seq"]) == (
        "UNKNOWN",
        None,
        None,
        0,
    )
    assert row["updated_at"] == row["created_at"]
    assert {"chx_patient_organization_id_change_seq", "chx_appointment_organization_id_change_seq"} <= set(
        report["indexes"]
    )
